"""The machine's vocabulary: every name it records, refuses with, flags or waits for is a code.

People never read these directly: the email templates and the API word them.
"""

from enum import StrEnum


class Reason(StrEnum):
    """Why an order reached its terminal status."""

    PAYMENT_DEADLINE_PASSED = "payment_deadline_passed"
    INVOICE_EXPIRED = "invoice_expired"
    INVOICE_FAILED = "invoice_failed"
    DECLINED_BY_MENTOR = "declined_by_mentor"
    MENTOR_DID_NOT_ANSWER = "mentor_did_not_answer"
    CANCELLED_BY_MENTEE = "cancelled_by_mentee"
    CANCELLED_BY_MENTOR = "cancelled_by_mentor"
    CANCELLED_BY_ADMIN = "cancelled_by_admin"
    BOOKING_FAILED = "booking_failed"
    SESSION_ENDED = "session_ended"


class Refusal(StrEnum):
    """Why a request (decision, cancel, reschedule, invoice look-up) is not taken."""

    DECISION_NOT_ALLOWED = "decision_not_allowed"
    INVALID_DECISION = "invalid_decision"
    ORDER_CLOSED = "order_closed"
    SESSION_STARTED = "session_started"
    BUSY = "busy"
    CANCELLATION_WINDOW_CLOSED = "cancellation_window_closed"
    RESCHEDULE_WINDOW_CLOSED = "reschedule_window_closed"
    RESCHEDULE_LIMIT_REACHED = "reschedule_limit_reached"
    INVALID_START_TIME = "invalid_start_time"
    SAME_TIME = "same_time"
    SLOT_UNAVAILABLE = "slot_unavailable"
    STORE_UNAVAILABLE = "store_unavailable"
    PAYMENT_PROVIDER_UNAVAILABLE = "payment_provider_unavailable"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    NOTHING_TO_RESOLVE = "nothing_to_resolve"
    TRANSFER_REFERENCE_REQUIRED = "transfer_reference_required"


class Flag(StrEnum):
    """What needs a person. A flag is cleared when its cause resolves itself, or when an admin
    resolves it (`Resolve`)."""

    PAYMENT_MISMATCH = "payment_mismatch"
    PAYMENT_FOR_UNKNOWN_INVOICE = "payment_for_unknown_invoice"
    PAYMENT_UNVERIFIED = "payment_unverified"
    INVOICE_NOT_CLOSED = "invoice_not_closed"
    BOOKING_FAILED = "booking_failed"
    CALENDAR_CLEANUP_FAILED = "calendar_cleanup_failed"
    CALENDAR_MOVE_FAILED = "calendar_move_failed"
    REFUND_MANUAL_REQUIRED = "refund_manual_required"
    REFUND_FAILED = "refund_failed"
    REFUND_STILL_PENDING = "refund_still_pending"
    EMAIL_FAILED = "email_failed"


class Timer(StrEnum):
    PAYMENT_DEADLINE = "payment_deadline"
    MENTOR_REMINDER = "mentor_reminder"
    DECISION_DEADLINE = "decision_deadline"
    SESSION_REMINDER = "session_reminder"
    SESSION_END = "session_end"
    REFUND_RETRY = "refund_retry"
    REFUND_CHECK = "refund_check"
    CALENDAR_SWEEP = "calendar_sweep"
    VERIFY_RETRY = "verify_retry"
    CLOSE = "close"


class Failure(StrEnum):
    """How a command gave up."""

    REFUSED = "refused"
    EXHAUSTED = "exhausted"
    SLOT_UNAVAILABLE = "slot_unavailable"
    NOT_FOUND = "not_found"
    NOT_STORED = "not_stored"
    """The order could not be stored (so nothing else was done)."""


class Role(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"


class Template(StrEnum):
    INVOICE = "invoice"
    MENTOR_REQUEST = "mentor_request"
    MENTOR_REMINDER = "mentor_reminder"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_PROBLEM = "payment_problem"
    EXPIRED = "expired"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    REMINDER = "reminder"
    COMPLETED = "completed"
    REFUND_ISSUED = "refund_issued"


class Closing(StrEnum):
    """What an invoice is being closed for: the answer decides what follows."""

    EXPIRE = "expire"
    DECLINE = "decline"
    CANCEL = "cancel"
