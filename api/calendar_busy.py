"""The busy blocks of a mentor's own Google Calendar (`freebusy.query`), kept for a short while.

Google is asked for a window around what is wanted (the day before to 32 days after), so that
the slots of the next weeks and the bookings in them are answered from one query per mentor
per `GOOGLE_FREEBUSY_CACHE_TTL`. Without an answer within `GOOGLE_FREEBUSY_TIMEOUT` (Google
slow, down, refusing, or not configured) the answer is None, "not checked", and is kept a few
seconds so that an outage does not slow every request; nothing fails. Requests that find no
answer kept while one is being asked for a window that covers theirs wait for that one instead of
asking again (the first orders for a mentor arrive together).
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mentoring.google_services import GoogleServices
from mentoring.settings import Settings
from mentoring.slots import Intervals

log = logging.getLogger(__name__)

WINDOW_BEFORE = timedelta(days=1)
WINDOW_AFTER = timedelta(days=32)
UNCHECKED_KEPT_S = 5.0


@dataclass(frozen=True)
class _Answer:
    at: float
    start: datetime
    end: datetime
    busy: Intervals | None


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def busy_blocks(answer: dict[str, Any], calendar_id: str) -> Intervals | None:
    """The calendar's busy blocks in Google's freebusy answer; None if Google could not tell
    (the calendar not found, not shared with us, or an error for it)."""
    calendar = (answer.get("calendars") or {}).get(calendar_id)
    if not isinstance(calendar, dict) or calendar.get("errors"):
        return None
    return Intervals(
        (_instant(block["start"]), _instant(block["end"])) for block in calendar.get("busy", [])
    )


@dataclass(frozen=True)
class _Asking:
    """A question to Google in flight, and the window it asks about."""

    task: "asyncio.Task[_Answer]"
    start: datetime
    end: datetime

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


class CalendarBusy:
    def __init__(self, settings: Settings) -> None:
        self._timeout_s = settings.google_freebusy_timeout.total_seconds()
        self._ttl_s = settings.google_freebusy_cache_ttl.total_seconds()
        self._google = (
            GoogleServices(settings, http_timeout_s=self._timeout_s)
            if settings.google_credentials_file is not None
            else None
        )
        self._answers: dict[str, _Answer] = {}
        self._asking: dict[str, _Asking] = {}

    def forget(self) -> None:
        self._answers.clear()
        self._asking.clear()

    def _usable(self, answer: _Answer, start: datetime, end: datetime) -> bool:
        if not (answer.start <= start and end <= answer.end):
            return False
        kept_s = self._ttl_s if answer.busy is not None else min(self._ttl_s, UNCHECKED_KEPT_S)
        return time.monotonic() - answer.at < kept_s

    async def busy(self, calendar_id: str, start: datetime, end: datetime) -> Intervals | None:
        """The calendar's busy blocks over [start, end), or None when Google did not say."""
        kept = self._answers.get(calendar_id)
        if kept is not None and self._usable(kept, start, end):
            return kept.busy
        asking = self._asking.get(calendar_id)
        # Nothing is kept when the TTL is 0: every request reads the calendar afresh.
        if asking is not None and self._ttl_s > 0 and asking.covers(start, end):
            return (await asyncio.shield(asking.task)).busy
        window_start, window_end = start - WINDOW_BEFORE, max(end, start + WINDOW_AFTER)
        task = asyncio.create_task(self._ask_and_keep(calendar_id, window_start, window_end))
        asked = _Asking(task, window_start, window_end)
        self._asking[calendar_id] = asked
        task.add_done_callback(lambda _: self._done_asking(calendar_id, asked))
        return (await asyncio.shield(task)).busy

    def _done_asking(self, calendar_id: str, asked: _Asking) -> None:
        if self._asking.get(calendar_id) is asked:
            del self._asking[calendar_id]

    async def _ask_and_keep(self, calendar_id: str, start: datetime, end: datetime) -> _Answer:
        asked_at = time.monotonic()
        answer = _Answer(asked_at, start, end, await self._ask(calendar_id, start, end))
        self._answers[calendar_id] = answer
        return answer

    async def _ask(self, calendar_id: str, start: datetime, end: datetime) -> Intervals | None:
        if self._google is None:
            return None
        body = {
            "timeMin": start.isoformat(),
            "timeMax": end.isoformat(),
            "items": [{"id": calendar_id}],
        }
        google = self._google

        def query() -> dict[str, Any]:
            answer: dict[str, Any] = google.calendar().freebusy().query(body=body).execute()
            return answer

        try:
            async with asyncio.timeout(self._timeout_s):
                answer = await asyncio.to_thread(query)
        except Exception as error:
            log.warning("free/busy of %s not read: %r", calendar_id, error)
            return None
        return busy_blocks(answer, calendar_id)
