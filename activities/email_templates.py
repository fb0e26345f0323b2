"""Email templates: every email in Indonesian and English, as HTML with a plain-text alternative.

`templates/<name>.<locale>.jinja` fills the blocks (`subject`, `heading`, `content`) of one base
layout, and is rendered twice: through `_layout.html` (inline CSS, one column, readable on a
phone) for the HTML part, and through `_layout.txt` for the text part. Its building blocks
(paragraphs, facts, buttons, quotes) come from `ui`, `_ui.html` or `_ui.txt` to match; its words
from `_words.<locale>.jinja` (how the order's codes read: reasons, refunds, next steps).

Dates and times are shown in the recipient's own language and time zone, with the zone's name;
money as the recipient's locale writes it (Babel both). Indonesian is the default locale;
English when the recipient's locale is `en`.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TEMPLATE_DIR = Path(__file__).parent / "templates"
LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_CURRENCY = "IDR"

# What every template may name; absent ones are empty (a template tests them before showing).
CONTEXT_KEYS = (
    "role",
    "name",
    "topic",
    "mentee_name",
    "mentor_name",
    "start",
    "old_start",
    "payment_deadline",
    "decision_deadline",
    "duration",
    "notes",
    "amount",
    "paid",
    "refunded",
    "meet_url",
    "invoice_url",
    "order_url",
    "decision_url",
    "reason",
    "reason_text",
    "refund",
    "next_step",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def when(moment: datetime | str | None, timezone: str, locale: str) -> str:
    """`moment` as the reader reads it: their language, their time zone, and the zone's name
    ("Senin, 07 Desember 2026 17.00 (Waktu Indonesia Barat)")."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    language = Locale.parse(locale)
    date = language.date_formats["full"].pattern
    time = language.time_formats["short"].pattern
    pattern = str(language.datetime_formats["full"]).format(time, date) + " (zzzz)"
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(timezone), locale=language)


def money(amount: int | str | None, currency: str, locale: str) -> str:
    """Whole units as the reader's locale writes money: "Rp 300.000", "IDR 300,000"."""
    if amount is None or amount == "":
        return ""
    language = Locale.parse(locale)
    standard = language.currency_formats["standard"].pattern.split(";")[0]
    whole = re.sub(r"\.0+", "", standard)  # rupiah are shown whole, as everyone writes them
    text = format_currency(
        int(amount), currency, format=whole, locale=language, currency_digits=False
    )
    # CLDR's currency spacing, which Babel leaves out: a letter symbol never touches a digit.
    return re.sub(r"(?<=[A-Za-z])(?=\d)", "\N{NO-BREAK SPACE}", text, count=1)


@pass_context
def _when(context: Context, moment: str | None) -> str:
    return when(moment, context["timezone"], context["locale"])


@pass_context
def _money(context: Context, amount: str | None) -> str:
    return money(amount, context["currency"], context["locale"])


def _squash(text: str) -> str:
    """Runs of spaces and line breaks as one space: a template may wrap a sentence over lines.
    (No-break spaces stay: they hold "Rp 300.000" and "3:00 PM" together.)"""
    squashed = re.sub(r"[ \t\r\n]+", " ", str(text)).strip()
    return Markup(squashed) if isinstance(text, Markup) else squashed


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["money"] = _money
    env.filters["squash"] = _squash
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)
_HTML_UI = _HTML.get_template("_ui.html").module
_TEXT_UI = _TEXT.get_template("_ui.txt").module


def _tidy_text(text: str) -> str:
    """Blocks a blank line apart, no trailing blanks: templates need not mind their spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def render(
    template: str,
    locale: str,
    context: dict[str, str],
    timezone: str = DEFAULT_TIMEZONE,
    currency: str = DEFAULT_CURRENCY,
) -> Rendered:
    """Subject, HTML and text of `template` in `locale` (Indonesian when the locale has none),
    its dates in `timezone`."""
    if locale not in LOCALES or not (TEMPLATE_DIR / f"{template}.{locale}.jinja").exists():
        locale = DEFAULT_LOCALE
    values: dict[str, Any] = dict.fromkeys(CONTEXT_KEYS, "")
    values.update(context)
    values.update(locale=locale, timezone=timezone, currency=currency)
    name = f"{template}.{locale}.jinja"
    text_template = _TEXT.get_template(name)
    text_values = {**values, "layout": "_layout.txt", "ui": _TEXT_UI}
    subject = "".join(text_template.blocks["subject"](text_template.new_context(text_values)))
    html = _HTML.get_template(name).render({**values, "layout": "_layout.html", "ui": _HTML_UI})
    return Rendered(
        subject=_squash(subject),
        html=html.strip() + "\n",
        text=_tidy_text(text_template.render(text_values)),
    )
