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

The whole file is read and checked first, into a temporary file: a malformed line raises
:class:`~lessonloop.portability.lines.LineError` before anything is written. Then the records are
written through :class:`~lessonloop.portability.bulk.BulkLoader` in chunks of ``chunk_size``,
each committed on its own, so that other writers (the API) get the SQLite write lock between
chunks instead of waiting for the whole import. A chunk holds whole records (failure, labels,
history, search document): a reader, or an import killed half-way, never sees half a record, and
running the import again adds what is missing (known external ids are skipped). A chunk that
collides with someone else's write (their failure took an external id of the chunk meanwhile, or
SQLite stayed locked) is rolled back and written again without the ids now taken: an import does
not abort because someone else wrote.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.errors import Conflict, Invalid
from lessonloop.failures.models import Failure, FailureKind, FailureLabel, FailureStatus, Severity, Visibility
from lessonloop.failures.service import clean_labels
from lessonloop.limits import SHORT_TEXT_MAX, SOURCE_MAX, TITLE_MAX, URL_MAX
from lessonloop.portability.bulk import BATCH_SIZE, BulkLoader, Row, table_of
from lessonloop.portability.lines import LineError, Progress, parse_partial_date, read_lines, type_name
from lessonloop.portability.workspace import ImportResult

FORMAT = "public-postmortems"
DEFAULT_SOURCE = "public-postmortems"
#: Records per commit. At a few thousand records a second, another writer waits well under a
#: second for its turn while an import runs; fewer would cost the import more commits and pauses.
CHUNK_SIZE = 2000
#: How often a chunk is written again after colliding with another writer before the import stops.
ATTEMPTS = 3
_SPOOL_BLOCK = 256  # records per pickled block of the checked file (and per progress report)
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
    external_id = _string(line, data, "id", max_len=SHORT_TEXT_MAX)
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
        except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
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
        company=_string(line, data, "company", max_len=SHORT_TEXT_MAX),
        url=_string(line, data, "url", max_len=URL_MAX),
        source=_string(line, data, "source", max_len=SOURCE_MAX) or DEFAULT_SOURCE,
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
    chunk_size: int = CHUNK_SIZE,
    viewer: Actor,
) -> ImportResult:
    """Create one observed failure per new line of ``stream``; skip known external ids.

    Commits ``session`` after every ``chunk_size`` records (see the module's description)."""
    require_actor(viewer)
    if chunk_size < 1:
        raise Invalid("must be at least 1", field="chunk_size")
    loader = BulkLoader(session, actor=str(session.info.get("actor") or "system"), batch_size=batch_size)
    known: set[str] = set(
        loader.conn.scalars(select(Failure.external_id).where(Failure.external_id.is_not(None)))
    )
    result = ImportResult(format=FORMAT)
    with _spooled() as spool:
        result.skipped = _check(stream, set(known), spool)  # raises LineError: nothing written yet
        try:
            with loader.pipelined():  # the database writes one batch while the next is prepared
                chunk: list[Postmortem] = []
                for nbytes, block in _blocks(spool):
                    for pm in block:
                        chunk.append(pm)
                        if len(chunk) == chunk_size:
                            _write_chunk(loader, chunk, known, result)
                            chunk = []
                    if progress is not None:
                        progress(nbytes)
                if chunk:
                    _write_chunk(loader, chunk, known, result)
        except DataError as exc:  # a value the database refuses that the checks above let through
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise Invalid(
                f"the file holds a value the database refuses: {first}{_kept(result)}", field="file"
            ) from None
        except IntegrityError as exc:  # still colliding after ATTEMPTS (not another writer, then)
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise Conflict(f"another write got in the way ({first}){_kept(result)}", field="file") from None
    result.by_type = {"failure": result.created} if result.created else {}
    return result


def _kept(result: ImportResult) -> str:
    if not result.created:
        return "; nothing was imported: run the import again"
    return (
        f"; the first {result.created} records were imported (whole): "
        "run the import again to add the rest, they are skipped"
    )


@contextmanager
def _spooled() -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile(prefix="lessonloop-import-") as spool:
        yield spool


def _check(stream: Iterable[bytes], seen: set[str], spool: IO[bytes]) -> int:
    """Read and check every line; keep the new records in ``spool`` as pickled blocks of
    ``(bytes read, [record fields])``. Returns how many lines were skipped (ids in ``seen``, which
    is updated: an id twice in one file is imported once)."""
    skipped = 0
    read = [0]
    block: list[tuple[Any, ...]] = []

    def flush() -> None:
        pickle.dump((read[0], block), spool, protocol=pickle.HIGHEST_PROTOCOL)
        read[0] = 0
        block.clear()

    for line, data in read_lines(stream, lambda n: read.__setitem__(0, read[0] + n)):
        pm = parse_postmortem(line, data)
        if pm.external_id in seen:
            skipped += 1
            continue
        seen.add(pm.external_id)
        block.append(tuple(vars(pm).values()))
        if len(block) == _SPOOL_BLOCK:
            flush()
    flush()  # the rest, and the bytes read after the last block (blank lines, skipped ones)
    spool.seek(0)
    return skipped


def _blocks(spool: IO[bytes]) -> Iterator[tuple[int, list[Postmortem]]]:
    while True:
        try:
            nbytes, fields = pickle.load(spool)  # our own file, written by _check
        except EOFError:
            return
        yield nbytes, [Postmortem(*f) for f in fields]


def _write_chunk(loader: BulkLoader, chunk: list[Postmortem], known: set[str], result: ImportResult) -> None:
    """Write ``chunk`` and commit it; after a collision with another writer, roll it back and
    write it again without the external ids taken meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        fresh = [pm for pm in chunk if pm.external_id not in known]
        try:
            _write(loader, fresh)
            loader.commit()
        except (IntegrityError, OperationalError) as exc:
            if attempt == ATTEMPTS or not _collision(exc):
                raise
            loader.restart()
            known.update(
                loader.conn.scalars(
                    select(Failure.external_id).where(
                        Failure.external_id.in_([pm.external_id for pm in fresh])
                    )
                )
            )
            continue
        result.created += len(fresh)
        result.skipped += len(chunk) - len(fresh)
        return


def _collision(exc: IntegrityError | OperationalError) -> bool:
    """Another writer's doing: a unique key taken meanwhile, or SQLite still locked after its
    busy timeout (store.engine.BUSY_TIMEOUT_S)."""
    if isinstance(exc, IntegrityError):
        return True
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def _write(loader: BulkLoader, records: list[Postmortem]) -> None:
    """Queue the rows of ``records`` in batches (failures with history and search documents, then
    their labels), on ids taken in one go: on SQLite that first write takes the write lock."""
    if not records:
        return
    ids = loader.allocate_ids(Failure, len(records))
    size = loader.batch_size
    for start in range(0, len(records), size):
        batch, batch_ids = records[start : start + size], ids[start : start + size]
        rows = [failure_row(pm, fid, loader.now) for pm, fid in zip(batch, batch_ids, strict=True)]
        loader.add(Failure, rows, extras=[{"labels": pm.labels} for pm in batch])
        loader.link(
            table_of(FailureLabel),
            [
                {"failure_id": fid, "label": label}
                for pm, fid in zip(batch, batch_ids, strict=True)
                for label in pm.labels
            ],
        )
