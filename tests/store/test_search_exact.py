"""Search is exact: its top results are a full ranking of every match the viewer may see.

The corpus is built so that the old bound (only the newest 500 matches of each kind were ranked)
gives a different answer: the best matches are the *oldest* failures, and some of the best are
hidden from the viewer. The reference ranking scores every matching document with its own SQL
(no limit, no access filter), applies the policy's Python predicates to the loaded records and
sorts in Python; ``search()`` must return exactly its head, page by page.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.access.policy import (
    can_see_failure,
    can_see_lesson,
    visible_actions_clause,
    visible_assumptions_clause,
    visible_reviews_clause,
)
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.service import create_lesson
from lessonloop.people.service import add_team
from lessonloop.reviews.models import Assumption, Review
from lessonloop.search.service import search
from tests.factories import SYSTEM, failure, reviewed, team_with_people

#: More newer matches than the old bound ranked (500 per kind).
NEWER = 520


def _corpus(session: Session) -> dict[str, Any]:
    people = team_with_people(session)
    payments, other = people["team"], add_team(session, name="Elsewhere", viewer=SYSTEM)
    strong: list[int] = []
    # The oldest failures are the best matches: "zebra" in the title and often in the body.
    # Every other one is private to another team, so ben may not see it.
    for n in range(12):
        hidden = n % 2 == 1
        strong.append(
            failure(
                session,
                title=f"Zebra zebra crossing {n}",
                observation="zebra " * (6 - n % 6) + f"case {n}",
                visibility="private" if hidden else "org",
                team=other if hidden else payments,
            ).id
        )
    # Then many newer, weaker matches ("zebra" once in a longer body), of every visibility.
    for n in range(NEWER):
        failure(
            session,
            title=f"Crossing report {n}",
            observation=f"one zebra seen near gate {n} " + "and nothing else " * (1 + n % 5),
            visibility=("org", "team", "private")[n % 3],
            team=(payments, other)[n % 2],
        )
    lesson = create_lesson(session, title="Zebra zebra zebra", learned="zebra zebra", viewer=SYSTEM)
    session.flush()
    return {"strong": strong, "lesson": lesson.id, "ben": people["ben"]}


def _full_ranking(session: Session, word: str, viewer: Actor) -> list[tuple[str, int]]:
    """Every document matching ``word``, scored by the engine without any bound, kept when the
    policy's Python predicates let ``viewer`` see its record, best first (ties: document id)."""
    if session.get_bind().dialect.name == "sqlite":
        sql = (
            "SELECT kind, record_id, rowid, -bm25(search_fts, 0.0, 0.0, 4.0, 1.0) "
            "FROM search_fts WHERE search_fts MATCH :q"
        )
        q = f'"{word}"'
    else:
        sql = (
            "SELECT kind, record_id, doc_id, ts_rank(tsv, to_tsquery('english', :q), 1) "
            "FROM search_documents WHERE tsv @@ to_tsquery('english', :q)"
        )
        q = word
    rows = session.execute(text(sql), {"q": q}).all()
    kept = []
    for kind, record_id, doc, score in rows:
        if isinstance(viewer, Viewer):
            if kind == "failure":
                visible = can_see_failure(viewer, session.get_one(Failure, record_id))
            elif kind == "lesson":
                visible = can_see_lesson(viewer, session.get_one(Lesson, record_id))
            else:
                pytest.fail(f"unexpected kind {kind} in this corpus")
            if not visible:
                continue
        kept.append((-float(score), int(doc), kind, int(record_id)))
    return [(kind, rid) for _s, _d, kind, rid in sorted(kept)]


def _ids(hits: list[Any]) -> list[tuple[str, int]]:
    return [(h.kind, h.record_id) for h in hits]


def test_the_top_ten_equal_a_full_ranking_for_a_person_and_a_job(session: Session) -> None:
    corpus = _corpus(session)
    ben = viewer_for(session, corpus["ben"])
    matching_failures = session.scalars(select(Failure.id).where(Failure.title.ilike("%zebra%"))).all()
    assert len(matching_failures) == 12
    every_match = _full_ranking(session, "zebra", SYSTEM)
    # what the old bound ranked: the newest 500 matching failures, whoever asks
    newest_500 = sorted((rid for kind, rid in every_match if kind == "failure"), reverse=True)[:500]
    for viewer in (ben, SYSTEM):
        reference = _full_ranking(session, "zebra", viewer)
        assert len(reference) > NEWER // 3
        top = _ids(search(session, "zebra", limit=10, viewer=viewer))
        assert top == reference[:10]
        # the newest-500 window would have answered differently: the best failures are older
        assert any(rid not in newest_500 for kind, rid in top if kind == "failure")
        # and the next pages continue the same ranking
        second = _ids(search(session, "zebra", limit=10, offset=10, viewer=viewer))
        assert second == reference[10:20]
        last = _ids(search(session, "zebra", limit=10, offset=len(reference) - 3, viewer=viewer))
        assert last == reference[-3:]
    # ben sees none of the hidden strong matches; a job sees them all, at the top
    hidden = set(corpus["strong"][1::2])
    assert not hidden & {rid for _k, rid in _ids(search(session, "zebra", limit=50, viewer=ben))}
    assert hidden <= {rid for _k, rid in _ids(search(session, "zebra", limit=13, viewer=SYSTEM))}


def test_kinds_and_a_viewer_who_sees_little(session: Session) -> None:
    corpus = _corpus(session)
    only_failures = _ids(search(session, "zebra", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert only_failures == [k for k in _full_ranking(session, "zebra", SYSTEM) if k[0] == "failure"][:10]
    assert search(session, "zebra", kinds=["no-such-kind"], viewer=SYSTEM) == []
    # someone in no team sees the org failures and the lesson only: the page is still full and
    # still the head of their full ranking, however many better hidden documents come first
    outsider = Viewer(person_id=corpus["ben"].id + 1000)
    reference = _full_ranking(session, "zebra", outsider)
    assert _ids(search(session, "zebra", limit=40, viewer=outsider)) == reference[:40]
    assert ("lesson", corpus["lesson"]) in reference


def test_every_kind_is_filtered_by_its_own_rule(session: Session) -> None:
    """Reviews, actions and assumptions inherit their failure's visibility; the statement's
    correlated clauses agree with the policy's SQL twins, kind by kind."""
    people = team_with_people(session)
    other = add_team(session, name="Elsewhere", viewer=SYSTEM)
    for k, (visibility, team) in enumerate(
        [("org", people["team"]), ("private", other), ("team", other), ("team", people["team"])] * 2
    ):
        f = failure(session, title=f"Launch slipped {k}", visibility=visibility, team=team)
        reviewed(session, f, root_cause=f"quokka dependency {k}", assumptions=[f"quokka holds {k}"])
    session.flush()
    rules = {
        "review": (Review, visible_reviews_clause),
        "action": (Action, visible_actions_clause),
        "assumption": (Assumption, visible_assumptions_clause),
    }
    for person in (people["ben"], people["ana"]):
        viewer = viewer_for(session, person)
        for word in ("quokka", "dependency"):
            everything = {(h.kind, h.record_id) for h in search(session, word, limit=200, viewer=SYSTEM)}
            allowed = set()
            for kind, (model, clause) in rules.items():
                ids = {rid for k, rid in everything if k == kind}
                seen = session.scalars(select(model.id).where(model.id.in_(ids), clause(viewer, model)))
                allowed |= {(kind, int(i)) for i in seen}
            assert {k for k, _ in everything} >= {"review"}
            found = {(h.kind, h.record_id) for h in search(session, word, limit=200, viewer=viewer)}
            assert found == allowed and len(allowed) < len(everything), (person.handle, word)
