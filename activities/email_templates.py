"""Email templates (`templates/<name>.<locale>.txt`: the subject, then the body), in Jinja2.

Indonesian is the default locale; English when the recipient's locale is `en`.
"""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "id"

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


MONEY_KEYS = ("amount", "paid")


def format_idr(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def _presented(context: dict[str, str]) -> dict[str, str]:
    """Amounts come as whole rupiah; the email shows them as money."""
    shown = dict(context)
    for key in MONEY_KEYS:
        if shown.get(key, "").isdigit():
            shown[key] = format_idr(int(shown[key]))
    return shown


def render(template: str, locale: str, context: dict[str, str]) -> tuple[str, str]:
    """Subject and text body of `template` in `locale` (falls back to Indonesian)."""
    if not (TEMPLATE_DIR / f"{template}.{locale}.txt").exists():
        locale = DEFAULT_LOCALE
    text = _env.get_template(f"{template}.{locale}.txt").render(_presented(context))
    subject, _, body = text.partition("\n")
    return subject.strip(), body
