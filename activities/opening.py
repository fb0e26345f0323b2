"""An order's opening: the mentor's time held, then its invoice issued, in one activity.

One trip through the task queue before the frontend has its payment URL, instead of two (and a
workflow task between them). The two halves stay what they were: holding is idempotent by the
order id (the database refuses an overlap), the invoice is one per order (see
activities/payments.py). A retry repeats both; the hold it already made changes nothing.
"""

import asyncio
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments import CreateInvoiceInput, InvoiceInfo, XenditActivities
from activities.records import SLOT_UNAVAILABLE, CreateOrderRecordInput, RecordActivities

# The error of an attempt that could not store the order: no invoice was asked for.
ORDER_NOT_STORED = "OrderNotStored"
# An attempt gives up on the database after this, and says so, before its own time runs out.
HOLD_TIMEOUT_S = 30.0


@dataclass
class OpenOrderInput:
    record: CreateOrderRecordInput
    invoice: CreateInvoiceInput


class OpeningActivities:
    def __init__(self, records: RecordActivities, payments: XenditActivities) -> None:
        self._records = records
        self._payments = payments

    @activity.defn
    async def open_order(self, request: OpenOrderInput) -> InvoiceInfo:
        """Store the order, holding the mentor's time, then issue its invoice. Raises
        SLOT_UNAVAILABLE (not retried) when the time is taken, and ORDER_NOT_STORED when the
        database did not answer: the machine tells both apart from an invoice not issued."""
        try:
            async with asyncio.timeout(HOLD_TIMEOUT_S):
                await self._records.create_order_record(request.record)
        except ApplicationError as error:
            if error.type == SLOT_UNAVAILABLE:
                raise
            raise _not_stored(error) from error
        except Exception as error:
            raise _not_stored(error) from error
        return await self._payments.create_invoice(request.invoice)


def _not_stored(error: Exception) -> ApplicationError:
    return ApplicationError(f"the order could not be stored: {error!r}", type=ORDER_NOT_STORED)
