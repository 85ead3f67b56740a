"""Team channels: each team's weekly digest and its newly published lessons, posted to Slack.

The worker's ``slack-channel-posts`` job (every pass) first queues what is due — once per
``dedupe_key`` (``digest:team:4:2026-11-29``, ``lesson:12:team:4``), so passes, restarts and
second workers post nothing twice — then posts what is queued with ``chat.postMessage``,
retrying a refused post with backoff and giving up (``dead``, with the reason) after
:data:`MAX_ATTEMPTS`.

What is posted is what a **plain member** of the team may see
(:func:`~lessonloop.access.policy.member_view`): the digest is built as that member, and a lesson
is posted only when such a member may read it, with its title and what was learned (never the
failures behind it, which may be private). The channel is the team's, so anything a lead or
an involved person alone may see never reaches it.
"""

from __future__ import annotations

import datetime as dt

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.access.policy import can_see_lesson, member_view
from lessonloop.followthrough.digests import build_team_digest, last_week_ending
from lessonloop.integrations.slack.blocks import escape, link
from lessonloop.integrations.slack.client import is_configured, web_client
from lessonloop.integrations.slack.models import PostStatus, SlackChannelPost, SlackTeamChannel
from lessonloop.lessons.models import Lesson
from lessonloop.worker.scheduler import JobContext, job

MAX_ATTEMPTS = 8
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=6)


def _queue(session: Session, *, key: str, team_id: int, kind: str, text: str, now: dt.datetime) -> bool:
    if session.scalar(select(SlackChannelPost.id).where(SlackChannelPost.dedupe_key == key)) is not None:
        return False
    post = SlackChannelPost(
        dedupe_key=key, team_id=team_id, kind=kind, text=text[:39000], next_attempt_at=now, last_error=""
    )
    try:
        with session.begin_nested():  # a second worker may queue the same key first
            session.add(post)
            session.flush()
    except IntegrityError:
        return False
    return True


def queue_posts(
    session: Session, *, now: dt.datetime, catch_up_days: int, base_url: str = "", viewer: Actor
) -> int:
    """Queue last week's digest and the lessons published since ``catch_up_days`` ago (and since
    the channel was set: a new channel does not get the back catalogue) for every team with a
    channel; returns how many posts are new."""
    require_actor(viewer)
    made = 0
    week_ending = last_week_ending(now.date())
    since = now - dt.timedelta(days=catch_up_days)
    for row in session.scalars(select(SlackTeamChannel).order_by(SlackTeamChannel.team_id)):
        team = row.team
        member = member_view(team.id)
        if week_ending >= row.created_at.date() - dt.timedelta(days=7):
            digest = build_team_digest(session, team, week_ending=week_ending, viewer=member)
            text = f"*{escape(digest.subject)}*\n{escape(digest.markdown)}"
            made += _queue(
                session,
                key=f"digest:team:{team.id}:{week_ending.isoformat()}",
                team_id=team.id,
                kind="weekly-digest",
                text=text,
                now=now,
            )
        start = max(since, row.created_at)
        lessons = session.scalars(
            select(Lesson).where(
                Lesson.published_at.is_not(None),
                Lesson.published_at >= start,
                Lesson.retracted_at.is_(None),
            )
        )
        for lesson in lessons:
            if team.id not in {t.id for t in lesson.audience} or not can_see_lesson(member, lesson):
                continue
            text = (
                f"*New lesson: {link(base_url, f'/lessons/{lesson.id}', lesson.title)}*\n"
                f"{escape(lesson.learned)}"
                + (f"\n_What changed:_ {escape(lesson.changed)}" if lesson.changed else "")
            )
            made += _queue(
                session,
                key=f"lesson:{lesson.id}:team:{team.id}",
                team_id=team.id,
                kind="lesson",
                text=text,
                now=now,
            )
    return made


def send_due_posts(
    session: Session, client: WebClient, *, now: dt.datetime, viewer: Actor
) -> tuple[int, int]:
    """Post every queued post that is due; returns (sent, failed). A post whose team no longer
    has a channel ends ``dead`` with that reason."""
    require_actor(viewer)
    sent = failed = 0
    due = session.scalars(
        select(SlackChannelPost)
        .where(SlackChannelPost.status == PostStatus.pending, SlackChannelPost.next_attempt_at <= now)
        .order_by(SlackChannelPost.id)
    )
    for post in list(due):
        channel = session.scalar(
            select(SlackTeamChannel.channel_id).where(SlackTeamChannel.team_id == post.team_id)
        )
        if channel is None:
            post.status, post.last_error = PostStatus.dead, "the team no longer has a Slack channel"
            continue
        post.attempts += 1
        try:
            client.chat_postMessage(channel=channel, text=post.text, mrkdwn=True, unfurl_links=False)
        except SlackApiError as exc:
            error = exc.response.get("error", "error") if exc.response is not None else "error"
            _failed(post, f"slack: {error}", now)
            failed += 1
        except OSError as exc:
            _failed(post, f"{type(exc).__name__}: {exc}", now)
            failed += 1
        else:
            post.status, post.sent_at, post.last_error = PostStatus.sent, now, ""
            sent += 1
    session.flush()
    return sent, failed


def _failed(post: SlackChannelPost, error: str, now: dt.datetime) -> None:
    post.last_error = error[:2000]
    if post.attempts >= MAX_ATTEMPTS:
        post.status = PostStatus.dead
    else:
        post.next_attempt_at = now + min(RETRY_BASE * 2 ** (post.attempts - 1), RETRY_CAP)


@job("slack-channel-posts", description="Post each team's weekly digest and new lessons to its Slack channel")
def slack_channel_posts(ctx: JobContext) -> str:
    if not is_configured(ctx.settings):
        return "Slack is not configured"
    queued = queue_posts(
        ctx.session,
        now=ctx.now,
        catch_up_days=ctx.config.catch_up_days,
        base_url=ctx.settings.slack_public_url,
        viewer=ctx.actor,
    )
    sent, failed = send_due_posts(ctx.session, web_client(ctx.settings), now=ctx.now, viewer=ctx.actor)
    return f"{queued} queued, {sent} posted, {failed} failed"
