"""The current time, and the timestamp formats Xendit and Google write."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_millis(moment: datetime) -> str:
    """`2024-05-01T03:04:05.678Z`: how both Xendit and Google write instants."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(value: str) -> datetime:
    """An RFC 3339 date-time; naive values are taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
