"""The Temporal worker: runs MentoringOrderWorkflow and its activities.

`python worker.py` runs it against the services named by the environment (production);
`mentoring dev` and the tests build the same worker with `create_worker`.
"""

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.email import EmailActivities
from activities.opening import OpeningActivities
from activities.payments import XenditActivities
from activities.records import RecordActivities, TimelineActivities
from activities.webhooks_out import WebhookActivities
from mentoring.db import create_engine
from mentoring.google_services import GoogleServices
from mentoring.heap import freeze_startup_objects
from mentoring.logs import configure_logging
from mentoring.metrics import serve_metrics
from mentoring.settings import Settings, get_settings
from mentoring.temporal import connect_temporal
from mentoring.tracing import configure_tracing
from workflows.late_payment import LatePaymentWorkflow
from workflows.order import MentoringOrderWorkflow
from workflows.runner import WORKFLOW_RUNNER
from workflows.webhook_delivery import WebhookDeliveryWorkflow


def create_worker(client: Client, settings: Settings, engine: AsyncEngine) -> Worker:
    google = GoogleServices(settings)
    records = RecordActivities(engine, client, settings)
    webhooks = WebhookActivities(engine, settings)
    payments = XenditActivities(settings)
    calendar = CalendarActivities(google)
    email = EmailActivities(engine, google, settings)
    timeline = TimelineActivities(engine)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[MentoringOrderWorkflow, LatePaymentWorkflow, WebhookDeliveryWorkflow],
        workflow_runner=WORKFLOW_RUNNER,
        activities=[
            OpeningActivities(records, payments).open_order,
            records.record_transition,
            payments.expire_invoice,
            payments.get_invoice,
            timeline.append_event,
            payments.refund_payment,
            payments.refund_status,
            calendar.book_session,
            calendar.cancel_session,
            calendar.move_session,
            email.send_emails,
            webhooks.deliver_pending,
            webhooks.give_up_endpoint,
        ],
        max_concurrent_activities=50,
        # Heartbeats reach the server at least this often: by default only every 80 % of the
        # heartbeat timeout, which a loaded worker overran (a booking timed out at 20 s).
        max_heartbeat_throttle_interval=timedelta(seconds=5),
        default_heartbeat_throttle_interval=timedelta(seconds=5),
    )


async def run_worker(settings: Settings) -> None:
    serve_metrics(settings)  # the orders' metrics on METRICS_PORT; the SDK's on the next port
    engine = create_engine(settings.database_url)
    client = await connect_temporal(settings)
    try:
        worker = create_worker(client, settings, engine)
        freeze_startup_objects()
        await worker.run()
    finally:
        await engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    configure_tracing("mentoring-worker")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
