"""`make run`: start the whole assistant on this machine until Ctrl+C (or SIGTERM).

Starts the action server, Rasa (with the KCC staff console), the demo municipality site and the
back-office sandbox (assistant/stack.py) on the ports from the environment (RASA_PORT,
ACTION_SERVER_PORT, DEMO_SITE_PORT, SANDBOX_PORT, CONSOLE_PORT; defaults 5005, 5055, 8080, 8090,
8070), prints their addresses and stops every process on the way out. Logs: var/log/; the
sandbox's data: var/sandbox.sqlite; the handoff queue and console accounts: var/handoff.sqlite.
The person reading the console may be a municipal employee, so what it prints is Dutch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a file (python scripts/run.py), not as a module

from assistant.console.config import load_console_config  # noqa: E402
from assistant.settings import ConfigError, load_settings  # noqa: E402
from assistant.stack import PortInUseError, StackError, running_stack  # noqa: E402

MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"
LOG_DIR = REPO_ROOT / "var" / "log"
SANDBOX_SYSTEMS = (
    ("/zgw/zaken/api/v1/", "Open Zaak (Zaken en Catalogi)"),
    ("/jcc/", "JCC-Afspraken (Utrecht)"),
    ("/qmatic/", "Qmatic Orchestra (Zwolle)"),
    ("/signalen/", "Signalen (meldingen openbare ruimte)"),
    ("/openklant/", "Open Klant (klantcontacten)"),
)
# How often to check that the processes are still alive while waiting for Ctrl+C.
HEALTH_CHECK_SECONDS = 2.0


def main() -> int:
    try:
        settings = load_settings()
        console = load_console_config()
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
        "sandbox-backoffice). Dit duurt ongeveer een minuut."
    )
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
                for name, file in (
                    ("SANDBOX_DATABASE_URL", "sandbox.sqlite"),
                    ("HANDOFF_DATABASE_URL", "handoff.sqlite"),
                )
            },
            log_dir=LOG_DIR,
        ) as stack:
            # SIGTERM from now on only sets the event: the `with` block stops the processes.
            signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
            print()
            print(f"De assistent draait. Open de demopagina: {stack.demo_url} (Ctrl+C stopt alles)")
            print(f"  Rasa:        {stack.rasa_url}  (REST: {stack.rest_webhook_url})")
            print(f"  Actieserver: {stack.action_url}")
            print(
                f"  Sandbox-backoffice (nagebootste systemen van de gemeente): {stack.sandbox_url}"
            )
            for path, system in SANDBOX_SYSTEMS:
                print(f"    {system:<38} {stack.sandbox_url}{path}")
            print(f"  KCC-console (medewerkers): {stack.console_url}")
            print(
                "    Eerste account: .venv/bin/python -m assistant.console.admin create-user "
                "--username <naam> --name <voornaam>"
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
    except StackError as error:
        print(f"De assistent kon niet (verder) draaien / stack failed:\n{error}", file=sys.stderr)
        return 1
    print("Alles is gestopt.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
