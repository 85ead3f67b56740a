"""“Have we seen this before?”: similar failures and suggested labels, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from lessonloop.cli import common
from lessonloop.cli.main import app
from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.signals.similar import is_cause_label, similar_failures, suggest_labels
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed, team_with_people

ROOT = Path(__file__).resolve().parents[2]

# (external id, title, observation, labels)
CORPUS: list[tuple[str, str, str, list[str]]] = [
    (
        "cfg-1",
        "Bad router config pushed to every edge router",
        "A configuration change to the router rules made all edge routers crash at once.",
        ["Config Errors"],
    ),
    (
        "cfg-2",
        "Load balancer misconfiguration dropped traffic",
        "A config push with a wrong backend pool sent all traffic to a drained pool.",
        ["Config Errors"],
    ),
    (
        "pwr-1",
        "Datacenter lost power during a storm",
        "The utility feed failed and a generator did not start; racks went dark.",
        ["Hardware/Power Failures"],
    ),
    (
        "pwr-2",
        "UPS failure took down a row of racks",
        "A battery fault in the UPS cut power to a row of servers.",
        ["Hardware/Power Failures"],
    ),
    (
        "time-1",
        "Leap second made servers spin",
        "The kernel livelocked when the leap second was inserted; CPU went to 100%.",
        ["Time"],
    ),
    (
        "unk-1",
        "Generator test failed and power dipped",
        "Nobody knows why the generator did not take the load.",
        ["Uncategorized"],
    ),
    (
        "unk-2",
        "Generator maintenance window overran",
        "The generator was offline longer than planned; the power feed held.",
        ["unknown"],
    ),
]


def load(session: Session, rows: Iterable[tuple[str, str, str, list[str]]] = CORPUS) -> dict[str, Failure]:
    """Store records as an import would (title, text, labels, external id): no importer needed."""
    return {
        ext: log_failure(
            session,
            title=title,
            observation=text,
            labels=labels,
            external_id=ext,
            company="Example",
            url=f"https://example.com/{ext}",
            viewer=SYSTEM,
        )
        for ext, title, text, labels in rows
    }


def test_obviously_similar_failure_ranks_first(session: Session) -> None:
    load(session)
    matches = similar_failures(
        session,
        title="Edge routers crashed after a bad config push",
        text="router configuration change",
        viewer=SYSTEM,
    )
    assert matches, "nothing matched"
    assert matches[0].external_id == "cfg-1"
    assert matches[0].score > matches[-1].score
    assert "router" in " ".join(matches[0].matched_terms)
    power = similar_failures(
        session, title="Power failure: the UPS batteries gave out", limit=3, viewer=SYSTEM
    )
    assert power[0].external_id == "pwr-2"
    assert {m.external_id for m in power} >= {"pwr-1", "pwr-2"}


def test_scores_are_best_first_and_limit_is_kept(session: Session) -> None:
    load(session)
    matches = similar_failures(
        session, title="generator power outage in the datacenter", limit=3, viewer=SYSTEM
    )
    assert len(matches) == 3
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert similar_failures(session, title="the of and", viewer=SYSTEM) == []  # stop words only
    assert similar_failures(session, title="zzzqx unheardof", viewer=SYSTEM) == []  # nothing in the index
    assert similar_failures(session, title="router", limit=0, viewer=SYSTEM) == []


def test_exclude_removes_a_failure_and_its_statistics(session: Session) -> None:
    records = load(session)
    query = {"title": "Bad router config pushed to every edge router", "text": CORPUS[0][2]}
    assert similar_failures(session, viewer=SYSTEM, **query)[0].external_id == "cfg-1"
    left_out = similar_failures(session, viewer=SYSTEM, **query, exclude_ids=[records["cfg-1"].id])
    assert "cfg-1" not in {m.external_id for m in left_out}
    assert left_out[0].external_id == "cfg-2"
    everything = similar_failures(
        session, viewer=SYSTEM, **query, exclude_ids=[f.id for f in records.values()]
    )
    assert everything == []


def test_visible_hook_hides_failures_before_ranking(session: Session) -> None:
    load(session)
    hidden = {"cfg-1"}
    matches = similar_failures(
        session,
        title="Edge routers crashed after a bad config push",
        visible=lambda f: f.external_id not in hidden,
        viewer=SYSTEM,
    )
    assert matches and "cfg-1" not in {m.external_id for m in matches}
    labels = suggest_labels(
        session,
        title="bad router config push",
        visible=lambda f: not f.labels[0].startswith("Config"),
        viewer=SYSTEM,
    )
    assert "Config Errors" not in {name for name, _ in labels}


def test_query_labels_raise_failures_that_share_them(session: Session) -> None:
    load(session)
    query = {"title": "Generator did not start when the power failed"}
    plain = [m.external_id for m in similar_failures(session, viewer=SYSTEM, **query)]
    labelled = similar_failures(
        session, viewer=SYSTEM, **query, labels=["Hardware/Power Failures", "Uncategorized"]
    )
    assert labelled[0].external_id in {"pwr-1", "pwr-2"}
    assert set(plain) == {m.external_id for m in labelled}
    text_only = similar_failures(
        session, viewer=SYSTEM, **query, labels=["Hardware/Power Failures"], cause_agreement=False
    )
    assert [m.score for m in text_only] == sorted((m.score for m in text_only), reverse=True)


def test_root_cause_action_and_lessons_are_attached(session: Session) -> None:
    team_with_people(session)
    records = load(session)
    target = records["pwr-1"]
    reviewed(session, target, root_cause="Generator transfer switch never tested under load")
    create_lesson(
        session,
        title="Test the transfer switch every quarter",
        learned="A generator nobody has switched to under load is not a backup.",
        failures=[target.id],
        viewer=SYSTEM,
    )
    matches = similar_failures(
        session, title="The backup generator did not take the load in a power cut", viewer=SYSTEM
    )
    top = matches[0]
    assert top.id == target.id
    assert top.root_cause == "Generator transfer switch never tested under load"
    assert top.primary_action == "Add a dated dependency check to the kickoff checklist"
    assert top.lessons == ("Test the transfer switch every quarter",)
    assert top.labels == ("Hardware/Power Failures",)
    others = [m for m in matches if m.id != target.id]
    assert all(m.root_cause is None and m.primary_action is None and m.lessons == () for m in others)
    as_dict = top.to_dict()
    assert as_dict["external_id"] == "pwr-1" and as_dict["lessons"] == list(top.lessons)


def test_a_review_root_cause_brings_its_failure_in(session: Session) -> None:
    team_with_people(session)
    f = log_failure(
        session, title="Checkout was down for an hour", observation="Customers saw errors.", viewer=SYSTEM
    )
    log_failure(
        session, title="Search results were stale", observation="Indexing lagged behind.", viewer=SYSTEM
    )
    reviewed(session, f, root_cause="Expired TLS certificate on the payment gateway")
    matches = similar_failures(
        session, title="TLS certificate expired", text="the gateway certificate lapsed", viewer=SYSTEM
    )
    assert [m.id for m in matches] == [f.id]


def test_suggest_labels_ignores_uncategorized_and_unknown(session: Session) -> None:
    load(session)
    labels = suggest_labels(session, title="Generator failed and the power went out", k=5, viewer=SYSTEM)
    names = [name for name, _ in labels]
    assert names and names[0] == "Hardware/Power Failures"
    assert not {"uncategorized", "unknown"} & {n.lower() for n in names}
    assert abs(sum(score for _, score in labels) - 1.0) < 1e-9
    assert all(0 < score <= 1 for _, score in labels)
    assert (
        suggest_labels(session, title="Generator failed", k=1, viewer=SYSTEM)[0][0]
        == "Hardware/Power Failures"
    )
    assert not is_cause_label("Uncategorized") and not is_cause_label(" unknown ") and is_cause_label("Time")


def test_suggest_labels_with_only_unlabelled_neighbours_is_empty(session: Session) -> None:
    load(session, [row for row in CORPUS if row[0].startswith("unk")])
    assert similar_failures(session, title="generator", viewer=SYSTEM)  # they do match...
    assert suggest_labels(session, title="generator", viewer=SYSTEM) == []  # ...but never vote


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_db(sqlite_db: Database) -> Iterator[str]:
    with sqlite_db.unit(actor="tester") as session:
        load(session)
    yield sqlite_db.settings.database_url


def run(url: str, *args: str, input: str | None = None) -> Result:
    try:
        result = CliRunner().invoke(app, ["--database-url", url, *args], input=input)
    finally:
        common.reset()
    return result


def test_cli_from_file_writes_one_json_line_per_query(cli_db: str, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    lines = [
        {"id": "cfg-1", "title": CORPUS[0][1], "text": CORPUS[0][2]},  # a stored failure: left out
        {"id": "q-new", "title": "UPS battery fault", "text": "power to the racks was cut"},
        {"id": 7, "title": "", "text": "leap second kernel livelock"},
    ]
    queries.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    result = run(cli_db, "similar", "--from-file", str(queries), "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["query"] for o in out] == ["cfg-1", "q-new", 7]
    for o in out:
        assert set(o) == {"query", "matches"}
        assert 1 <= len(o["matches"]) <= 2
        for m in o["matches"]:
            assert set(m) == {"external_id", "id", "score"}
            assert isinstance(m["id"], int) and isinstance(m["score"], float)
    assert "cfg-1" not in {m["external_id"] for m in out[0]["matches"]}
    assert out[0]["matches"][0]["external_id"] == "cfg-2"
    assert out[1]["matches"][0]["external_id"] == "pwr-2"
    assert out[2]["matches"][0]["external_id"] == "time-1"


def test_cli_from_file_refuses_bad_lines(cli_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "router"}\nnot json\n', encoding="utf-8")
    result = run(cli_db, "similar", "--from-file", str(bad), "--json")
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "Traceback" not in result.output
    assert run(cli_db, "similar").exit_code == 1
    assert run(cli_db, "similar", "router", "--from-file", str(bad)).exit_code == 1


def test_cli_similar_text_and_json(cli_db: str) -> None:
    result = run(cli_db, "similar", "Edge routers crashed\nafter a bad config push", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == {"title": "Edge routers crashed", "text": "after a bad config push"}
    assert data["matches"][0]["external_id"] == "cfg-1"
    assert {"root_cause", "primary_action", "lessons", "labels"} <= set(data["matches"][0])
    human = run(cli_db, "similar", "Edge routers crashed after a bad config push", "--limit", "1")
    assert human.exit_code == 0 and "Bad router config pushed to every edge router" in human.stdout
    piped = run(cli_db, "similar", "-", "--json", input="UPS battery fault\n")
    assert json.loads(piped.stdout)["matches"][0]["external_id"] == "pwr-2"


def test_cli_suggest_labels(cli_db: str) -> None:
    result = run(cli_db, "suggest-labels", "Generator failed and the power went out", "--json")
    assert result.exit_code == 0, result.output
    labels = json.loads(result.stdout)["labels"]
    assert labels[0]["label"] == "Hardware/Power Failures"
    assert all(set(item) == {"label", "score"} for item in labels)
    human = run(cli_db, "suggest-labels", "Generator failed and the power went out")
    assert "Hardware/Power Failures" in human.stdout


def test_cli_coach(cli_db: str, tmp_path: Path) -> None:
    pytest.importorskip("lessonloop.signals.coach")
    review = tmp_path / "review.md"
    text = "Bob was careless with the deploy. Going forward, be more careful."
    review.write_text(text, encoding="utf-8")
    result = run(cli_db, "coach", str(review), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    kinds = {f["kind"] for f in data["findings"]}
    assert "vague-action" in kinds
    for f in data["findings"]:
        assert set(f) >= {"kind", "start", "end", "text", "why", "suggestion"}
        assert text[f["start"] : f["end"]] == f["text"]
    assert data["summary"]["clean"] is False
    clean = run(cli_db, "coach", "-", "--json", input="The cache TTL was raised to 10 minutes.\n")
    assert json.loads(clean.stdout)["findings"] == []
    assert run(cli_db, "coach", str(tmp_path / "missing.md")).exit_code == 1


# --- the evaluation on real post-mortems --------------------------------------------------------


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("similar_eval", ROOT / "bench" / "similar_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("similar_eval", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.data
@pytest.mark.parametrize(
    "name", ["danluu-post-mortems-dev.jsonl", "intelligentdds-post-mortems-analysis-dev.jsonl"]
)
def test_precision_at_5_beats_the_baselines(data_dir: Path, name: str) -> None:
    path = data_dir / name
    if not path.is_file():
        pytest.skip(f"{name} is absent")
    result: Any = _bench().evaluate(path, extras=False)
    assert result.queries > 0
    assert result.lessonloop_p5 > result.tfidf_p5 and result.lessonloop_p5 > result.bm25_p5
    assert result.ratio >= 1.10, f"{name}: {result.lessonloop_p5:.3f} vs {result.best_baseline:.3f}"


def test_cached_statistics_and_bounded_retrieval(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from lessonloop.signals import similar

    load(session)
    query = {"title": "Bad router config pushed to every edge router", "text": CORPUS[0][2]}
    plain = similar_failures(session, viewer=SYSTEM, **query)
    left_out = similar_failures(session, viewer=SYSTEM, **query, exclude_ids=[plain[0].id])
    # Every term's count cached (normally only common ones): the same ranking, and an excluded
    # failure still leaves the statistics exactly as counting afresh does.
    monkeypatch.setattr(similar, "DF_CACHE_MIN", 1)
    similar.clear_df_cache()
    try:
        assert similar_failures(session, viewer=SYSTEM, **query) == plain  # fills the cache
        assert similar_failures(session, viewer=SYSTEM, **query) == plain  # reads it
        assert similar_failures(session, viewer=SYSTEM, **query, exclude_ids=[plain[0].id]) == left_out
    finally:
        similar.clear_df_cache()
    # A bound every term exceeds: pairs of common terms, then only the newest matches ranked.
    monkeypatch.setattr(similar, "RETRIEVAL_POSTINGS", 1)
    bounded = similar_failures(session, viewer=SYSTEM, **query)
    assert bounded and {m.id for m in bounded} <= {
        m.id for m in similar_failures(session, viewer=SYSTEM, **query, limit=50)
    }
    assert similar_failures(session, title="router", viewer=SYSTEM) != []


def test_retrieval_query_keeps_rare_terms_and_pairs_common_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from lessonloop.signals import similar

    terms = {"rare": 5.0, "mid": 3.0, "common": 1.0, "usual": 0.9, "everywhere": 0.8}
    df = {"rare": 10, "mid": 50, "common": 6000, "usual": 5000, "everywhere": 4000}
    surface = {t: t for t in terms}
    monkeypatch.setattr(similar, "RETRIEVAL_POSTINGS", 20_000)
    small = similar._retrieval_query(terms, df, surface, 100_000)
    assert small.any_of == list(terms) and small.groups == []  # all fit: the plain OR-query
    monkeypatch.setattr(similar, "RETRIEVAL_POSTINGS", 1000)
    bounded = similar._retrieval_query(terms, df, surface, 100_000)
    assert bounded.any_of == ["rare", "mid"]
    assert bounded.groups == [["common", "usual"]]  # 6000 x 5000 / 100,000: about 300 documents
    assert bounded.sqlite() == '"rare" OR "mid" OR ("common" AND "usual")'
    assert bounded.postgres() == "rare | mid | (common & usual)"


def test_query_bigrams_are_adjacent_content_words() -> None:
    from lessonloop.signals.similar import Query

    q = Query.parse("Load balancer dropped connections", "The load balancer ran out of ports; errors rose.")
    # In order of first appearance, each once; "out of" are stop words and break the phrase
    # (the index would not find "ran ports" as a phrase either), punctuation does not.
    assert list(q.bigrams.values()) == [
        ("load", "balancer"),
        ("balancer", "dropped"),
        ("dropped", "connections"),
        ("balancer", "ran"),
        ("ports", "errors"),
        ("errors", "rose"),
    ]
    assert q.bigrams[("load", "balanc")] == ("load", "balancer")  # keyed by stemmed terms


def test_retrieval_query_prefers_phrases_to_pairs_of_common_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    from lessonloop.signals import similar

    terms = {"rare": 5.0, "connection": 1.0, "pool": 0.9, "service": 0.8, "outage": 0.7}
    df = {"rare": 10, "connection": 6000, "pool": 5000, "service": 9000, "outage": 8000}
    surface = {t: t for t in terms}
    monkeypatch.setattr(similar, "RETRIEVAL_POSTINGS", 1000)
    phrases = [(("connection", "pool"), 800), (("service", "outage"), 7000), (("pool", "service"), 0)]
    r = similar._retrieval_query(terms, df, surface, 100_000, phrases)
    # "service outage" is too common to retrieve, "pool service" is in no document
    assert r.any_of == ["rare"] and r.phrases == [("connection", "pool")] and r.groups == []
    assert r.sqlite() == '"rare" OR "connection pool"'
    assert r.postgres() == "rare | (connection <-> pool)"
    # no phrase qualifies: the common terms pair up as before
    fallback = similar._retrieval_query(terms, df, surface, 100_000, [(("service", "outage"), 7000)])
    assert fallback.phrases == [] and fallback.groups


def test_a_persons_rule_in_sql_answers_as_the_policy_checked_in_python(session: Session) -> None:
    """A person's candidates are filtered by the SQL twin of ``can_see_failure`` (decision 54);
    the answer is the one the policy checked failure by failure gives, for every kind of viewer."""
    from lessonloop.access.policy import can_see_failure
    from lessonloop.access.viewer import viewer_for
    from lessonloop.failures.service import update_failure
    from lessonloop.people.service import add_person, add_team

    records = load(session)
    org = team_with_people(session)
    other = add_team(session, name="Infra", viewer=SYSTEM)
    outsider = add_person(session, name="Out Sider", handle="out", viewer=SYSTEM)
    # Every visibility, with and without a team, and one the outsider reported.
    layout = {
        "cfg-1": {"visibility": "private", "team": org["team"].id},
        "cfg-2": {"visibility": "team", "team": org["team"].id},
        "pwr-1": {"visibility": "team", "team": other.id},
        "pwr-2": {"visibility": "private", "team": other.id},
        "time-1": {"visibility": "team"},
    }
    for ext, change in layout.items():
        update_failure(session, records[ext].id, change, viewer=SYSTEM)
    records["pwr-2"].reporter_id = outsider.id
    session.flush()
    queries = [
        {"title": "Edge routers crashed after a bad config push", "text": "router configuration change"},
        {"title": "Power failure took racks down", "text": "generator and UPS battery"},
    ]
    for person in (org["ana"], org["ben"], outsider):
        viewer = viewer_for(session, person)
        for query in queries:
            in_sql = similar_failures(session, viewer=viewer, limit=10, **query)
            in_python = similar_failures(
                session, viewer=SYSTEM, visible=lambda f, v=viewer: can_see_failure(v, f), limit=10, **query
            )
            assert [(m.id, m.score) for m in in_sql] == [(m.id, m.score) for m in in_python]
            assert suggest_labels(session, viewer=viewer, **query) == suggest_labels(
                session, viewer=SYSTEM, visible=lambda f, v=viewer: can_see_failure(v, f), **query
            )
    hidden = similar_failures(session, viewer=viewer_for(session, org["ben"]), limit=10, **queries[1])
    assert records["pwr-2"].id not in {m.id for m in hidden}  # private to Infra's leads and its reporter
    own = similar_failures(session, viewer=viewer_for(session, outsider), limit=10, **queries[1])
    assert records["pwr-2"].id in {m.id for m in own}  # they reported it


def test_the_document_count_from_kept_counts_is_the_row_count(session: Session) -> None:
    """The collection size for idf comes from ``failure_counts`` (kept by triggers) + reviews."""
    from sqlalchemy import func, select

    from lessonloop.failures.service import update_failure
    from lessonloop.reviews.models import Review
    from lessonloop.signals import similar

    def direct() -> int:
        failures = session.scalar(select(func.count()).select_from(Failure)) or 0
        return int(failures) + int(session.scalar(select(func.count()).select_from(Review)) or 0)

    assert similar._document_count(session) == direct() == 0
    records = load(session)
    team_with_people(session)
    reviewed(session, records["cfg-1"])
    update_failure(session, records["cfg-2"].id, {"visibility": "private"}, viewer=SYSTEM)
    session.flush()
    assert similar._document_count(session) == direct() == len(CORPUS) + 1
