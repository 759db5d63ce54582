"""The `backends:` section of a content file (assistant/backends/config.py)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.backends.config import BackendConfigError, parse_backends, resolve_url, secret
from assistant.backends.errors import NotConfigured
from assistant.content import MUNICIPALITIES_DIR, NATIONAL_FILE, ContentError, load_municipality

UTRECHT = yaml.safe_load((MUNICIPALITIES_DIR / "utrecht.yml").read_text(encoding="utf-8"))


def test_the_demo_municipalities_use_jcc_and_qmatic_through_the_sandbox() -> None:
    utrecht = load_municipality("utrecht").backends
    zwolle = load_municipality("zwolle").backends
    assert utrecht.appointments and utrecht.appointments.system == "jcc"
    assert zwolle.appointments and zwolle.appointments.system == "qmatic"
    for backends in (utrecht, zwolle):
        assert backends.zaken and backends.signalen and backends.klantinteracties
        assert backends.signalen.fallback_point is not None


def test_a_municipality_without_backends_is_valid() -> None:
    assert parse_backends(None).appointments is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b: b["appointments"].pop("secret_env"), "backends.appointments"),
        (lambda b: b["appointments"].update(system="outlook"), "backends.appointments"),
        (lambda b: b["zaken"].update(rsin="12"), "backends.zaken.rsin"),
        (lambda b: b["zaken"].update(secret_env="geheim123"), "backends.zaken.secret_env"),
        (lambda b: b["signalen"].update(url="ftp://x"), "backends.signalen.url"),
        (lambda b: b["signalen"].update(fallback_point=[0, 0]), "backends.signalen.fallback_point"),
        (lambda b: b.update(sms={"url": "https://x"}), "backends"),
    ],
)
def test_a_malformed_section_is_refused_naming_the_key(change, named: str) -> None:
    backends = copy.deepcopy(UTRECHT["backends"])
    change(backends)
    with pytest.raises(BackendConfigError, match=rf"^{named}[:.]"):
        parse_backends(backends)


def test_a_content_file_with_a_bad_section_names_the_file(tmp_path: Path) -> None:
    text = (MUNICIPALITIES_DIR / "utrecht.yml").read_text(encoding="utf-8")
    broken = text.replace("    token_env: SANDBOX_OPENKLANT_TOKEN\n", "")
    assert broken != text
    (tmp_path / "utrecht.yml").write_text(broken, encoding="utf-8")
    shutil.copy(NATIONAL_FILE, tmp_path / "national.yml")
    with pytest.raises(ContentError, match=r"utrecht\.yml: backends\.klantinteracties"):
        load_municipality("utrecht", tmp_path, tmp_path / "national.yml")


def test_sandbox_addresses_resolve_against_sandbox_url_and_real_ones_stay() -> None:
    env = {"SANDBOX_URL": "http://127.0.0.1:8090/"}
    assert resolve_url("sandbox:/jcc/", env, "jcc") == "http://127.0.0.1:8090/jcc/"
    assert (
        resolve_url("https://zaken.example.nl/api/", {}, "zgw") == "https://zaken.example.nl/api/"
    )
    with pytest.raises(NotConfigured, match="SANDBOX_URL"):
        resolve_url("sandbox:/jcc/", {}, "jcc")


def test_a_secret_comes_from_the_variable_the_file_names() -> None:
    assert secret({"UTRECHT_JCC_SECRET": "s3cret"}, "UTRECHT_JCC_SECRET", "jcc") == "s3cret"
    with pytest.raises(NotConfigured, match="UTRECHT_JCC_SECRET"):
        secret({"UTRECHT_JCC_SECRET": " "}, "UTRECHT_JCC_SECRET", "jcc")
