"""An admin resolving what an order's flags asked for: the flags named (or all) are cleared and
the resolution, with its note, joins the timeline. A refund that had to be paid by hand is
settled by naming the transfer."""

import dataclasses

from mentoring.domain import RefundStatus
from workflows.machine.builder import Builder
from workflows.machine.codes import Flag, Refusal
from workflows.machine.model import Machine, Requested, Resolve

REFUND_PAID_BY_HAND = (Flag.REFUND_MANUAL_REQUIRED, Flag.REFUND_FAILED)


def flags_resolved(m: Machine, request: Resolve) -> tuple[Flag, ...]:
    raised = tuple(code for code, _ in m.flags)
    return tuple(code for code in raised if not request.flags or code in request.flags)


def admit_resolve(m: Machine, request: Resolve) -> Refusal | None:
    resolved = flags_resolved(m, request)
    if not resolved or any(code not in resolved for code in request.flags):
        return Refusal.NOTHING_TO_RESOLVE
    if any(code in REFUND_PAID_BY_HAND for code in resolved) and not request.reference:
        return Refusal.TRANSFER_REFERENCE_REQUIRED
    return None


def resolve(b: Builder, request: Resolve, requested: Requested) -> None:
    resolved = flags_resolved(b.m, request)
    b.set(flags=tuple(entry for entry in b.m.flags if entry[0] not in resolved))
    if any(code in REFUND_PAID_BY_HAND for code in resolved):
        refund = dataclasses.replace(
            b.m.refund,
            status=RefundStatus.SUCCEEDED,
            refund_id=f"manual:{request.reference}",
            retry_at=None,
            check_at=None,
        )
        b.set(refund=refund)
    recorded = b.record(
        "flag_resolved",
        flags=",".join(resolved),
        note=request.note,
        reference=request.reference or "",
        actor="admin",
    )
    b.reply(requested, after=recorded)
