"""WebhookDeliveryWorkflow: an order's events to one endpoint, in order, at least once.

One per endpoint and order (id `webhooks-<endpoint>-<order>`), started or woken by the
transition that wrote new events (signal-with-start). It sends what is pending, oldest first;
an endpoint that refuses is tried again from `retry_initial_s`, doubling, at most hourly, for
`give_up_after_s` (24 h): then it is disabled and its undelivered events abandoned. It ends
when nothing is pending and no new event came meanwhile; the next event starts a new run.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks_out import WebhookActivities
    from mentoring.contract import WEBHOOK_DELIVERY_WORKFLOW, Signal
    from mentoring.domain import WebhookDeliveryInput

ATTEMPT_TIMEOUT = timedelta(minutes=2)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_RETRY = RetryPolicy(maximum_attempts=20, maximum_interval=timedelta(minutes=5))


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW)
class WebhookDeliveryWorkflow:
    def __init__(self) -> None:
        self._more = True

    @workflow.signal(name=Signal.WEBHOOK_MESSAGES)
    def more_messages(self) -> None:
        self._more = True

    @workflow.run
    async def run(self, request: WebhookDeliveryInput) -> int:
        """Returns how many events this run delivered."""
        delivered = 0
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=request.retry_initial_s),
            backoff_coefficient=2.0,
            maximum_interval=LONGEST_WAIT,
            non_retryable_error_types=[],
        )
        while self._more:
            self._more = False
            try:
                delivered += await workflow.execute_activity_method(
                    WebhookActivities.deliver_pending,
                    request,
                    start_to_close_timeout=ATTEMPT_TIMEOUT,
                    schedule_to_close_timeout=timedelta(seconds=request.give_up_after_s),
                    retry_policy=retry,
                )
            except ActivityError:
                await workflow.execute_activity_method(
                    WebhookActivities.give_up_endpoint,
                    request,
                    start_to_close_timeout=ATTEMPT_TIMEOUT,
                    retry_policy=GIVE_UP_RETRY,
                )
                return delivered
        return delivered
