"""One chat message through apprise, with the outbox's rules: vetted connections, one deadline,
no redirects, and a failure that says why (apprise only answers ``False``)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import apprise

from lessonloop import outbound
from lessonloop.errors import Invalid
from lessonloop.integrations.chat.guard import guarded
from lessonloop.integrations.chat.kinds import ChatKind, apprise_url, split_target

#: A zero-width joiner after "@" keeps "@channel", "@here", "@everyone" from pinging anyone in
#: the tools that read mentions from plain text (Mattermost, Discord, Teams); it reads the same.
_MENTION_BREAK = "@\u2060"


_STATUS = re.compile(r"error=(\d{3})\b")


class ChatError(Exception):
    """The message was not accepted (the text says why, for the dead letters)."""


def chat_escape(text: str) -> str:
    """Escape the three characters Slack-style chat treats as markup (``<@U123>`` mentions,
    ``<!channel>``, ``<url|label>`` links), so a title cannot ping a whole channel or disguise a
    link; ``&`` first, so an escape typed by a person stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_text(kind: ChatKind, subject: str, body: str) -> tuple[str, str]:
    """The (title, body) apprise sends for ``kind``: user text escaped, never markup."""
    title, text = chat_escape(subject), chat_escape(body)
    if kind is ChatKind.slack:  # one text field, the title in bold as before
        return "", f"*{title}*\n{text}"
    if kind is not ChatKind.json:
        title, text = title.replace("@", _MENTION_BREAK), text.replace("@", _MENTION_BREAK)
    return title, text


def send_chat(
    target: str,
    subject: str,
    body: str,
    *,
    key: str,
    allow: outbound.AllowList,
    timeout: float,
) -> None:
    """Send to an outbox target (``<kind>+<url>`` or a bare Slack-compatible URL); raise
    :class:`ChatError` unless the receiver accepted it within ``timeout`` seconds."""
    kind, url = split_target(target)
    try:
        address = apprise_url(kind, url, key=key, timeout=timeout)
    except Invalid as exc:
        raise ChatError(f"{kind.value}: {exc}") from None
    deadline = time.monotonic() + timeout  # one deadline for the check and the send
    try:  # a clear refusal before apprise; the guard below vets every connection it then makes
        checked = outbound.vetted_addresses(url, allow, timeout)
    except (outbound.TargetRefused, outbound.OutboundError) as exc:
        raise ChatError(f"{kind.value}: {exc}") from None
    # No thread pool (async_mode, service_timeout 0): the send must run on this thread, the one
    # the guard watches; our own deadline replaces apprise's.
    asset = apprise.AppriseAsset(async_mode=False, service_timeout=0, http_redirects=False)
    app = apprise.Apprise(asset=asset)
    if not app.add(address):
        raise ChatError(f"{kind.value}: apprise does not accept this URL")
    title, text = message_text(kind, subject, body)
    notes: list[str] = []
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    with guarded(allow, outbound.seconds_left(deadline), pinned={host: checked}) as guard:
        result = app.notify(
            body=text,
            title=title,
            body_format=apprise.NotifyFormat.TEXT,
            log_callback=lambda entry, _service: notes.append(entry.message),
        )
    # Expired: the watchdog cut the connection, so whatever apprise read was not the whole answer.
    if result and not guard.expired.is_set():
        return
    if guard.refused:
        raise ChatError(f"{kind.value}: {guard.refused}")
    if guard.expired.is_set():
        raise ChatError(f"{kind.value}: no answer within {timeout:g}s")
    reason = guard.unreachable or "; ".join(dict.fromkeys(n.strip() for n in notes if n.strip()))
    status = _STATUS.search(reason)  # apprise says "error=500": name it as every channel does
    prefix = f"answered HTTP {status.group(1)}: " if status else ""
    raise ChatError(f"{kind.value}: {prefix}{reason or 'the service did not accept the message'}")
