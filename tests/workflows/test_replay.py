"""Histories of real runs of each path, replayed against today's workflow code: a change that
breaks determinism for orders already running fails here. `make histories` records them anew
(only when a change of the workflow is meant to be incompatible, with a versioning plan)."""

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support import HISTORIES_DIR
from workflows.order import MentoringOrderWorkflow
from workflows.runner import WORKFLOW_RUNNER

HISTORIES = {path.stem: path.read_text() for path in sorted(HISTORIES_DIR.glob("*.json"))}

# One recorded run at least for each of these paths of the state machine.
PATHS = (
    "test_pay_then_approve_books_the_session",
    "test_approve_then_pay_books_the_session",
    "test_payment_deadline_expires_the_order",
    "test_decline_before_payment_expires_the_invoice",
    "test_decline_after_payment_refunds_in_full",
    "test_mentor_silence_reminds_once_then_declines_with_refund",
    "test_short_payment_is_flagged_and_never_confirms",
    "test_meet_room_failure_fails_the_order_with_refund",
    "test_reminders_then_completion",
    "test_mentee_cancels_before_cutoff_with_full_refund",
    "test_after_cutoff_mentee_is_refused_but_admin_cancels",
    "test_reschedule_moves_the_same_event_and_keeps_both_times",
    "test_late_payment_after_expiry_is_refunded",
    "test_short_payment_is_refunded_when_the_payment_deadline_passes",
)


def test_every_path_has_a_recorded_history() -> None:
    recorded = {name.rsplit("-", 1)[0] for name in HISTORIES}
    assert set(PATHS) <= recorded, sorted(set(PATHS) - recorded)


@pytest.mark.parametrize("name", HISTORIES)
async def test_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])

    replayer = Replayer(workflows=[MentoringOrderWorkflow], workflow_runner=WORKFLOW_RUNNER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, result.replay_failure
