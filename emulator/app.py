"""The emulator's ASGI app: Xendit, Google OAuth, Calendar and Gmail, sandbox and checkout."""

from fastapi import FastAPI

from emulator import checkout, gmail, google_calendar, google_freebusy, oauth, sandbox, xendit
from emulator.config import EmulatorConfig
from emulator.errors import install_error_handler
from emulator.state import EmulatorState


def create_app(config: EmulatorConfig) -> FastAPI:
    app = FastAPI(
        title="Xendit and Google emulator",
        description="The subset of Xendit and Google APIs the order engine uses, in memory.",
        version="1",
    )
    app.state.emulator_config = config
    app.state.emulator_state = EmulatorState()
    install_error_handler(app)
    for module in (xendit, oauth, google_calendar, google_freebusy, gmail, sandbox, checkout):
        app.include_router(module.router)

    @app.get("/healthz", tags=["sandbox"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory emulator.app:create_app_from_env` (`mentoring sandbox`)."""
    return create_app(EmulatorConfig.from_env())
