"""Logs: one event per line, JSON (or coloured lines for a person), configured once per process.

`configure_logging(settings)` routes the standard library's logging (uvicorn, temporalio, the
code's own `logging.getLogger(__name__)`) and structlog through one formatter. Each line has
its time, level, logger and message; the order id, the workflow id and the trace and span ids
when they are known (an API request that named its order, an activity, a workflow's logger,
the current span); and nothing secret: email addresses, bearer and Basic credentials, Xendit
keys, signed link tokens (`/pages/decide/<token>`, `/pages/order/<token>`, `?token=`), OAuth
tokens and the configured secrets themselves are masked, uvicorn's access lines included.
"""

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog
import temporalio.activity
import temporalio.workflow
from structlog.types import EventDict, Processor

from mentoring.settings import Settings
from mentoring.tracing import current_trace_ids, order_id_of_workflow

HANDLER_NAME = "mentoring"
MASK = "***"
# Secrets shorter than this are not looked for as they are (they would match ordinary words).
MIN_SECRET_LENGTH = 8

_EMAIL = re.compile(
    r"(?P<first>[A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)"
    r"(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{MASK}"),
    (re.compile(r"\bxnd_[A-Za-z0-9_]+"), f"xnd_{MASK}"),
    (re.compile(r"(/pages/(?:decide|order)/)[^/?#\s\"']+"), rf"\1{MASK}"),
    (
        re.compile(r"(?i)([?&](?:token|access_token|api_key|key|signature)=)[^&#\s\"']+"),
        rf"\1{MASK}",
    ),
    # itsdangerous's signed tokens and JWTs: a base64 JSON object, then dot-separated parts.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?"), MASK),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), f"ya29.{MASK}"),
    (re.compile(r"(?i)(x-callback-token[\"']?\s*[:=]\s*[\"']?)[^\"'\s,}]+"), rf"\1{MASK}"),
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        f"[private key {MASK}]",
    ),
]
_SECRET_KEYS = re.compile(r"(?i)authorization|password|secret|token|api_?key|credential|cookie")
# Values our own processors write at the top of an event (a time, a level, a logger's name,
# ids): never a secret, left as they are.
_OUR_VALUES = frozenset(
    {"timestamp", "level", "logger", "order_id", "workflow_id", "trace_id", "span_id"}
)
# Keys our own processors write, never masked by name (`span_id` is no secret).
_OUR_KEYS = _OUR_VALUES | {"event"}


def _scoped(pattern: re.Pattern[str]) -> str:
    """The pattern's text with its flags applied to it alone, to join it with others."""
    flags = ("i" if pattern.flags & re.IGNORECASE else "") + (
        "s" if pattern.flags & re.DOTALL else ""
    )
    text = pattern.pattern.removeprefix("(?i)")
    return f"(?{flags}:{text})" if flags else f"(?:{text})"


# Any of the patterns, in one pass: most lines hold none, and are then left as they are.
_ANY_PATTERN = re.compile("|".join(_scoped(pattern) for pattern, _ in [*_PATTERNS, (_EMAIL, "")]))


def _masked_email(match: re.Match[str]) -> str:
    return f"{match['first']}{MASK}@{match['domain']}"


class SecretMasker:
    """A processor: masks secrets in every text of the event, and the value of every key that
    names one (`authorization`, `token`, ...)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(known, key=len, reverse=True)

    def mask(self, text: str) -> str:
        if _ANY_PATTERN.search(text) is None and not any(s in text for s in self._secrets):
            return text
        return self.mask_each(text)

    def mask_each(self, text: str) -> str:
        """`mask` without its one-pass look for anything to mask (tests compare the two)."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _EMAIL.sub(_masked_email, text)

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            if value and key not in _OUR_KEYS and _SECRET_KEYS.search(key):
                return MASK
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(key, item) for item in value]
        return value

    def __call__(self, _: Any, __: str, event_dict: EventDict) -> EventDict:
        return {
            key: value if key in _OUR_VALUES and isinstance(value, str) else self._value(key, value)
            for key, value in event_dict.items()
        }


def add_temporal_context(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """The workflow id (and the order id it names) of a workflow's or activity's log line."""
    workflow = event_dict.pop("temporal_workflow", None)
    activity = event_dict.pop("temporal_activity", None)
    workflow_id: object = None
    if isinstance(workflow, dict):
        workflow_id = workflow.get("workflow_id")
    elif isinstance(activity, dict):
        workflow_id = activity.get("workflow_id")
        event_dict.setdefault("activity", activity.get("activity_type"))
    elif temporalio.activity.in_activity():
        info = temporalio.activity.info()
        workflow_id = info.workflow_id
        event_dict.setdefault("activity", info.activity_type)
    if isinstance(workflow_id, str):
        event_dict.setdefault("workflow_id", workflow_id)
        order_id = order_id_of_workflow(workflow_id)
        if order_id is not None:
            event_dict.setdefault("order_id", order_id)
    return event_dict


def add_trace_ids(_: Any, __: str, event_dict: EventDict) -> EventDict:
    ids = current_trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _drop_noise(_: Any, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's copy of the message with ANSI colours
    if event_dict.get("message") == event_dict.get("event"):
        del event_dict["message"]  # the standard library's copy of the formatted message
    return event_dict


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_temporal_context,
        add_trace_ids,
        _drop_noise,
    ]


def _wants_json(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format != "auto":
        return settings.log_format == "json"
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def secrets_of(settings: Settings) -> list[str]:
    return [
        settings.admin_api_key,
        settings.frontend_api_key,
        settings.xendit_secret_key,
        settings.xendit_callback_token,
        settings.mentor_token_secret,
    ]


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Every log line of this process through one handler on `stream` (stderr), as
    LOG_FORMAT and LOG_LEVEL say; calling it again replaces that handler. Returns it."""
    out = stream if stream is not None else sys.stderr
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if _wants_json(settings, out)
        else structlog.dev.ConsoleRenderer(colors=bool(out.isatty()))
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            SecretMasker(secrets_of(settings)),
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's own handlers (when something configured them) would write past ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The workflow's and activity's details are fields of the line, not words of the message.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    structlog.configure(
        processors=[*_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # configured again (tests): loggers follow
    )
    return handler
