"""FastAPI dependencies: the app's state and config."""

from typing import Annotated, cast

from fastapi import Depends, Request

from emulator.config import EmulatorConfig
from emulator.state import EmulatorState


def get_state(request: Request) -> EmulatorState:
    return cast(EmulatorState, request.app.state.emulator_state)


def get_config(request: Request) -> EmulatorConfig:
    return cast(EmulatorConfig, request.app.state.emulator_config)


StateDep = Annotated[EmulatorState, Depends(get_state)]
ConfigDep = Annotated[EmulatorConfig, Depends(get_config)]
