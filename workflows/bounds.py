"""How long each kind of effect may take, and how it is retried: every bound ends, and the
machine hears how (done, or gave up)."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class Bounds:
    start_to_close: timedelta
    retry: RetryPolicy
    schedule_to_close: timedelta | None = None
    heartbeat: timedelta | None = None


RECORD = Bounds(
    timedelta(seconds=30),
    RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
    schedule_to_close=timedelta(minutes=30),
)
PROVIDER = Bounds(
    timedelta(seconds=60),
    RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
    schedule_to_close=timedelta(minutes=30),
)
EMAIL = Bounds(
    timedelta(seconds=60),
    RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2)),
    schedule_to_close=timedelta(hours=6),
)
REFUND = Bounds(
    timedelta(seconds=60),
    RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=25,
    ),
)
# Google outages are retried until the session is near (the machine's patience); only then is a
# paid session given up, and refunded.
BOOKING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2)
)
