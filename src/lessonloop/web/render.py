"""Templates: one Jinja2 environment (autoescaped) and the filters the pages share."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lessonloop.failures.models import KIND_LABELS, FailureKind
from lessonloop.textrender import render_markdown
from lessonloop.web.security import expected_csrf, is_https

FLASH_COOKIE = "lessonloop_flash"


def _date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return _date(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


def _days_late(value: dt.date | None) -> int:
    return 0 if value is None else max(0, (dt.date.today() - value).days)


def _kind(value: str) -> str:
    try:
        return KIND_LABELS[FailureKind(value)]
    except ValueError:
        return value


def _number(value: Any) -> str:
    if value is None:
        return ""
    number = float(value)
    return f"{number:g}"


def _markdown(value: Any) -> Markup:
    """People's text (Markdown) as sanitised HTML: the same HTML as in e-mails and exports."""
    return Markup(render_markdown(None if value is None else str(value)))


def option_tags(options: Any, current: Any) -> Markup:
    """A select's ``<option>`` tags, the one whose value is ``current`` selected: what the
    ``select`` macro looped over in Jinja, written here because a page can hold thousands (an org
    admin's insights page: 20 escalation forms, each choosing among 300 people twice), where the
    template loop was a third of the page's time. The escaped tags of a list are kept (a page
    repeats the same people in every form; the next page usually shows them again)."""
    # Markup text stays Markup (str() of it would be escaped again, unlike the template did).
    tags, index = _escaped_options(
        tuple((str(value), text if isinstance(text, Markup) else str(text)) for value, text in options)
    )
    chosen = index.get("" if current is None else str(current))
    if chosen is None:
        return Markup("\n".join(tags))
    value, text = options[chosen]
    picked = f'<option value="{escape(str(value))}" selected>{escape(text)}</option>'
    return Markup("\n".join((*tags[:chosen], picked, *tags[chosen + 1 :])))


@lru_cache(maxsize=64)
def _escaped_options(options: tuple[tuple[str, str], ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    tags = tuple(f'<option value="{escape(value)}">{escape(text)}</option>' for value, text in options)
    index: dict[str, int] = {}
    for i, (value, _text) in enumerate(options):
        index.setdefault(value, i)
    return tags, index


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lessonloop.web", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date=_date, datetime=_datetime, pct=_pct, days_late=_days_late, kind=_kind, number=_number
    )
    env.filters["markdown"] = _markdown
    env.globals["option_tags"] = option_tags
    env.globals["kinds"] = [(k.value, KIND_LABELS[k]) for k in FailureKind]
    return env


def encode_flash(message: str) -> str:
    return base64.urlsafe_b64encode(message.encode("utf-8")).decode("ascii")


def decode_flash(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return base64.urlsafe_b64decode(raw.encode("ascii")).decode("utf-8")[:500]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def set_flash(response: Response, request: Request, message: str) -> None:
    """A one-time message for the next page (after a redirect); not a secret."""
    response.set_cookie(
        FLASH_COOKIE,
        encode_flash(message),
        max_age=120,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    me: Any = None,
    viewer: Any = None,
    nav: str = "",
    unread: int = 0,
    **data: Any,
) -> HTMLResponse:
    """Render ``template`` with what every page needs: who is signed in, the CSRF token, the flash,
    and ``unread`` (the signed-in person's unread notifications, for the nav badge)."""
    flash = decode_flash(request.cookies.get(FLASH_COOKIE))
    context = {
        "request": request,
        "me": me,
        "viewer": viewer,
        "csrf": expected_csrf(request) or "",
        "flash": flash,
        "nav": nav,
        "unread": unread,
        "today": dt.date.today(),
        "htmx": request.headers.get("hx-request") == "true",
        **data,
    }
    html = environment().get_template(template).render(context)
    response = HTMLResponse(html, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def markup(svg: str) -> Markup:
    """An SVG built by :mod:`lessonloop.web.charts` (every text in it escaped there)."""
    return Markup(svg)
