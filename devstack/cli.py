"""`mentoring dev [--verbose] [--data-dir PATH]`: the whole system locally (devstack/runner.py).

Ports and the data folder also come from the environment (API_PORT, SANDBOX_PORT, TEMPORAL_PORT,
TEMPORAL_UI_PORT, DATA_DIR; mentoring/settings.py). Exit status 0 once stopped by Ctrl-C or
SIGTERM, 1 on any failure, told in one line on stderr."""

import argparse
import asyncio
import sys
import traceback
from pathlib import Path

from devstack.postgres import binaries
from devstack.runner import DevError, DevRun
from devstack.temporal import temporal_cli_path
from mentoring.settings import Settings


def _missing_dev_tools(settings: Settings) -> list[str]:
    """The dev tools this run would start that are not installed (an external Postgres and
    Temporal, named in the environment, need neither)."""
    missing = []
    if not settings.database_url:
        try:
            binaries()
        except RuntimeError:
            missing.append("the embedded Postgres")
    if not settings.temporal_address:
        try:
            temporal_cli_path()
        except RuntimeError:
            missing.append("the Temporal CLI")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mentoring dev", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="the output of Postgres, initdb, Temporal and the servers on this terminal "
        "(by default it goes to log files under the data folder)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where the run keeps its data (DATA_DIR)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    missing = _missing_dev_tools(settings)
    if missing:
        are = "is" if len(missing) == 1 else "are"
        print(
            f"mentoring dev: {' and '.join(missing)} {are} not installed; they come with the dev"
            " extra: pip install 'mentoring-orders[dev]' (make dev does)",
            file=sys.stderr,
        )
        return 1

    run = DevRun(settings, args.verbose)
    try:
        return asyncio.run(run.run())
    except DevError as error:
        print(f"mentoring dev: {error}", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # a bug of the runner's: its children are stopped by now
        if args.verbose:
            traceback.print_exc()
        log = run.data_dir / "logs" / "runner.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as file:
            traceback.print_exc(file=file)
        print(f"mentoring dev: failed: {error!r}; the traceback is in {log}", file=sys.stderr)
        return 1
