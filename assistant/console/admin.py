"""Managing console accounts from the command line, for whoever runs the assistant.

    python -m assistant.console.admin create-user --username sanne --name Sanne \\
        [--municipality utrecht ...] [--totp] [--admin]
    python -m assistant.console.admin set-password --username sanne
    python -m assistant.console.admin unlock --username sanne
    python -m assistant.console.admin list-users

The database is HANDOFF_DATABASE_URL (default sqlite:///var/handoff.sqlite, relative to the
folder you run it in: the repository root for `make run`). A password is asked twice without
echo, or read from CONSOLE_NEW_PASSWORD for scripts, never from the command line (which every
user of the machine can see). With --totp the authenticator app's otpauth:// address is shown
once; the secret is not shown again. Output is Dutch. Exit codes: 0 done, 2 invalid input (a
wrong option, setting, username, password or municipality), 1 the database failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from assistant.console import totp
from assistant.console.accounts import (
    Account,
    AccountError,
    AccountStore,
    UsernameTaken,
    checked_display_name,
    checked_username,
)
from assistant.console.config import ConsoleConfig, load_console_config
from assistant.console.passwords import PasswordRejected, check_password
from assistant.console.schema import ensure_schema
from assistant.console.sessions import SessionStore
from assistant.content import known_municipalities
from assistant.settings import ConfigError

OK, FAILED, INVALID = 0, 1, 2
PASSWORD_VARIABLE = "CONSOLE_NEW_PASSWORD"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

ReadPassword = Callable[[str], str]


class InvalidInput(ValueError):
    """Something the person at the keyboard typed cannot be used (Dutch message)."""


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    read_password: ReadPassword = getpass.getpass,
) -> int:
    env = os.environ if env is None else env
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed why
        return int(exit_.code or 0)
    try:
        config = load_console_config(env)
        store = AccountStore(
            config.database_url,
            max_failed_logins=config.max_failed_logins,
            lockout=config.lockout,
        )
        ensure_schema(store.engine)
        try:
            return args.command(
                args, store, config, lambda: _new_password(args, env, read_password)
            )
        finally:
            store.engine.dispose()
    except (ConfigError, InvalidInput, AccountError, PasswordRejected) as error:
        print(f"Niet gelukt. {error}", file=sys.stderr)
        return INVALID
    except SQLAlchemyError as error:
        print(f"De database gaf een fout: {type(error).__name__}", file=sys.stderr)
        return FAILED


def create_user(
    args: argparse.Namespace,
    store: AccountStore,
    _: ConsoleConfig,
    password: Callable[[], str],
) -> int:
    # Everything but the password is checked before the password is asked.
    username = checked_username(args.username)
    checked_display_name(args.name)
    if store.by_username(username) is not None:
        raise UsernameTaken(f"De gebruikersnaam {username!r} bestaat al.")
    municipalities = _known(args.municipality or [])
    secret = totp.new_secret() if args.totp else None
    account = store.create(
        username,
        display_name=args.name,
        password=password(),
        municipalities=municipalities,
        is_admin=args.admin,
        totp_secret=secret,
    )
    print(f"Account {account.username} gemaakt voor {account.display_name}.")
    print(f"Gemeenten: {_municipalities(account)}.")
    if secret is not None:
        print(
            "Tweede stap: voeg dit adres toe aan de authenticator-app van de medewerker "
            "(als QR-code of door het over te nemen). Het wordt maar één keer getoond:"
        )
        print(totp.provisioning_uri(secret, account.username))
    return OK


def set_password(
    args: argparse.Namespace,
    store: AccountStore,
    config: ConsoleConfig,
    password: Callable[[], str],
) -> int:
    if store.by_username(args.username) is None:
        raise InvalidInput(f"Er is geen account met gebruikersnaam {args.username!r}.")
    account = store.set_password(args.username, password())
    ended = SessionStore(store.engine, idle=config.session_idle).end_for_account(account.id)
    print(f"Het wachtwoord van {account.username} is gewijzigd en het account is ontgrendeld.")
    print(f"Beëindigde sessies: {ended}.")
    return OK


def unlock(
    args: argparse.Namespace, store: AccountStore, _: ConsoleConfig, __: Callable[[], str]
) -> int:
    account = store.unlock(args.username)
    print(f"Account {account.username} is ontgrendeld.")
    return OK


def list_users(
    _: argparse.Namespace, store: AccountStore, __: ConsoleConfig, ___: Callable[[], str]
) -> int:
    accounts = store.all()
    if not accounts:
        print("Er zijn nog geen accounts. Maak er een met: create-user --username … --name …")
        return OK
    now = store.now()
    print("gebruikersnaam\tnaam\tgemeenten\tapp\tbeheerder\tstatus\tlaatst ingelogd")
    for account in accounts:
        status = (
            f"geblokkeerd tot {_local(account.locked_until)}"
            if account.is_locked(now)
            else "actief"
        )
        print(
            "\t".join(
                [
                    account.username,
                    account.display_name,
                    _municipalities(account),
                    "ja" if account.has_totp else "nee",
                    "ja" if account.is_admin else "nee",
                    status,
                    _local(account.last_login_at) if account.last_login_at else "nooit",
                ]
            )
        )
    return OK


def _new_password(args: argparse.Namespace, env: Mapping[str, str], read: ReadPassword) -> str:
    """The new password: CONSOLE_NEW_PASSWORD, or typed twice; checked before hashing."""
    password = env.get(PASSWORD_VARIABLE, "")
    if not password:
        password = read("Nieuw wachtwoord (minstens 12 tekens): ")
        if read("Typ het wachtwoord nog een keer: ") != password:
            raise InvalidInput("De twee wachtwoorden zijn niet gelijk.")
    check_password(password, args.username)
    return password


def _known(municipalities: Sequence[str]) -> list[str]:
    known = known_municipalities()
    ids = [m.strip().lower() for m in municipalities]
    unknown = sorted(set(ids) - known)
    if unknown:
        raise InvalidInput(
            f"Onbekende gemeente {', '.join(unknown)}; bekend zijn: {', '.join(sorted(known))}."
        )
    return ids


def _municipalities(account: Account) -> str:
    return ", ".join(account.municipalities) or "alle"


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if moment else ""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.console.admin",
        description="Accounts van KCC-medewerkers voor de console beheren.",
        epilog=f"Het wachtwoord wordt gevraagd, of gelezen uit {PASSWORD_VARIABLE}.",
    )
    commands = parser.add_subparsers(title="opdrachten", required=True, metavar="OPDRACHT")

    create = commands.add_parser("create-user", help="een nieuw account maken")
    create.add_argument("--username", required=True, help="gebruikersnaam, bijvoorbeeld sanne")
    create.add_argument("--name", required=True, help="voornaam die inwoners zien, bijv. Sanne")
    create.add_argument(
        "--municipality",
        action="append",
        metavar="GEMEENTE",
        help="gemeente waarvan de medewerker de wachtrij helpt (herhaalbaar; geen: alle)",
    )
    create.add_argument("--totp", action="store_true", help="inloggen met een authenticator-app")
    create.add_argument("--admin", action="store_true", help="beheerder")
    create.set_defaults(command=create_user)

    for name, handler, text in (
        ("set-password", set_password, "een nieuw wachtwoord instellen (ontgrendelt ook)"),
        ("unlock", unlock, "een geblokkeerd account ontgrendelen"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--username", required=True, help="gebruikersnaam")
        command.set_defaults(command=handler)

    commands.add_parser("list-users", help="alle accounts tonen").set_defaults(command=list_users)
    return parser


if __name__ == "__main__":
    sys.exit(main())
