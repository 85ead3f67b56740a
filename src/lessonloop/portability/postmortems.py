"""Import public post-mortems (JSON Lines) as observed failures.

One line, one failure::

    {"id": "danluu-f2ad…", "title": "…", "text": "…", "company": "Cloudflare", "url": "https://…",
     "categories": ["Config Errors"], "date": "2022-06-21", "source": "danluu/post-mortems",
     "extra": {…}}

* ``id`` → ``external_id`` (required string); a failure with that external id already in the
  workspace, or earlier in the same file, is skipped, so importing twice creates nothing new;
* ``title`` (required string; longer than 300 characters is cut with "…"), ``text`` →
  ``observation``, ``categories`` → labels, ``company``, ``url``, ``source`` (default
  ``public-postmortems``);
* ``date`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ISO time; a partial date is its first day)
  → ``occurred_at`` and ``detected_at``. When ``date`` is null the incident time is unknown:
  ``occurred_at`` stays empty and ``detected_at`` is the time of the import (when this
  workspace learned of it);
* ``kind`` (optional, one of the failure kinds) else ``other``: incident cause labels such as
  "Config Errors" say what broke, not which team failure pattern it was, so they stay labels;
* severity ``medium``, visibility ``org`` (the reports are public), status ``observed``;
  ``extra`` must be an object or null and is not stored.

Everything runs in the caller's transaction through :class:`~lessonloop.portability.bulk.BulkLoader`;
a malformed line raises :class:`~lessonloop.portability.lines.LineError` and the caller rolls the
whole import back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict
from lessonloop.failures.models import Failure, FailureKind, FailureLabel, FailureStatus, Severity, Visibility
from lessonloop.failures.service import clean_labels
from lessonloop.portability.bulk import BATCH_SIZE, BulkLoader, Row, table_of
from lessonloop.portability.lines import LineError, Progress, parse_partial_date, read_lines, type_name
from lessonloop.portability.workspace import ImportResult

FORMAT = "public-postmortems"
DEFAULT_SOURCE = "public-postmortems"
TITLE_MAX = 300
_KINDS = {k.value for k in FailureKind}


@dataclass
class Postmortem:
    line: int
    external_id: str
    title: str
    observation: str
    labels: list[str]
    occurred_at: dt.datetime | None
    kind: str
    company: str | None
    url: str | None
    source: str


def _string(line: int, data: dict[str, Any], key: str, *, max_len: int | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineError(line, f"must be a string, got {type_name(value)}", field=key)
    value = value.strip()
    if max_len is not None and len(value) > max_len:
        raise LineError(line, f"is longer than {max_len} characters", field=key)
    return value or None


def parse_postmortem(line: int, data: dict[str, Any]) -> Postmortem:
    """Validate one decoded line; raises :class:`LineError` naming the field at fault."""
    external_id = _string(line, data, "id", max_len=200)
    if external_id is None:
        raise LineError(line, "is required", field="id")
    title = _string(line, data, "title")
    if title is None:
        raise LineError(line, "is required", field="title")
    title = " ".join(title.split())
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    categories = data.get("categories")
    if categories is None:
        categories = []
    elif not isinstance(categories, list):
        raise LineError(line, f"must be a list of strings, got {type_name(categories)}", field="categories")
    for index, item in enumerate(categories):
        if not isinstance(item, str):
            raise LineError(line, f"must be a string, got {type_name(item)}", field=f"categories[{index}]")
    raw_date = _string(line, data, "date")
    occurred_at = None
    if raw_date is not None:
        try:
            occurred_at = parse_partial_date(raw_date)
        except ValueError:
            raise LineError(
                line, f"is not a date (YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601): {raw_date!r}", field="date"
            ) from None
    kind = _string(line, data, "kind") or FailureKind.other.value
    if kind not in _KINDS:
        raise LineError(line, f"must be one of: {', '.join(sorted(_KINDS))} (got {kind!r})", field="kind")
    extra = data.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise LineError(line, f"must be an object, got {type_name(extra)}", field="extra")
    return Postmortem(
        line=line,
        external_id=external_id,
        title=title,
        observation=_string(line, data, "text") or "",
        labels=clean_labels(categories),
        occurred_at=occurred_at,
        kind=kind,
        company=_string(line, data, "company", max_len=200),
        url=_string(line, data, "url", max_len=2000),
        source=_string(line, data, "source", max_len=120) or DEFAULT_SOURCE,
    )


_SEVERITY = Severity.medium.value
_VISIBILITY = Visibility.org.value
_STATUS = FailureStatus.observed.value


def failure_row(pm: Postmortem, failure_id: int, now: dt.datetime) -> Row:
    """Every column of the failures table, as :func:`lessonloop.failures.service.log_failure` sets it."""
    return {
        "id": failure_id,
        "external_id": pm.external_id,
        "title": pm.title,
        "observation": pm.observation,
        "kind": pm.kind,
        "severity": _SEVERITY,
        "visibility": _VISIBILITY,
        "status": _STATUS,
        "occurred_at": pm.occurred_at,
        "detected_at": pm.occurred_at or now,
        "team_id": None,
        "reporter_id": None,
        "impact": "",
        "impact_value": None,
        "impact_unit": None,
        "source": pm.source,
        "company": pm.company,
        "url": pm.url,
        "repeat_of_id": None,
        "created_at": now,
        "updated_at": now,
    }


def import_public_postmortems(
    session: Session,
    stream: Iterable[bytes],
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Create one observed failure per new line of ``stream``; skip known external ids."""
    loader = BulkLoader(session, actor=str(session.info.get("actor") or "system"), batch_size=batch_size)
    known: set[str] = set(
        loader.conn.scalars(select(Failure.external_id).where(Failure.external_id.is_not(None)))
    )
    result = ImportResult(format=FORMAT)

    def write(batch: list[Postmortem]) -> None:
        ids = loader.allocate_ids(Failure, len(batch))
        rows = [failure_row(pm, fid, loader.now) for pm, fid in zip(batch, ids, strict=True)]
        loader.add(Failure, rows, extras=[{"labels": pm.labels} for pm in batch])
        loader.link(
            table_of(FailureLabel),
            [
                {"failure_id": fid, "label": label}
                for pm, fid in zip(batch, ids, strict=True)
                for label in pm.labels
            ],
        )
        result.created += len(batch)

    pending: list[Postmortem] = []
    try:
        with loader.pipelined():  # the database writes one batch while the next is read
            for line, data in read_lines(stream, progress):
                pm = parse_postmortem(line, data)
                if pm.external_id in known:
                    result.skipped += 1
                    continue
                known.add(pm.external_id)
                pending.append(pm)
                if len(pending) >= batch_size:
                    write(pending)
                    pending = []
            if pending:
                write(pending)
    except IntegrityError as exc:  # e.g. another import of the same file committed meanwhile
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise Conflict(
            f"another write got in the way ({first}); nothing was imported: run the import again",
            field="file",
        ) from None
    result.by_type = {"failure": result.created} if result.created else {}
    return result
