"""The reverse proxy in front of the scaled Rasa services (deploy/nginx.conf, docker-compose.yml).

Read with tests/nginx_conf.py: every WebSocket path upgrades, every request says who sent it,
bodies are limited like Rasa limits them, the access log keeps no addresses; rasa and actions
can be scaled behind it. When an nginx binary is installed (Debian: nginx-light), `nginx -t`
validates the file and a real nginx running it carries a WebSocket, the forwarded headers and
the body limit to stand-in upstreams.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from aiohttp import web

from assistant.console.app import MAX_REQUEST_BYTES as CONSOLE_MAX_REQUEST_BYTES
from assistant.settings import load_settings
from assistant.stack import free_ports
from tests.compose_files import (
    REPO_ROOT,
    command_of,
    environment_of,
)
from tests.nginx_conf import Directive, effective, parse, seconds, size_in_bytes

NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
PRODUCTION_ENDPOINTS = REPO_ROOT / "deploy" / "endpoints.production.yml"
# `docker compose up --scale rasa=N --scale actions=M`: no fixed name, no host port.
SCALED_SERVICES = {"rasa", "actions"}
# What the proxy publishes (container ports) and the Rasa port behind each.
PROXY_PORTS = {5005: "rasa:5005", 8070: "rasa:8070"}  # residents; the KCC console
# The paths a browser opens a WebSocket on, per proxy port: the web chat and the console's feed.
WEBSOCKET_PATHS = {5005: "/webhooks/webchat/ws", 8070: "/api/live"}

# --- the proxy in front of Rasa (deploy/nginx.conf) --------------------------------------------


@pytest.fixture(scope="module")
def nginx_http() -> Directive:
    main = parse(NGINX_CONF.read_text(encoding="utf-8"))
    return main.one("http")


def _server(http: Directive, port: int) -> Directive:
    servers = [
        s
        for s in http.all("server")
        if any(d.args[0].split(":")[-1] == str(port) for d in s.all("listen"))
    ]
    assert len(servers) == 1, f"nginx.conf: one server must listen on {port}"
    return servers[0]


def _location(server: Directive, path: str) -> Directive:
    """The location nginx picks for `path`: an exact match, else the longest prefix. Regular
    expression locations would change that order; the config has none (checked)."""
    locations = server.all("location")
    for location in locations:
        assert location.args[0] not in ("~", "~*"), "regex locations: extend this matcher"
        assert not location.all("location"), "nested locations: extend this matcher"
    exact = [loc for loc in locations if loc.args[0] == "=" and loc.args[1] == path]
    if exact:
        return exact[0]
    prefixes = [loc for loc in locations if loc.args[0] != "=" and path.startswith(loc.args[-1])]
    assert prefixes, f"no location serves {path}"
    return max(prefixes, key=lambda loc: len(loc.args[-1]))


def _upstream(server: Directive, location: Directive) -> str:
    """host:port the location proxies to, with `set $variable value;` filled in."""
    (proxy_pass,) = effective([server, location], "proxy_pass")
    target = proxy_pass.args[0]
    assert target.startswith("http://"), target
    address = target.removeprefix("http://")
    variables = {d.args[0]: d.args[1] for d in server.all("set") + location.all("set")}
    return variables.get(address, address)


def _headers(chain: list[Directive]) -> dict[str, str]:
    return {d.args[0].lower(): d.args[1] for d in effective(chain, "proxy_set_header")}


def test_the_proxy_publishes_the_public_ports_and_mounts_its_config(
    services: dict[str, dict[str, Any]], nginx_http: Directive
) -> None:
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:"), "the official nginx image"
    published = {int(str(p).rsplit(":", 1)[1].split("/")[0]) for p in proxy["ports"]}
    assert published == set(PROXY_PORTS)
    for port in PROXY_PORTS:
        _server(nginx_http, port)  # and nginx listens on each of them
    mounts = [str(m) for m in proxy.get("volumes", [])]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts, "the config, read-only"


def test_rasa_and_the_action_server_can_be_scaled(
    services: dict[str, dict[str, Any]], documented_variables: dict[str, str]
) -> None:
    for name in SCALED_SERVICES:
        service = services[name]
        assert "container_name" not in service, f"{name}: a fixed name stops --scale"
        assert not service.get("ports"), f"{name}: a host port can be bound by one replica only"
    rasa_env = environment_of(services["rasa"])
    assert rasa_env["SANIC_WORKERS"] == "${SANIC_WORKERS:-1}", "workers per container from .env"
    assert documented_variables["SANIC_WORKERS"] == "1"
    # Rasa reaches the action servers through the proxy, which resolves every replica per call.
    endpoints = yaml.safe_load(PRODUCTION_ENDPOINTS.read_text(encoding="utf-8"))
    assert urlsplit(endpoints["action_endpoint"]["url"]).netloc == "proxy:5055"


def test_the_action_calls_are_spread_over_every_action_server(nginx_http: Directive) -> None:
    server = _server(nginx_http, 5055)
    location = _location(server, "/webhook")
    assert _upstream(server, location) == "actions:5055"
    (size,) = effective([nginx_http, server], "client_max_body_size")
    assert size_in_bytes(size.args[0]) == load_settings({}).action_server_max_request_bytes


def test_postgres_allows_the_connections_the_scaled_services_need(
    services: dict[str, dict[str, Any]], documented_variables: dict[str, str]
) -> None:
    # Every Rasa worker and action server holds connections: the limit is a setting (README,
    # "Scaling out", gives the sum), with PostgreSQL's own default.
    command = command_of(services["postgres"])
    assert command[0] == "postgres"
    assert "max_connections=${POSTGRES_MAX_CONNECTIONS:-100}" in command
    assert documented_variables["POSTGRES_MAX_CONNECTIONS"] == "100"


def test_the_proxy_sends_every_request_to_the_rasa_service_resolved_at_run_time(
    services: dict[str, dict[str, Any]], nginx_http: Directive
) -> None:
    # Docker's DNS, asked again within seconds: replicas that come and go are followed.
    (resolver,) = nginx_http.all("resolver")
    assert resolver.args[0] == "127.0.0.11"
    valid = [a.split("=", 1)[1] for a in resolver.args if a.startswith("valid=")]
    assert valid and seconds(valid[0]) <= 30
    assert not nginx_http.all("upstream"), "a static upstream would be resolved once, at start"
    exposed = {str(p) for p in services["rasa"].get("expose", [])}
    for port, upstream in PROXY_PORTS.items():
        server = _server(nginx_http, port)
        for location in server.all("location"):
            (proxy_pass,) = effective([server, location], "proxy_pass")
            # A variable makes nginx resolve per request through `resolver`.
            assert "$" in proxy_pass.args[0], f"{location.args}: proxy_pass needs a variable"
            assert _upstream(server, location) == upstream, location.args
        host, rasa_port = upstream.split(":")
        assert host in services and rasa_port in exposed, f"{upstream} is not the rasa service"


def test_every_websocket_path_is_proxied_with_the_upgrade_headers(
    nginx_http: Directive,
) -> None:
    maps = {d.args[1]: d for d in nginx_http.all("map") if d.args[0] == "$http_upgrade"}
    for port, path in WEBSOCKET_PATHS.items():
        server = _server(nginx_http, port)
        location = _location(server, path)
        chain = [nginx_http, server, location]
        where = f"port {port}, {path}"
        assert _upstream(server, location) == PROXY_PORTS[port], where
        (version,) = effective(chain, "proxy_http_version")
        assert version.args == ["1.1"], f"{where}: WebSockets need HTTP/1.1 upstream"
        headers = _headers(chain)
        assert headers.get("upgrade") == "$http_upgrade", f"{where}: Upgrade is not passed on"
        connection = headers.get("connection", "")
        if connection in maps:  # the usual map: "upgrade" when the client asked for it
            values = {d.name: d.args[0] for d in maps[connection].block or []}
            assert values.get("default") == "upgrade", f"{where}: {connection} must be upgrade"
        else:
            assert connection.lower() == "upgrade", f"{where}: Connection is {connection!r}"
        # A chat stays open while the resident reads; nginx's default is 60 s.
        for timeout in ("proxy_read_timeout", "proxy_send_timeout"):
            (value,) = effective(chain, timeout) or [Directive(timeout, ["60s"])]
            assert seconds(value.args[0]) >= 600, f"{where}: {timeout} {value.args[0]}"


def test_every_request_tells_rasa_who_sent_it_and_to_which_address(
    services: dict[str, dict[str, Any]], nginx_http: Directive
) -> None:
    # Rasa trusts exactly one proxy: this one. It must overwrite X-Forwarded-For with the
    # connection's address ($proxy_add_x_forwarded_for would pass a forged list on; Sanic then
    # still takes the last entry, but nothing needs the rest).
    assert environment_of(services["rasa"])["SANIC_PROXIES_COUNT"] == "1"
    for port in PROXY_PORTS:
        server = _server(nginx_http, port)
        for location in server.all("location"):
            headers = _headers([nginx_http, server, location])
            where = f"port {port}, location {' '.join(location.args)}"
            assert headers.get("x-forwarded-for") == "$remote_addr", where
            assert headers.get("x-forwarded-proto") == "$scheme", where
            # With the port: the console compares the browser's Origin with it.
            assert headers.get("host") == "$http_host", where


def test_the_proxy_refuses_bodies_rasa_and_the_console_would_refuse(
    services: dict[str, dict[str, Any]], nginx_http: Directive
) -> None:
    rasa_env = {k: v for k, v in environment_of(services["rasa"]).items() if "$" not in v}
    limits = {5005: load_settings(rasa_env).max_request_bytes, 8070: CONSOLE_MAX_REQUEST_BYTES}
    for port, limit in limits.items():
        server = _server(nginx_http, port)
        (size,) = effective([nginx_http, server], "client_max_body_size")
        assert size_in_bytes(size.args[0]) == limit, (
            f"port {port}: {size.args[0]} is not {limit} bytes"
        )


def test_the_proxy_logs_no_addresses_and_no_querystrings_of(nginx_http: Directive) -> None:
    # Addresses are personal data; query strings carry the console's CSRF token and WhatsApp's
    # verify token; a Referer may carry either.
    forbidden = {
        "$remote_addr",
        "$realip_remote_addr",
        "$binary_remote_addr",
        "$http_x_forwarded_for",
        "$proxy_add_x_forwarded_for",
        "$request",
        "$request_uri",
        "$args",
        "$query_string",
        "$is_args",
        "$http_referer",
        "$request_body",
    }
    formats = {d.args[0]: "".join(d.args[1:]) for d in nginx_http.all("log_format")}
    logs = [d for d in effective([nginx_http], "access_log") if d.args[0] != "off"]
    for log in logs:
        assert len(log.args) > 1 and log.args[1] in formats, "a log_format of our own"
        used = set(re.findall(r"\$\w+", formats[log.args[1]]))
        assert not used & forbidden, f"the access log writes {sorted(used & forbidden)}"
        assert not any(v.startswith("$arg_") for v in used), "no query parameters in the log"
    for server in nginx_http.all("server"):  # no server or location logs differently
        for level in [server, *server.all("location")]:
            assert all(d.args[0] == "off" for d in level.all("access_log")), level.args


# --- a real nginx with this config, where one is installed -------------------------------------


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        pytest.skip("nginx not installed (apt-get install nginx-light); structural checks ran")
    return binary


def test_nginx_accepts_the_proxy_config(nginx: str, tmp_path: Path) -> None:
    # The unchanged file; only the pid file is put where any user may write (the image's nginx
    # keeps its default). `-t` does not resolve `rasa`: names are resolved at run time.
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-c",
            str(NGINX_CONF),
            "-p",
            f"{tmp_path}/",
            "-e",
            "stderr",
            "-g",
            f"pid {tmp_path}/nginx.pid;",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


async def _headers_and_echo(request: web.Request) -> web.StreamResponse:
    """A stand-in for Rasa's and the console's WebSockets: the request as seen behind the
    proxy first, then every text frame back."""
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.send_json({"path": request.path_qs, "headers": dict(request.headers)})
    async for message in socket:
        if message.type == aiohttp.WSMsgType.TEXT:
            await socket.send_str(f"echo:{message.data}")
    return socket


async def _body_size(request: web.Request) -> web.Response:
    return web.json_response({"bytes": len(await request.read())})


@pytest.fixture
async def stand_in_rasa() -> AsyncIterator[dict[int, int]]:
    """Two stand-in upstreams on loopback: proxy port -> the port that plays that Rasa port."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get(WEBSOCKET_PATHS[5005], _headers_and_echo)
    app.router.add_get(WEBSOCKET_PATHS[8070], _headers_and_echo)
    app.router.add_post("/webhooks/whatsapp/webhook", _body_size)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ports = dict(zip(PROXY_PORTS, free_ports(len(PROXY_PORTS)), strict=True))
    try:
        for port in ports.values():
            await web.TCPSite(runner, "127.0.0.1", port).start()
        yield ports
    finally:
        await runner.cleanup()


def _test_copy_of_nginx_conf(
    folder: Path, listen: dict[int, int], upstreams: dict[int, int]
) -> Path:
    """deploy/nginx.conf with only addresses and run-time paths changed: loopback ports for
    the listeners and the stand-in upstreams (IP literals, so no resolver is needed), a log
    file, and temp folders in `folder`, which nginx's workers must be able to reach."""
    text = NGINX_CONF.read_text(encoding="utf-8")

    def replace(pattern: str, new: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, new, text)
        assert count, f"nginx.conf changed shape: {pattern!r} not found; update this test"

    for port in PROXY_PORTS:
        replace(rf"\blisten\s+{port}\s*;", f"listen 127.0.0.1:{listen[port]};")
        replace(rf"\b{re.escape(PROXY_PORTS[port])}\b", f"127.0.0.1:{upstreams[port]}")
    # The internal port for the action calls: on loopback too, to nothing (not tested here).
    (actions_port,) = free_ports(1)
    replace(r"\blisten\s+5055\s*;", f"listen 127.0.0.1:{actions_port};")
    replace(r"\bactions:5055\b", "127.0.0.1:9")
    replace(r"\baccess_log\s+/dev/stdout\b", f"access_log {folder}/access.log")
    paths = "".join(
        f"    {kind}_temp_path {folder}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    replace(r"\bhttp\s*\{\n", "http {\n" + paths)
    copy = folder / "nginx.conf"
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture
def running_nginx(
    nginx: str, tmp_path: Path, stand_in_rasa: dict[int, int]
) -> Iterator[tuple[dict[int, int], Path]]:
    listen = dict(zip(PROXY_PORTS, free_ports(len(PROXY_PORTS)), strict=True))
    # Started by root, nginx's workers run as an unprivileged user, who cannot enter pytest's
    # private tmp_path: bodies over the buffer go to temp files, so those live in a folder it can.
    scratch = Path(tempfile.mkdtemp(prefix="nginx-test-"))
    scratch.chmod(0o755)
    config = _test_copy_of_nginx_conf(scratch, listen, stand_in_rasa)
    log = (tmp_path / "nginx.log").open("w")
    process = subprocess.Popen(
        [
            nginx,
            "-c",
            str(config),
            "-p",
            f"{tmp_path}/",
            "-e",
            "stderr",
            "-g",
            f"daemon off; pid {tmp_path}/nginx.pid;",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        for port in listen.values():
            while True:
                assert process.poll() is None, (tmp_path / "nginx.log").read_text()
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "nginx did not start listening"
                    time.sleep(0.05)
        yield listen, scratch / "access.log"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


async def test_a_running_nginx_carries_websockets_and_says_who_sent_them(
    running_nginx: tuple[dict[int, int], Path],
) -> None:
    listen, access_log = running_nginx
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for port, path in WEBSOCKET_PATHS.items():
            public_host = f"assistent.example.nl:{port}"
            query = "?csrf_token=not-for-the-log" if port == 8070 else ""
            async with http.ws_connect(
                f"http://127.0.0.1:{listen[port]}{path}{query}",
                headers={
                    "Host": public_host,
                    "Origin": "https://www.example.nl",
                    "X-Forwarded-For": "203.0.113.9",  # forged: must not reach Rasa
                },
            ) as chat:
                seen = await chat.receive_json()
                headers = {k.lower(): v for k, v in seen["headers"].items()}
                assert seen["path"] == path + query
                assert headers["upgrade"].lower() == "websocket"
                assert headers["host"] == public_host, "the Host with its port, for the console"
                assert headers["x-forwarded-for"] == "127.0.0.1", "the connection, not the claim"
                assert headers["x-forwarded-proto"] == "http"
                assert headers["origin"] == "https://www.example.nl", "origin checks need it"
                await chat.send_str("goedemorgen")
                assert await chat.receive_str() == "echo:goedemorgen", f"{path}: both ways"
    logged = access_log.read_text(encoding="utf-8")
    assert WEBSOCKET_PATHS[8070] in logged and "not-for-the-log" not in logged
    assert "203.0.113.9" not in logged


async def test_a_running_nginx_refuses_bodies_over_rasas_limit(
    running_nginx: tuple[dict[int, int], Path],
) -> None:
    listen, _ = running_nginx
    limit = load_settings({}).max_request_bytes
    url = f"http://127.0.0.1:{listen[5005]}/webhooks/whatsapp/webhook"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(url, data=b"x" * limit) as response:
            assert response.status == 200 and await response.json() == {"bytes": limit}
        async with http.post(url, data=b"x" * (limit + 1)) as response:
            assert response.status == 413
