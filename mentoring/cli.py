"""`mentoring`: the dev stack in one command, and the production entry points.

mentoring dev       Temporal dev server, embedded Postgres, migrations, emulator, worker, API
mentoring migrate   migrate DATABASE_URL to head
mentoring api       the API alone (production: external Postgres and Temporal)
mentoring worker    the worker alone (same as `python worker.py`)
mentoring sandbox   the Xendit/Google emulator alone
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import time

import uvicorn

from mentoring.db import create_engine, migrate_to_head
from mentoring.devstack import (
    TemporalDevServer,
    ensure_database,
    load_dev_secrets,
    start_embedded_postgres,
    stop_embedded_postgres,
    wait_for_temporal,
)
from mentoring.serving import BackgroundServer
from mentoring.settings import Settings, get_settings

log = logging.getLogger("mentoring")


def _configured(settings: Settings, field: str) -> bool:
    return field in settings.model_fields_set


async def run_dev(settings: Settings) -> None:
    from api.main import create_app
    from emulator.app import create_app as create_emulator_app
    from emulator.config import EmulatorConfig
    from emulator.credentials import write_service_account_file
    from worker import create_worker

    began = time.monotonic()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    given = {name: str(getattr(settings, name)) for name in settings.model_fields_set}
    settings = settings.model_copy(update=load_dev_secrets(data_dir, given))

    async with contextlib.AsyncExitStack() as stack:
        if not settings.database_url:
            url = await asyncio.to_thread(start_embedded_postgres, data_dir / "postgres")
            stack.callback(stop_embedded_postgres, data_dir / "postgres")
            settings = settings.model_copy(update={"database_url": url})
        await ensure_database(settings.database_url)
        await asyncio.to_thread(migrate_to_head, settings.database_url)

        temporal_ui = "(external)"
        if not settings.temporal_address:
            server = TemporalDevServer(
                data_dir,
                settings.temporal_port,
                settings.temporal_ui_port,
                settings.temporal_namespace,
            )
            stack.callback(server.stop)
            client = await server.start()
            settings = settings.model_copy(update={"temporal_address": server.address})
            temporal_ui = server.ui_url
        else:
            client = await wait_for_temporal(
                settings.temporal_address, settings.temporal_namespace, 60.0
            )

        api_url = f"http://{settings.api_host}:{settings.api_port}"
        sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        updates: dict[str, object] = {"public_base_url": api_url}
        emulated = not (
            _configured(settings, "xendit_api_url") or _configured(settings, "google_api_url")
        )
        if emulated:
            emulator = create_emulator_app(
                EmulatorConfig(
                    public_url=sandbox_url,
                    callback_url=f"{api_url}/v1/webhooks/xendit/invoice",
                    callback_token=settings.xendit_callback_token,
                )
            )
            sandbox = await BackgroundServer(emulator, port=settings.sandbox_port).start()
            stack.push_async_callback(sandbox.stop)
            updates |= {"xendit_api_url": sandbox_url, "google_api_url": sandbox_url}
            if settings.google_credentials_file is None:
                updates["google_credentials_file"] = write_service_account_file(
                    data_dir / "google-service-account.json",
                    token_uri=f"{sandbox_url}/oauth2/token",
                )
        settings = settings.model_copy(update=updates)

        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        worker = create_worker(client, settings, engine)
        worker_task = asyncio.create_task(worker.run())

        async def stop_worker() -> None:
            await worker.shutdown()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task

        stack.push_async_callback(stop_worker)
        api = await BackgroundServer(
            create_app(settings, client, engine), host=settings.api_host, port=settings.api_port
        ).start()
        stack.push_async_callback(api.stop)

        print(
            f"""
Mentoring order engine is up in {time.monotonic() - began:.1f} s.
  API               {api_url}   (docs {api_url}/docs)
  Emulator          {sandbox_url if emulated else "(off: real Xendit and Google)"}
                    sent mail {sandbox_url}/sandbox/mail
                    calendar  {sandbox_url}/sandbox/calendar/events
  Temporal          {settings.temporal_address}   UI {temporal_ui}
  Postgres          {settings.database_url}
  Admin API key     {settings.admin_api_key}
  Frontend API key  {settings.frontend_api_key}
  Data folder       {data_dir}
Press Ctrl-C to stop.""",
            flush=True,
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        print("Stopping...", flush=True)
    print("Stopped.", flush=True)


def _serve(app_factory: str, host: str, port: int) -> None:
    uvicorn.run(app_factory, factory=True, host=host, port=port, proxy_headers=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="mentoring", description=__doc__.split("\n")[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run the whole system locally")
    commands.add_parser("migrate", help="migrate DATABASE_URL to head")
    api = commands.add_parser("api", help="run the API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    commands.add_parser("worker", help="run the Temporal worker")
    sandbox = commands.add_parser("sandbox", help="run the Xendit/Google emulator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    if args.command == "dev":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_dev(settings))
    elif args.command == "migrate":
        migrate_to_head(settings.database_url)
    elif args.command == "api":
        _serve(
            "api.main:create_app", args.host or settings.api_host, args.port or settings.api_port
        )
    elif args.command == "worker":
        from worker import run_worker

        asyncio.run(run_worker(settings))
    elif args.command == "sandbox":
        _serve("emulator.app:create_app_from_env", args.host, args.port or settings.sandbox_port)


if __name__ == "__main__":
    main()
