"""The console's settings: defaults that run on one machine, and wrong values named."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.console.config import ConsoleConfig, load_console_config
from assistant.settings import ConfigError


def test_the_defaults_run_on_one_machine() -> None:
    config = load_console_config({})
    assert config == ConsoleConfig(
        port=8070,
        database_url="sqlite:///var/handoff.sqlite",
        secure_cookies=False,
        public_origin=None,
        session_idle_minutes=30,
        max_failed_logins=5,
        lockout_minutes=15,
    )
    assert config.session_idle == dt.timedelta(minutes=30)
    assert config.lockout == dt.timedelta(minutes=15)


def test_every_setting_comes_from_its_variable() -> None:
    config = load_console_config(
        {
            "CONSOLE_PORT": "9000",
            "HANDOFF_DATABASE_URL": "postgresql://kcc:geheim@db:5432/assistent",
            "CONSOLE_SECURE_COOKIES": "true",
            "CONSOLE_PUBLIC_ORIGIN": "https://KCC.example.nl/",
            "CONSOLE_SESSION_IDLE_MINUTES": "10",
            "CONSOLE_MAX_FAILED_LOGINS": "3",
            "CONSOLE_LOCKOUT_MINUTES": "60",
        }
    )
    assert config == ConsoleConfig(
        port=9000,
        database_url="postgresql://kcc:geheim@db:5432/assistent",
        secure_cookies=True,
        public_origin="https://kcc.example.nl",
        session_idle_minutes=10,
        max_failed_logins=3,
        lockout_minutes=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONSOLE_PORT", "achtduizend"),
        ("CONSOLE_PORT", "70000"),
        ("CONSOLE_SECURE_COOKIES", "misschien"),
        ("CONSOLE_SESSION_IDLE_MINUTES", "0"),
        ("CONSOLE_MAX_FAILED_LOGINS", "-1"),
        ("CONSOLE_LOCKOUT_MINUTES", "1.5"),
        ("CONSOLE_PUBLIC_ORIGIN", "kcc.example.nl"),
        ("CONSOLE_PUBLIC_ORIGIN", "https://kcc.example.nl/console"),
        ("HANDOFF_DATABASE_URL", "mysql://kcc:geheim@db/assistent"),
        ("HANDOFF_DATABASE_URL", "geen url"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable) as error:
        load_console_config({variable: value})
    assert "geheim" not in str(error.value), "a database password is not repeated"
