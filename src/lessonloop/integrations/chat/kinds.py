"""What speaks at a person's webhook URL, and the apprise URL that reaches it.

A person pastes the URL their chat tool gave them (``https://…``) and says which tool it is; the
outbox stores the two as one *target* string, ``<kind>+<url>`` (a bare URL is the Slack-compatible
kind, what every target was before kinds existed), and :func:`apprise_url` turns it into the URL
apprise understands:

=============  ===========================================  =====================================
kind           the URL pasted                               apprise URL
=============  ===========================================  =====================================
``slack``      any ``http(s)://`` incoming webhook          ``json(s)://…`` with the payload
               (Slack, Rocket.Chat, …) taking ``{"text"}``  remapped to ``{"text": …}``
``json``       any ``http(s)://`` endpoint                  ``json(s)://…`` (apprise's JSON body)
``mattermost`` ``https://host/[prefix/]hooks/<token>``      ``mmost(s)://host/[prefix/]<token>``
``discord``    ``https://discord.com/api/webhooks/<id>/<t>``  ``discord://<id>/<t>``
``teams``      a Teams *Workflows* webhook,                 ``workflows://host/<id>/?sig=…``
               ``https://host/workflows/<id>/triggers/
               manual/paths/invoke?…&sig=…``
=============  ===========================================  =====================================

Every apprise URL turns redirects off (``redirect=no``: a 3xx is a failed attempt, as before) and
carries the worker's timeout as apprise's connect and read timeouts. The Slack-compatible and
JSON kinds also send the delivery's ``Idempotency-Key`` header; the other services' formats have
no place for one.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from lessonloop.errors import Invalid


class ChatKind(enum.StrEnum):
    slack = "slack"
    teams = "teams"
    discord = "discord"
    mattermost = "mattermost"
    json = "json"


DEFAULT_KIND = ChatKind.slack
#: The choices as the account page and the docs name them.
KIND_LABELS = (
    (ChatKind.slack.value, "Slack-compatible incoming webhook (Slack, Rocket.Chat …)"),
    (ChatKind.teams.value, "Microsoft Teams (Workflows webhook)"),
    (ChatKind.discord.value, "Discord"),
    (ChatKind.mattermost.value, "Mattermost"),
    (ChatKind.json.value, "Generic JSON"),
)
_MATTERMOST = re.compile(r"^(?P<prefix>(?:/[^/]+)*?)/hooks/(?P<token>[A-Za-z0-9]+)/?$")
_DISCORD_HOSTS = {"discord.com", "discordapp.com"}
_DISCORD = re.compile(r"^/api/webhooks/(?P<id>[0-9]+)/(?P<token>[A-Za-z0-9_-]+)/?$")
_WORKFLOWS = re.compile(
    r"^(?P<pa>/powerautomate/automations/direct)?/workflows/(?P<id>[A-Za-z0-9_-]+)"
    r"/triggers/manual/paths/invoke/?$"
)


def as_kind(value: str | None) -> ChatKind:
    """``value`` as a kind (``None`` or ``""``: the Slack-compatible default)."""
    raw = (value or "").strip().lower()
    if not raw:
        return DEFAULT_KIND
    try:
        return ChatKind(raw)
    except ValueError:
        choices = ", ".join(k.value for k in ChatKind)
        raise Invalid(f"must be one of {choices}, not {value!r}", field="webhook_kind") from None


def target_of(kind: ChatKind | str, url: str) -> str:
    """The outbox's target string for a kind and URL (the Slack kind keeps the bare URL)."""
    k = as_kind(kind)
    return url if k is ChatKind.slack else f"{k.value}+{url}"


def split_target(target: str) -> tuple[ChatKind, str]:
    """The kind and URL of an outbox target (a bare URL: Slack-compatible)."""
    head, sep, rest = target.partition("+")
    if sep and rest.startswith(("http://", "https://")) and head in {k.value for k in ChatKind}:
        return ChatKind(head), rest
    return ChatKind.slack, target


def check_url(kind: ChatKind | str, url: str) -> None:
    """Refuse a URL that cannot be of this kind (:class:`Invalid` on ``webhook_url``)."""
    apprise_url(as_kind(kind), url, key="check", timeout=10)


def apprise_url(kind: ChatKind, url: str, *, key: str, timeout: float) -> str:
    """The apprise URL that sends to ``url`` as ``kind`` (see the module's table)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Invalid("must be an http:// or https:// URL with a host", field="webhook_url")
    secure = parts.scheme == "https"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{parts.port}" if parts.port else host
    seconds = f"{max(timeout, 0.1):g}"
    common = {"redirect": "no", "cto": seconds, "rto": seconds, "verify": "yes"}
    query = parse_qsl(parts.query, keep_blank_values=True)
    if kind in {ChatKind.slack, ChatKind.json}:
        params = dict(common)
        params["format"] = "text"
        params["+Idempotency-Key"] = key
        if kind is ChatKind.slack:  # {"text": …} only: drop apprise's other fields
            params.update({":message": "text", ":title": "", ":version": "", ":attachments": "", ":type": ""})
        # The pasted URL's own query goes on the request as it was (apprise's "-name" arguments).
        params.update({f"-{name}": value for name, value in query})
        path = quote(parts.path or "/", safe="/-._~%")
        return f"{'jsons' if secure else 'json'}://{netloc}{path}?{urlencode(params)}"
    if kind is ChatKind.mattermost:
        found = _MATTERMOST.match(parts.path)
        if not found:
            raise Invalid("a Mattermost webhook URL ends in /hooks/<token>", field="webhook_url")
        prefix = found.group("prefix").strip("/")
        path = f"/{quote(prefix, safe='/')}/" if prefix else "/"
        return f"{'mmosts' if secure else 'mmost'}://{netloc}{path}{found.group('token')}?{urlencode(common)}"
    if kind is ChatKind.discord:
        found = _DISCORD.match(parts.path)
        if parts.hostname.lower() not in _DISCORD_HOSTS or not found:
            raise Invalid(
                "a Discord webhook URL is https://discord.com/api/webhooks/<id>/<token>", field="webhook_url"
            )
        return f"discord://{found.group('id')}/{found.group('token')}/?{urlencode(common)}"
    found = _WORKFLOWS.match(parts.path)
    args = dict(query)
    if not secure or not found or not args.get("sig"):
        raise Invalid(
            "a Teams Workflows webhook URL is https://<host>/workflows/<id>/triggers/manual/paths/"
            "invoke?…&sig=…",
            field="webhook_url",
        )
    params = dict(common)
    params["sig"] = args["sig"]
    if args.get("api-version"):
        params["api-version"] = args["api-version"]
    if found.group("pa"):
        params["pa"] = "yes"
    return f"workflows://{netloc}/{found.group('id')}/?{urlencode(params)}"
