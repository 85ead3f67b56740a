"""The Slack app itself: slack_bolt in HTTP mode, one endpoint for every request from Slack.

Bolt verifies each request's signature (``X-Slack-Signature``, HMAC-SHA256 of the body with the
signing secret) and refuses a stale ``X-Slack-Request-Timestamp`` (over five minutes) with 401
before any listener runs. ``process_before_response``: the listener's work is committed before
Slack gets its answer, so an answered modal never shows a record that is not there yet.

Everything a Slack user does, they do as their **linked person** (``links.py``): the services are
called with that person's :class:`~lessonloop.access.viewer.Viewer`, and the unit of work names
their handle, so the history log shows the person. An unlinked Slack user is told how to link
and nothing else happens. A refusal from the access policy comes back as a plain sentence.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import SystemActor
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.service import (
    answer_not_yet,
    complete_action,
    get_workable_action,
    reschedule_action,
)
from lessonloop.errors import InvalidFields, LessonloopError, NotFound
from lessonloop.experiments.service import experiment_verdict, get_workable_experiment, record_observation
from lessonloop.failures.service import log_failure
from lessonloop.integrations.slack import blocks
from lessonloop.integrations.slack.client import open_dm, web_client
from lessonloop.integrations.slack.links import person_for_slack_user, redeem_link_code, unlink
from lessonloop.people.models import Person, Team
from lessonloop.settings import Settings
from lessonloop.signals.similar import similar_failures
from lessonloop.store.engine import Database
from lessonloop.worker.checks import record_check

log = logging.getLogger(__name__)

COMMAND = "/lessonloop"
HEAD_MAX = 1500  # characters of a prompt's text kept when its buttons are replaced
SLACK = SystemActor("slack")  # only to find who a Slack user is; all else is done as that person

NOT_LINKED = (
    "Your Slack account is not linked to a lessonloop person yet, so nothing was done. "
    "Open your account page in lessonloop, choose “Link Slack”, and send the code it shows "
    "with `/lessonloop link CODE`."
)
HELP = (
    "`/lessonloop log [title]` — log a failure\n"
    "`/lessonloop link CODE` — link your Slack account (the code is on your lessonloop account page)\n"
    "`/lessonloop unlink` — unlink it"
)


class NotLinked(Exception):
    """The Slack user has no linked person."""


@dataclass
class Acting:
    session: Session
    person: Person
    viewer: Viewer


def refusal(exc: LessonloopError) -> str:
    """A refusal as a sentence; a record one may not see is named as such, nothing more."""
    if isinstance(exc, NotFound):
        return f"You may not do that: {exc.message} that you may see."
    return f"You may not do that: {exc.message}"


class SlackApp:
    """The Bolt app and what its listeners need: the database and the public address."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.bolt = App(
            signing_secret=settings.slack_signing_secret,
            client=web_client(settings),
            token_verification_enabled=False,  # no auth.test at start-up: the app starts offline
            process_before_response=True,
            raise_error_for_unhandled_request=False,
        )
        self._register()

    # --- acting as the linked person ----------------------------------------------------------

    @contextmanager
    def acting(self, slack_user_id: str) -> Iterator[Acting]:
        """One unit of work as the person linked to ``slack_user_id`` (``NotLinked`` if none)."""
        with self.db.unit(actor="slack") as session:
            person = person_for_slack_user(session, slack_user_id, viewer=SLACK)
            if person is None:
                raise NotLinked(slack_user_id)
            session.info["actor"] = person.handle  # the history log names the person
            yield Acting(session, person, viewer_for(session, person))

    def base_url(self) -> str:
        return self.settings.slack_public_url

    # --- listeners ----------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.bolt
        app.command(COMMAND)(self.on_command)
        app.shortcut(blocks.SHORTCUT_CALLBACK)(self.on_shortcut)
        app.view(blocks.LOG_CALLBACK)(self.on_log_submitted)
        app.view(blocks.DONE_CALLBACK)(self.on_done_submitted)
        app.view(blocks.OBSERVE_CALLBACK)(self.on_observe_submitted)
        app.action(blocks.DONE)(self.on_done)
        app.action(blocks.SNOOZE)(self.on_snooze)
        app.action(blocks.NOT_YET)(self.on_not_yet)
        app.action(blocks.OBSERVE)(self.on_observe)
        app.action(re.compile(f"^{blocks.WORKED_PREFIX}(yes|partly|no)$"))(self.on_worked)

    def on_command(self, ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        user = command["user_id"]
        verb = verb.lower()
        if verb == "link":
            ack(self._link(user, rest.strip()))
        elif verb == "unlink":
            ack(self._unlink(user))
        elif verb in ("log", ""):
            try:
                with self.acting(user) as me:
                    teams = _teams_of(me)
            except NotLinked:
                ack(NOT_LINKED)
                return
            ack()
            metadata = {"channel": command.get("channel_id", ""), "base": str(context.get("public_base", ""))}
            client.views_open(
                trigger_id=command["trigger_id"],
                view=blocks.log_modal(teams=teams, title=rest.strip(), metadata=metadata),
            )
        else:
            ack(HELP)

    def _link(self, user: str, code: str) -> str:
        if not code:
            return "Send the code from your lessonloop account page: `/lessonloop link CODE`."
        try:
            with self.db.unit(actor="slack") as session:
                identity = redeem_link_code(session, code, slack_user_id=user, viewer=SLACK)
                session.info["actor"] = identity.person.handle
                name = identity.person.name
        except LessonloopError as exc:
            return f"Not linked: {blocks.escape(exc.message)}"
        return f"Linked: in lessonloop you are {blocks.escape(name)}. Reminders can now come here."

    def _unlink(self, user: str) -> str:
        try:
            with self.acting(user) as me:
                unlink(me.session, me.person.id, viewer=me.viewer)
        except NotLinked:
            return "Your Slack account was not linked."
        return "Unlinked: lessonloop sends you nothing here any more and you can no longer act from Slack."

    def on_shortcut(
        self, ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        user = shortcut["user"]["id"]
        try:
            with self.acting(user) as me:
                teams = _teams_of(me)
        except NotLinked:
            client.chat_postEphemeral(channel=shortcut["channel"]["id"], user=user, text=NOT_LINKED)
            return
        message = shortcut.get("message") or {}
        metadata = {"channel": shortcut["channel"]["id"], "base": str(context.get("public_base", ""))}
        client.views_open(
            trigger_id=shortcut["trigger_id"],
            view=blocks.log_modal(teams=teams, description=str(message.get("text", "")), metadata=metadata),
        )

    def on_log_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        user = body["user"]["id"]
        values = blocks.read_log_values(view["state"]["values"])
        metadata = _metadata(view)
        try:
            with self.acting(user) as me:
                failure = log_failure(me.session, **values, viewer=me.viewer)
                # "Have we seen this before?" as this person may see things: nothing private leaks.
                matches = similar_failures(
                    me.session,
                    title=failure.title,
                    text=failure.observation,
                    labels=failure.labels,
                    exclude_ids=[failure.id],
                    viewer=me.viewer,
                )
                text, reply = blocks.logged_reply(
                    failure_id=failure.id,
                    title=failure.title,
                    matches=matches,
                    base_url=str(metadata.get("base") or self.base_url()),
                )
        except NotLinked:
            ack(response_action="errors", errors={"title": NOT_LINKED[:150]})
            return
        except LessonloopError as exc:
            ack(response_action="errors", errors=_modal_errors(exc, blocks.LOG_FIELD_BLOCKS, "title"))
            return
        ack()
        client.chat_postMessage(channel=open_dm(client, user), text=text, blocks=reply)

    # --- answering prompts --------------------------------------------------------------------

    def _refuse(self, client: WebClient, body: dict[str, Any], text: str) -> None:
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        if not channel:
            channel = open_dm(client, body["user"]["id"])
        client.chat_postMessage(channel=channel, text=blocks.escape(text))  # messages may quote input

    def _settle(self, client: WebClient, where: dict[str, Any], outcome: str) -> None:
        """Replace the prompt's buttons with what was done (kept: the prompt's own text)."""
        if not (where.get("channel") and where.get("ts")):
            return
        head = [blocks.section(str(where["head"]))] if where.get("head") else []
        client.chat_update(
            channel=where["channel"], ts=where["ts"], text=outcome, blocks=[*head, blocks.section(outcome)]
        )

    def _where(self, body: dict[str, Any]) -> dict[str, Any]:
        """The prompt's message: where it is and its text (kept short: a modal's
        ``private_metadata`` carries it, and Slack allows 3,000 characters there)."""
        container = body.get("container") or {}
        message = body.get("message") or {}
        sections = [b for b in message.get("blocks", []) if b.get("type") == "section"]
        head = str((sections[0].get("text") or {}).get("text", "")) if sections else ""
        return {
            "channel": container.get("channel_id", ""),
            "ts": container.get("message_ts") or message.get("ts", ""),
            "head": head[:HEAD_MAX],
        }

    def on_done(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        try:
            with self.acting(user) as me:
                target = get_workable_action(me.session, action["value"], viewer=me.viewer)
                title = target.title
                action_id = target.id
        except NotLinked:
            self._refuse(client, body, NOT_LINKED)
            return
        except LessonloopError as exc:
            self._refuse(client, body, refusal(exc))
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.evidence_modal(action_id=action_id, title=title, metadata=self._where(body)),
        )

    def on_done_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        metadata = _metadata(view)
        evidence = view["state"]["values"].get("evidence", {}).get("value", {}).get("value") or ""
        try:
            with self.acting(body["user"]["id"]) as me:
                done = complete_action(me.session, metadata["action_id"], evidence=evidence, viewer=me.viewer)
                outcome = f"Done: action #{done.id} is marked done with your evidence."
        except NotLinked:
            ack(response_action="errors", errors={"evidence": NOT_LINKED[:150]})
            return
        except LessonloopError as exc:
            message = exc.message if exc.field == "evidence" else refusal(exc)
            ack(response_action="errors", errors={"evidence": message})
            return
        ack()
        self._settle(client, metadata, outcome)

    def on_snooze(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        action_id = str(action.get("block_id", "")).removeprefix("reminder-")
        chosen = action.get("selected_date") or ""
        try:
            with self.acting(body["user"]["id"]) as me:
                moved = reschedule_action(me.session, action_id, due_date=chosen, viewer=me.viewer)
                outcome = (
                    f"Snoozed: action #{moved.id} is now due {moved.due_date.isoformat()} "
                    f"(review on {moved.review_date.isoformat()})."
                )
        except NotLinked:
            self._refuse(client, body, NOT_LINKED)
            return
        except LessonloopError as exc:
            self._refuse(client, body, refusal(exc))
            return
        self._settle(client, self._where(body), outcome)

    def on_not_yet(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            with self.acting(body["user"]["id"]) as me:
                target = answer_not_yet(me.session, action["value"], viewer=me.viewer)
                text = f"Not yet: action #{target.id} stays open and due {target.due_date.isoformat()}; the next reminder comes as usual."
        except NotLinked:
            text = NOT_LINKED
        except LessonloopError as exc:
            text = refusal(exc)
        self._refuse(client, body, text)

    def on_worked(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        answer = str(action["action_id"]).removeprefix(blocks.WORKED_PREFIX)
        try:
            with self.acting(body["user"]["id"]) as me:
                check = record_check(me.session, action["value"], worked=answer, viewer=me.viewer)
                outcome = f"Thank you: for action #{check.action_id} you answered “{check.worked}”."
        except NotLinked:
            self._refuse(client, body, NOT_LINKED)
            return
        except LessonloopError as exc:
            self._refuse(client, body, refusal(exc))
            return
        self._settle(client, self._where(body), outcome)

    def on_observe(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            with self.acting(body["user"]["id"]) as me:
                experiment = get_workable_experiment(me.session, action["value"], viewer=me.viewer)
                experiment_id, metric = experiment.id, experiment.metric
        except NotLinked:
            self._refuse(client, body, NOT_LINKED)
            return
        except LessonloopError as exc:
            self._refuse(client, body, refusal(exc))
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.observe_modal(experiment_id=experiment_id, metric=metric, metadata=self._where(body)),
        )

    def on_observe_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        metadata = _metadata(view)
        state = view["state"]["values"]
        value = state.get("value", {}).get("value", {}).get("value") or ""
        note = state.get("note", {}).get("value", {}).get("value") or ""
        try:
            with self.acting(body["user"]["id"]) as me:
                experiment = get_workable_experiment(me.session, metadata["experiment_id"], viewer=me.viewer)
                observed = record_observation(
                    me.session, experiment.id, value=value, note=note, viewer=me.viewer
                )
                verdict = experiment_verdict(experiment)
                outcome = (
                    f"Recorded {observed.value:g} for experiment #{experiment.id}: "
                    f"the verdict is now *{verdict}*."
                )
        except NotLinked:
            ack(response_action="errors", errors={"value": NOT_LINKED[:150]})
            return
        except LessonloopError as exc:
            block = "note" if exc.field == "note" else "value"
            message = exc.message if exc.field in ("value", "note") else refusal(exc)
            ack(response_action="errors", errors={block: message})
            return
        ack()
        self._settle(client, metadata, outcome)


def _teams_of(me: Acting) -> list[tuple[int, str]]:
    """The teams the person belongs to, for the modal's team choice."""
    ids = me.viewer.teams()
    if not ids:
        return []
    return [
        (t.id, t.name) for t in me.session.scalars(select(Team).where(Team.id.in_(ids)).order_by(Team.name))
    ]


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _modal_errors(exc: LessonloopError, by_field: dict[str, str], default: str) -> dict[str, str]:
    """A service's refusal as ``response_action: errors`` (every field's, for InvalidFields)."""
    found = exc.errors if isinstance(exc, InvalidFields) and exc.errors else {exc.field or "": exc.message}
    out: dict[str, str] = {}
    for name, message in found.items():
        block = by_field.get(name or "", default)
        out.setdefault(block, message if block != default or name == default else f"{name}: {message}")
    return out
