"""How an activity's end reaches the machine: `failure_of` and `unsent_of` read the error the
SDK hands the workflow, directly or under the timeout that ended the retries."""

import pytest
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from activities.email import EMAILS_NOT_SENT
from activities.opening import ORDER_NOT_STORED
from activities.records import SLOT_UNAVAILABLE
from workflows.effects import failure_of, unsent_of
from workflows.machine.codes import Failure


def _ended(last: BaseException | None, timed_out: bool) -> ActivityError:
    error = ActivityError(
        "activity error",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="open_order",
        activity_id="1",
        retry_state=RetryState.TIMEOUT if timed_out else RetryState.NON_RETRYABLE_FAILURE,
    )
    if timed_out:
        timeout = TimeoutError(
            "activity ScheduleToClose timeout",
            type=TimeoutType.SCHEDULE_TO_CLOSE,
            last_heartbeat_details=[],
        )
        timeout.__cause__ = last
        error.__cause__ = timeout
    else:
        error.__cause__ = last
    return error


@pytest.mark.parametrize(
    ("last", "timed_out", "failure"),
    [
        (
            ApplicationError("taken", type=SLOT_UNAVAILABLE, non_retryable=True),
            False,
            Failure.SLOT_UNAVAILABLE,
        ),
        (ApplicationError("db down", type=ORDER_NOT_STORED), True, Failure.NOT_STORED),
        (ApplicationError("xendit 503", type="XenditSdkException"), True, Failure.EXHAUSTED),
        (ApplicationError("xendit 400", non_retryable=True), False, Failure.REFUSED),
        (None, True, Failure.EXHAUSTED),
    ],
)
def test_failure_of_reads_the_last_attempts_error(
    last: ApplicationError | None, timed_out: bool, failure: Failure
) -> None:
    assert failure_of(_ended(last, timed_out)) == failure


def test_unsent_of_names_the_letters_the_last_attempt_named() -> None:
    named = ApplicationError("1 of 2 emails not sent", 1, type=EMAILS_NOT_SENT)
    assert unsent_of(_ended(named, timed_out=True)) == (1,)
    assert unsent_of(_ended(named, timed_out=False)) == (1,)
    assert unsent_of(_ended(None, timed_out=True)) is None
