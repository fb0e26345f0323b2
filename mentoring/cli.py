"""`mentoring`: the entry points of the order engine's processes.

mentoring migrate   migrate DATABASE_URL to head
mentoring api       the API (production: external Postgres and Temporal)
mentoring worker    the Temporal worker (same as `python worker.py`)
mentoring sandbox   the Xendit/Google emulator (dev only)
mentoring dev       the whole system locally (devstack/; needs the `dev` extra)

The shared package imports none of the services: a command names the module that runs it, as
uvicorn names an app, and that module is imported only when the command runs.
"""

import argparse
import importlib
import sys
from typing import Any

import uvicorn

from mentoring.db import migrate_to_head
from mentoring.header_timeout import server_options
from mentoring.logs import configure_logging
from mentoring.settings import get_settings
from mentoring.tracing import configure_tracing


def _entry(name: str) -> Any:
    """`module:attribute`, imported now."""
    module, attribute = name.split(":")
    return getattr(importlib.import_module(module), attribute)


def _serve(app_factory: str, host: str, port: int) -> None:
    # log_config=None: uvicorn's lines (its access log too) go through our handler.
    # server_options: HEADER_READ_TIMEOUT (mentoring/header_timeout.py).
    uvicorn.run(
        app_factory,
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        log_config=None,
        **server_options(get_settings()),
    )


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["dev"]:  # its own options; quiet by default: it sets up its own output
        sys.exit(_entry("devstack.cli:main")(arguments[1:]))
    parser = argparse.ArgumentParser(
        prog="mentoring", description=__doc__.split("\n")[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run the whole system locally (`mentoring dev --help`)")
    commands.add_parser("migrate", help="migrate DATABASE_URL to head")
    api = commands.add_parser("api", help="run the API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    commands.add_parser("worker", help="run the Temporal worker")
    sandbox = commands.add_parser("sandbox", help="run the Xendit/Google emulator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=None)
    args = parser.parse_args(arguments)

    settings = get_settings()
    configure_logging(settings)
    if args.command in ("api", "worker"):
        configure_tracing(f"mentoring-{args.command}")
    if args.command == "migrate":
        migrate_to_head(settings.database_url)
    elif args.command == "api":
        _serve(
            "api.main:create_served_app",
            args.host or settings.api_host,
            args.port or settings.api_port,
        )
    elif args.command == "worker":
        _entry("worker:main")()
    elif args.command == "sandbox":
        _serve("emulator.app:create_app_from_env", args.host, args.port or settings.sandbox_port)


if __name__ == "__main__":
    main()
