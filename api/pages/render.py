"""Rendering pages: Jinja2 templates, with dates, times and money through Babel in the reader's
own language and time zone."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
LOCALES = ("id", "en")


def when(moment: datetime | None, timezone: str, locale: str) -> str:
    """`moment` as the reader reads it: their language, their zone, the zone's name."""
    if moment is None:
        return ""
    return format_datetime(
        moment, "EEEE, d MMMM y, HH:mm zzzz", tzinfo=ZoneInfo(timezone), locale=locale
    )


def when_short(moment: datetime, timezone: str, locale: str) -> str:
    """`moment` as a choice in a list whose zone the label names: "Tue, 1 Dec, 10:00"."""
    return format_datetime(moment, "EEE, d MMM, HH:mm", tzinfo=ZoneInfo(timezone), locale=locale)


def money(amount: int | None, currency: str, locale: str) -> str:
    if amount is None:
        return ""
    # Rupiah are shown whole, as Indonesians write them (Rp 300.000), though CLDR gives cents.
    return format_currency(
        amount, currency, format="¤\xa0#,##0", locale=locale, currency_digits=False
    )


def page(
    request: Request, template: str, locale: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = locale if locale in LOCALES else "id"
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"locale": locale, "when": when, "when_short": when_short, "money": money, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def notice(
    request: Request, locale: str, status_code: int, what: str, **context: Any
) -> HTMLResponse:
    """A page that only says what happened (`what` names its words in the templates)."""
    return page(request, "notice.html", locale, status_code, what=what, **context)
