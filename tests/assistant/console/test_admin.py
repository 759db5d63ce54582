"""`python -m assistant.console.admin`: accounts from the command line, in Dutch."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from assistant.console.accounts import AccountStore, Outcome
from assistant.console.admin import main
from assistant.console.sessions import SessionStore
from tests.assistant.console.helpers import FAST_HASHER, PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[3]


def admin(
    database_url: str, *argv: str, password: str | None = PASSWORD, typed: list[str] | None = None
) -> int:
    env = {"HANDOFF_DATABASE_URL": database_url}
    if password is not None:
        env["CONSOLE_NEW_PASSWORD"] = password
    answers = iter(typed or [])
    return main(list(argv), env=env, read_password=lambda prompt: next(answers))


def test_the_first_account_is_made_from_the_repository_root_with_the_default_database(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HANDOFF_", "CONSOLE_"))
    }
    env.update(PYTHONPATH=str(REPO_ROOT), CONSOLE_NEW_PASSWORD=PASSWORD)
    command = [sys.executable, "-m", "assistant.console.admin", "create-user"]
    done = subprocess.run(
        [*command, "--username", "sanne", "--name", "Sanne", "--municipality", "utrecht", "--totp"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Account sanne gemaakt voor Sanne." in done.stdout
    uri = next(line for line in done.stdout.splitlines() if line.startswith("otpauth://"))
    assert PASSWORD not in done.stdout + done.stderr

    store = AccountStore(f"sqlite:///{tmp_path / 'var' / 'handoff.sqlite'}")
    try:
        first = store.authenticate("sanne", PASSWORD)
        assert first.outcome is Outcome.NEEDS_CODE and first.account is not None
        code = pyotp.parse_uri(uri).now()
        assert store.verify_code(first.account.id, code).outcome is Outcome.LOGGED_IN
    finally:
        store.engine.dispose()


def test_the_password_can_be_typed_twice(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = [PASSWORD, PASSWORD]
    args = ["create-user", "--username", "piet", "--name", "Piet"]
    assert admin(database_url, *args, password=None, typed=typed) == 0
    assert "Gemeenten: alle." in capsys.readouterr().out
    assert admin(database_url, "list-users") == 0
    listing = capsys.readouterr().out
    assert "piet\tPiet\talle\tnee\tnee\tactief\tnooit" in listing


@pytest.mark.parametrize(
    ("args", "typed", "message"),
    [
        (["--username", "piet", "--name", "Piet"], [PASSWORD, "iets anders!!"], "niet gelijk"),
        (["--username", "piet", "--name", "Piet"], ["kort", "kort"], "minstens 12 tekens"),
        (["--username", "piet", "--name", "Piet"], ["piet", "piet"], "minstens 12 tekens"),
        (["--username", "p iet", "--name", "Piet"], [], "gebruikersnaam heeft 2 tot 64"),
        (["--username", "piet", "--name", " "], [], "naam die inwoners zien"),
        (
            ["--username", "piet", "--name", "Piet", "--municipality", "utrect"],
            [],
            "Onbekende gemeente utrect; bekend zijn: utrecht, zwolle",
        ),
    ],
)
def test_invalid_input_is_refused_in_dutch_with_exit_code_2(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    typed: list[str],
    message: str,
) -> None:
    assert admin(database_url, "create-user", *args, password=None, typed=typed) == 2
    assert message in capsys.readouterr().err
    assert admin(database_url, "list-users") == 0
    assert "Er zijn nog geen accounts." in capsys.readouterr().out


def test_a_username_is_taken_whatever_its_case(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin(database_url, "create-user", "--username", "sanne", "--name", "Sanne") == 0
    assert admin(database_url, "create-user", "--username", "SANNE", "--name", "Sanne") == 2
    assert "De gebruikersnaam 'sanne' bestaat al." in capsys.readouterr().err


def test_a_password_is_never_taken_from_the_command_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["create-user", "--username", "piet", "--name", "Piet", "--password", PASSWORD]
    assert admin(database_url, *args) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_new_password_unlocks_and_ends_sessions(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the real clock, like the command itself."""
    assert admin(database_url, "create-user", "--username", "sanne", "--name", "Sanne") == 0
    store = AccountStore(database_url, hasher=FAST_HASHER)
    sessions = SessionStore(store.engine, idle=dt.timedelta(minutes=30))
    try:
        for _ in range(5):
            store.authenticate("sanne", "fout wachtwoord")
        capsys.readouterr()
        assert admin(database_url, "list-users") == 0
        assert "geblokkeerd tot" in capsys.readouterr().out
        account = store.by_username("sanne")
        assert account is not None
        key = sessions.create({"account_id": account.id})

        new = "een heel ander wachtwoord"
        assert admin(database_url, "set-password", "--username", "sanne", password=new) == 0
        output = capsys.readouterr().out
        assert "is gewijzigd en het account is ontgrendeld" in output
        assert "Beëindigde sessies: 1." in output
        assert sessions.load(key) is None
        assert store.authenticate("sanne", new).outcome is Outcome.LOGGED_IN
    finally:
        store.engine.dispose()


def test_unlock_opens_a_locked_account(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin(database_url, "create-user", "--username", "sanne", "--name", "Sanne") == 0
    store = AccountStore(database_url, hasher=FAST_HASHER)
    try:
        for _ in range(5):
            store.authenticate("sanne", "fout wachtwoord")
        assert admin(database_url, "unlock", "--username", "Sanne") == 0
        assert "Account sanne is ontgrendeld." in capsys.readouterr().out
        assert store.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN
        assert admin(database_url, "unlock", "--username", "piet") == 2
        assert "Er is geen account met gebruikersnaam 'piet'." in capsys.readouterr().err
    finally:
        store.engine.dispose()
