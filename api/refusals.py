"""The workflow refuses a request with a code (`Refusal` in the workflow's vocabulary); the API
words it for people. An unknown code still gets a message."""

_MESSAGES = {
    "decision_not_allowed": "the mentor's decision is no longer possible for this order",
    "invalid_decision": "decision must be approve or decline",
    "order_closed": "the order has ended",
    "session_started": "the session has already started",
    "busy": "the session is being booked; try again in a moment",
    "cancellation_window_closed": (
        "a mentee may no longer cancel this close to the session; ask the mentor or an admin"
    ),
    "reschedule_window_closed": "the session can no longer be moved",
    "reschedule_limit_reached": "the session has been moved as often as it may be",
    "invalid_start_time": "the new start time is too soon or not allowed",
    "same_time": "the session is already at that time",
    "slot_unavailable": "the mentor already has an active order overlapping this time",
    "store_unavailable": "the order could not be recorded; retry with the same Idempotency-Key",
    "payment_provider_unavailable": "the payment provider could not issue an invoice; order again",
    "idempotency_key_reused": "this Idempotency-Key was already used for a different order",
    "nothing_to_resolve": "the order has no such flag open",
    "transfer_reference_required": "name the transfer that paid the refund back (reference)",
}


def refusal_message(code: str, given: str | None = None) -> str:
    """The words for a refusal `code`; `given` (the workflow's own message) only when it says
    more than the code itself."""
    if code in _MESSAGES:
        return _MESSAGES[code]
    if given and given != code:
        return given
    return f"the request was refused ({code})"
