"""`make run`: start the whole assistant on this machine until Ctrl+C (or SIGTERM).

Starts the action server, Rasa (with the KCC staff console), the demo municipality site and the
back-office sandbox (assistant/stack.py) on the ports from the environment (RASA_PORT,
ACTION_SERVER_PORT, DEMO_SITE_PORT, SANDBOX_PORT, CONSOLE_PORT; defaults 5005, 5055, 8080, 8090,
8070), prints their addresses and stops every process on the way out. Logs: var/log/; the
sandbox's data: var/sandbox.sqlite.

PROFILE chooses how (assistant/stack.py):

- embedded (default): one process each, nothing external; conversations in memory, the handoff
  queue and console accounts in var/handoff.sqlite.
- production (`make run PROFILE=production`): several Rasa workers (SANIC_WORKERS, default one
  per core) and action server workers (ACTION_SERVER_SANIC_WORKERS) on the local PostgreSQL
  (database POSTGRES_DB, default "assistant", created when missing) and Redis; POSTGRES_* and
  REDIS_* point elsewhere.

The person reading the console may be a municipal employee, so what it prints is Dutch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a file (python scripts/run.py), not as a module

from assistant.console.config import load_console_config  # noqa: E402
from assistant.settings import ConfigError, load_settings  # noqa: E402
from assistant.stack import (  # noqa: E402
    PROFILES,
    PortInUseError,
    ServiceUnavailableError,
    Stack,
    StackError,
    running_stack,
)

MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"
LOG_DIR = REPO_ROOT / "var" / "log"
SANDBOX_SYSTEMS = (
    ("/zgw/zaken/api/v1/", "Open Zaak (Zaken en Catalogi)"),
    ("/jcc/", "JCC-Afspraken (Utrecht)"),
    ("/qmatic/", "Qmatic Orchestra (Zwolle)"),
    ("/signalen/", "Signalen (meldingen openbare ruimte)"),
    ("/openklant/", "Open Klant (klantcontacten)"),
    ("/whatsapp/", "WhatsApp Cloud API (Meta Graph API)"),
    ("/twilio/", "Twilio Messages (sms met links)"),
)
# How often to check that the processes are still alive while waiting for Ctrl+C.
HEALTH_CHECK_SECONDS = 2.0


def _workers(name: str) -> int | None:
    """A worker count from the environment (None: the stack's default)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise ConfigError(f"{name} must be a whole number from 1 to 64, got {raw!r}")
    return int(raw)


def main() -> int:
    profile = os.environ.get("PROFILE", "").strip() or "embedded"
    if profile not in PROFILES:
        print(
            f"Onbekend profiel / unknown profile {profile!r}: kies / choose "
            f"{' of '.join(PROFILES)} (make run PROFILE=production).",
            file=sys.stderr,
        )
        return 2
    production = profile == "production"
    try:
        settings = load_settings()
        console = load_console_config()
        sanic_workers = _workers("SANIC_WORKERS") if production else None
        action_workers = _workers("ACTION_SERVER_SANIC_WORKERS") if production else None
    except ConfigError as error:
        print(f"Instelling klopt niet / invalid setting: {error}", file=sys.stderr)
        return 2
    if not MODEL_PATH.is_file():
        print(
            f"Er is nog geen getraind model ({MODEL_PATH}). Voer eerst `make train` uit.",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        if signum == signal.SIGTERM:
            # Also interrupt a start-up in progress, exactly like Ctrl+C does.
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    # Ctrl+C raises KeyboardInterrupt even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    print(
        "De assistent start op (actieserver, Rasa met KCC-console, demopagina, "
        f"sandbox-backoffice), profiel {profile}. Dit duurt ongeveer een minuut."
    )
    # Embedded: SQLite files in var/. Production: the handoff queue and accounts go to the same
    # PostgreSQL database as the conversations (the stack sets that).
    local_files = [("SANDBOX_DATABASE_URL", "sandbox.sqlite")]
    if not production:
        local_files.append(("HANDOFF_DATABASE_URL", "handoff.sqlite"))
    try:
        with running_stack(
            MODEL_PATH,
            rasa_port=settings.rasa_port,
            action_port=settings.action_server_port,
            demo_port=settings.demo_site_port,
            sandbox_port=settings.sandbox_port,
            console_port=console.port,
            env_overrides={
                name: os.environ.get(name, f"sqlite:///{REPO_ROOT / 'var' / file}")
                for name, file in local_files
            },
            log_dir=LOG_DIR,
            profile=profile,
            sanic_workers=sanic_workers,
            action_workers=action_workers,
        ) as stack:
            # SIGTERM from now on only sets the event: the `with` block stops the processes.
            signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
            print()
            print(f"De assistent draait. Open de demopagina: {stack.demo_url} (Ctrl+C stopt alles)")
            _print_profile(stack)
            print(f"  Rasa:        {stack.rasa_url}  (REST: {stack.rest_webhook_url})")
            print(f"  Actieserver: {stack.action_url}")
            print(
                f"  Sandbox-backoffice (nagebootste systemen van de gemeente): {stack.sandbox_url}"
            )
            for path, system in SANDBOX_SYSTEMS:
                print(f"    {system:<38} {stack.sandbox_url}{path}")
            print(f"  KCC-console (medewerkers): {stack.console_url}")
            # In production the accounts are in PostgreSQL: the admin command must go there too.
            database = (
                f"HANDOFF_DATABASE_URL={_hidden(stack.settings.handoff_database_url)} "
                if production and stack.settings
                else ""
            )
            print(
                f"    Eerste account: {database}.venv/bin/python -m assistant.console.admin "
                "create-user --username <naam> --name <voornaam>"
            )
            print(f"  Logbestanden: {LOG_DIR}/")
            try:
                while not stop.wait(HEALTH_CHECK_SECONDS):
                    stack.check_alive()
            except KeyboardInterrupt:
                pass
            print("\nDe assistent stopt...")
    except KeyboardInterrupt:
        print("\nOpstarten afgebroken; alles wordt gestopt.")
    except PortInUseError as error:
        print(f"Een poort is al in gebruik / a port is taken: {error}", file=sys.stderr)
        return 1
    except ServiceUnavailableError as error:
        print(
            "Het productieprofiel heeft PostgreSQL en Redis op deze machine nodig; start ze, of "
            "gebruik `make run` zonder PROFILE. / The production profile needs PostgreSQL and "
            f"Redis:\n{error}",
            file=sys.stderr,
        )
        return 1
    except StackError as error:
        print(f"De assistent kon niet (verder) draaien / stack failed:\n{error}", file=sys.stderr)
        return 1
    print("Alles is gestopt.")
    return 0


def _print_profile(stack: Stack) -> None:
    if stack.profile != "production":
        print(
            "  Profiel: embedded (één Rasa-proces, gesprekken in het geheugen; "
            "make run PROFILE=production gebruikt alle kernen)"
        )
        return
    settings = stack.settings
    print(
        f"  Profiel: production ({_workers_text(stack.rasa_workers, 'Rasa')}, "
        f"{_workers_text(stack.action_workers, 'actieserver')})"
    )
    if settings is not None:
        print(f"    Gesprekken, wachtrij en accounts: {_hidden(settings.handoff_database_url)}")
        print(f"    Redis (locks, livegesprekken, limieten): {_hidden(settings.redis_url or '')}")


def _workers_text(count: int, what: str) -> str:
    return f"{count} {what}-worker{'s' if count != 1 else ''}"


def _hidden(url: str) -> str:
    """A database or Redis URL without its password, for the screen."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


if __name__ == "__main__":
    sys.exit(main())
