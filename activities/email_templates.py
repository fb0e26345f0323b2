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


def render(template: str, locale: str, context: dict[str, str]) -> tuple[str, str]:
    """Subject and text body of `template` in `locale` (falls back to Indonesian)."""
    if not (TEMPLATE_DIR / f"{template}.{locale}.txt").exists():
        locale = DEFAULT_LOCALE
    text = _env.get_template(f"{template}.{locale}.txt").render(context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body
