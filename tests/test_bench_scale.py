"""bench/scale.py's own logic: the verdicts of its table and the duplicate-job check (no timing)."""

from __future__ import annotations

import datetime as dt

from lessonloop.notifications.config import WorkerConfig
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_jobs
from lessonloop.worker.scheduler import load_jobs


def test_a_figure_is_met_only_on_the_right_side_of_its_target() -> None:
    from bench.scale import Figure

    assert Figure("rate", 12_000, 10_000, higher=True).met
    assert not Figure("rate", 9_999, 10_000, higher=True).met
    assert Figure("p95", 50, 50, higher=False).met
    assert not Figure("p95", 50.1, 50, higher=False).met
    assert not Figure("p95", None, 50, higher=False).met  # not measured is never met
    assert Figure("errors", 0, 0, higher=False).met and Figure("errors", 0, 0, higher=False).ratio is None
    row = Figure("p95", 75, 50, higher=False, unit=" ms", reference="direct 70 ms").row()
    assert row == ["p95", "75 ms", "<= 50 ms", "MISSED", "1.50x", "direct 70 ms"]


def test_phases_that_did_not_run_show_as_missed() -> None:
    from bench.scale import figures

    rows = figures({"size": 10, "import": {"records_per_s": 20_000, "records_per_cpu_s": 30_000}})
    verdicts = {f.name: f.met for f in rows}
    assert verdicts["import records/s"] is True
    assert [name for name, met in verdicts.items() if met] == ["import records/s"]


def test_a_reused_database_says_its_import_was_not_measured() -> None:
    from bench.scale import figures

    (imported,) = [f for f in figures({"import": {"existing": "kept_1m"}}) if f.name == "import records/s"]
    assert imported.value is None and not imported.met
    assert imported.reference == "not measured: the kept database kept_1m was reused"


def test_a_page_that_did_not_answer_200_misses_whatever_its_time() -> None:
    from bench.scale import figures

    page = {"page": "insights", "p95_ms": 5.0, "server_p95_ms": 4.0, "queries": 3}
    ok = figures({"pages": {"member": [{**page, "status": [200]}]}})
    bad = figures({"pages": {"member": [{**page, "status": [200, 500]}]}})
    assert [f.met for f in ok if f.name.startswith("every page")] == [True]
    assert [f.met for f in bad if f.name.startswith("every page")] == [False]


def test_no_duplicate_counts_only_when_the_workers_ran_their_jobs() -> None:
    from bench.scale import figures

    def verdict(runs: int, skips: int) -> bool:
        dup = {
            "total": 0,
            "job_runs": runs,
            "notifications": 0,
            "passes": 1,
            "logged_runs": runs,
            "logged_skips": skips,
        }
        rows = figures({"scale": {"one": {}, "two": {}, "duplicates": dup}})
        return next(f.met for f in rows if f.name == "duplicate job runs")

    assert verdict(2, 2)
    assert not verdict(0, 0)  # no pass finished: nothing was checked


def test_the_logs_count_each_periodic_job_done_and_skipped() -> None:
    from bench.scale import logged_runs

    every = {"escalations": "daily", "weekly-digests": "weekly", "action-reminders": "tick"}
    one = "worker running every 3s\nescalations: 0 opened\nweekly-digests: 4 digests\naction-reminders: 2\n"
    two = "escalations: skipped (another worker ran it)\nweekly-digests: 3 digests\n"
    runs = logged_runs([one, two], every)
    assert runs["escalations"] == {"ran": 1, "skipped": 1, "error": 0}
    assert runs["weekly-digests"]["ran"] == 2  # done by both workers: a duplicate
    assert "action-reminders" not in runs  # every pass by design; its keys dedupe


def test_two_workers_passes_leave_no_duplicate(db: Database) -> None:
    from bench.scale import duplicate_report

    config = WorkerConfig()
    now = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    logs = []
    for _worker in range(2):
        results = run_jobs(db, now=now, config=config)
        logs.append("".join(f"{job}: {summary}\n" for job, summary in results.items()))
    every = {name: job.every for name, job in load_jobs().items()}
    periodic = [name for name, e in every.items() if e != "tick"]
    with db.engine.connect() as conn:
        report = duplicate_report(conn, logs, every)
    assert report["total"] == 0 and report["logged_twice"] == {}
    assert report["recorded_runs"] == len(periodic) == report["logged_runs"] == report["logged_skips"]
