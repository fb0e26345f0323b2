"""Injected outages and a call counter per emulated operation.

A fault makes the next `times` calls of one operation wait `delay_seconds` and then, if it has
a `status`, answer that status in the provider's error shape instead of doing anything.
With `after_effect`, the operation is done first and only its answer is delayed or replaced:
the call that timed out (or failed) on the caller's side although the provider did it, e.g. a
Gmail send stored but never answered. Only the operations in `AFTER_EFFECT_OPERATIONS` take it.
`calendar.conference` is special: it is not a call but the Meet room creation of the next
`times` event inserts, which then ends in conference status "failure".
"""

import asyncio
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Literal, Self, get_args

from pydantic import BaseModel, Field, model_validator

from emulator.errors import ProviderError, google_error, xendit_error

Operation = Literal[
    "xendit.invoices.create",
    "xendit.invoices.get",
    "xendit.invoices.list",
    "xendit.invoices.expire",
    "xendit.refunds.create",
    "xendit.refunds.get",
    "calendar.events.insert",
    "calendar.events.get",
    "calendar.events.patch",
    "calendar.events.update",
    "calendar.events.delete",
    "calendar.conference",
    "calendar.freebusy.query",
    "gmail.messages.send",
    "gmail.messages.list",
]
OPERATIONS: tuple[str, ...] = get_args(Operation)
CONFERENCE = "calendar.conference"
AFTER_EFFECT_OPERATIONS = frozenset(
    {
        "xendit.invoices.create",
        "xendit.invoices.list",
        "calendar.events.insert",
        "calendar.events.patch",
        "calendar.events.update",
        "gmail.messages.send",
    }
)


class FaultSpec(BaseModel):
    """The body of `POST /sandbox/faults`."""

    operation: Operation
    status: int | None = Field(default=None, ge=400, le=599)
    delay_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    times: int = Field(default=1, ge=1)
    after_effect: bool = False
    """Do the operation, then delay or replace its answer (the effect happened, the caller
    does not learn it)."""

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if self.operation != CONFERENCE and self.status is None and self.delay_seconds == 0:
            raise ValueError("a fault needs a status, a delay_seconds, or both")
        if self.after_effect and self.operation not in AFTER_EFFECT_OPERATIONS:
            raise ValueError(f"after_effect is only for {sorted(AFTER_EFFECT_OPERATIONS)}")
        return self


@dataclass
class Fault:
    operation: str
    status: int | None
    delay_seconds: float
    times: int
    after_effect: bool = False


def fault_error(operation: str, status: int) -> ProviderError:
    message = f"injected fault for {operation}"
    if operation.startswith("xendit."):
        return xendit_error(status, message=message)
    reason = "backendError" if status >= 500 else None
    return google_error(status, reason=reason, message=message)


class FaultBoard:
    def __init__(self) -> None:
        self._pending: dict[str, deque[Fault]] = {}
        self._calls: Counter[str] = Counter()
        self._played: Counter[str] = Counter()

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(
            spec.operation, spec.status, spec.delay_seconds, spec.times, spec.after_effect
        )
        self._pending.setdefault(spec.operation, deque()).append(fault)
        return fault

    def clear(self) -> None:
        self._pending.clear()

    def reset(self) -> None:
        self.clear()
        self._calls.clear()
        self._played.clear()

    def pending(self) -> list[dict[str, object]]:
        return [asdict(fault) for queue in self._pending.values() for fault in queue]

    def calls(self) -> dict[str, int]:
        return {operation: self._calls[operation] for operation in OPERATIONS}

    def played(self) -> dict[str, int]:
        """How many faulted calls of each operation have finished (answered or failed)."""
        return {operation: self._played[operation] for operation in OPERATIONS}

    async def _play(self, operation: str, fault: Fault) -> None:
        try:
            await _play(operation, fault)
        finally:
            self._played[operation] += 1

    def take(self, operation: str) -> Fault | None:
        """Count one call of `operation` and use up one time of its first pending fault."""
        self._calls[operation] += 1
        queue = self._pending.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    async def enter(self, operation: str) -> Fault | None:
        """Called first by every emulated operation: counts it and plays its fault, if any.
        An `after_effect` fault is not played but returned, for `answer` once the operation is
        done."""
        fault = self.take(operation)
        if fault is None:
            return None
        if fault.after_effect:
            return fault
        await self._play(operation, fault)
        return None

    async def answer(self, operation: str, fault: Fault | None) -> None:
        """Called by an operation that took effect, with what `enter` returned."""
        if fault is not None:
            await self._play(operation, fault)


async def _play(operation: str, fault: Fault) -> None:
    if fault.delay_seconds > 0:
        await asyncio.sleep(fault.delay_seconds)
    if fault.status is not None:
        raise fault_error(operation, fault.status)
