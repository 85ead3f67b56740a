"""Deterministic synthetic workspaces for the benchmarks.

Two parts:

* :func:`records` yields failures in the *public-postmortems* JSON Lines format
  (``{"id","title","text","company","url","categories","date"}``), composed from a vocabulary of
  systems, symptoms, causes, teams, companies, regions and a long tail of code names. Every slot
  is drawn with Zipf-like weights (``1 / rank**s``), so a few words are very common and most are
  rare, as in real incident write-ups; that keeps full-text search realistic (some queries match
  tens of thousands of documents, most match a few hundred or fewer). The same ``seed`` and ``n``
  always give byte-identical output.
* :func:`enrich` turns an imported set of failures into a working *workspace*: teams and people,
  a reporter/team/severity/kind per failure, completed reviews with assumptions and corrective
  actions for a fraction of the failures, and "What we learned" lessons. It writes through the
  ORM in batches, so the history log and the search index are kept by the same session hooks as
  every other write.

    .venv/bin/python bench/generate.py --n 10000            # writes bench/out/postmortems-10000-s7.jsonl
    .venv/bin/python bench/generate.py --n 100 --stdout | head
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_SEED = 7

# --------------------------------------------------------------------------------------------
# Vocabulary. Order matters: earlier entries are drawn more often (Zipf rank).
# --------------------------------------------------------------------------------------------

SYSTEMS = """
database;load balancer;API gateway;DNS;payment service;authentication service;cache cluster;
message queue;storage cluster;CDN;search index;deploy pipeline;Kubernetes cluster;billing system;
checkout;mobile app;web frontend;object storage;control plane;data warehouse;ETL job;
primary replica;read replicas;config service;feature flag service;notification service;
email delivery;SMS gateway;identity provider;certificate manager;VPN;edge routers;BGP sessions;
service mesh;job scheduler;batch pipeline;recommendation model;pricing engine;fraud model;
analytics dashboard;CI runners;artifact registry;container registry;secrets store;logging pipeline;
metrics backend;alerting system;on-call paging;backup system;disaster recovery site;
network fabric;top-of-rack switches;power distribution;cooling system;block storage volumes;
virtual machines;serverless functions;rate limiter;session store;inventory service;order service;
shipping integration;customer portal;support tooling;CRM;data lake;Kafka cluster;Redis;
Elasticsearch;PostgreSQL primary;MySQL shard;Cassandra ring;ZooKeeper ensemble;etcd;
Consul;NTP servers;leap second handling;TLS termination;OAuth tokens;webhooks;public API;
partner API;SDK release;iOS release;Android release;onboarding flow;signup form;search ranking;
ads serving;video transcoding;image resizing;file uploads;sync service;collaboration service;
realtime presence;chat service;voice service;status page;customer data platform;forecast model
""".replace("\n", "").split(";")

SYMPTOMS = """
outage;elevated error rates;increased latency;partial outage;data loss;degraded performance;
timeouts;connection failures;failed deployments;stale data;duplicate charges;dropped messages;
crash loop;memory leak;disk full;CPU saturation;cascading failure;split brain;replication lag;
failed logins;expired certificate;corrupted index;missing records;slow queries;thundering herd;
retry storm;packet loss;5xx errors;blank pages;wrong prices shown;duplicate emails;
lost orders;delayed notifications;incorrect invoices;failed backups;unreachable hosts;
intermittent errors;deadlocks;lock contention;queue backlog;throttling;inconsistent reads;
missed deadline;customer churn;low adoption;missed revenue target;budget overrun;rework;
scope creep;failed launch;escalated complaints;SLA breach;audit finding;security exposure
""".replace("\n", "").split(";")

CAUSES = """
a bad configuration change;a software bug;an expired certificate;a capacity shortfall;
a network partition;a failed disk;a power failure;a dependency upgrade;a schema migration;
an untested rollback;a race condition;a leap second;a time zone assumption;a cache stampede;
a misconfigured health check;a DNS misconfiguration;a routing change;a third-party outage;
a hardware fault;a fiber cut;an overloaded upstream;a runaway batch job;a retry loop without backoff;
a missing index;a full disk;an exhausted connection pool;a memory leak;a typo in a script;
an operator error;a skipped approval;a missing runbook;an incomplete handoff;staff turnover;
an unclear owner;an ambiguous metric;a wrong forecast;a changed market;a pricing change;
an optimistic estimate;a late dependency;a budget cut;a vendor change;a security patch;
an unreviewed pull request;a feature flag left on;clock skew;a cooling failure;a fire suppression test;
an accidental deletion;a quota limit;an integer overflow;an unhandled exception;a payload flood
""".replace("\n", "").split(";")

TEAMS = """
Platform;Payments;Growth;Data;Infrastructure;Mobile;Web;Search;Identity;Billing;Support;
Security;SRE;Networking;Storage;Checkout;Marketing;Sales Ops;Finance;Product;Design;
Analytics;ML Platform;Release Engineering;Developer Experience;Partnerships;Onboarding;
Customer Success;Logistics;Compliance
""".replace("\n", "").split(";")

COMPANY_STEMS = """
Acme;Globex;Initech;Umbrella;Hooli;Vandelay;Stark;Wayne;Wonka;Cyberdyne;Tyrell;Soylent;
Massive Dynamic;Aperture;Black Mesa;Oscorp;Gringotts;Monarch;Pied Piper;Dunder Mifflin;Nakatomi;
Oceanic;Virtucon;Weyland;Zorg;Blue Sun;Duff;Gekko;Kramerica;Los Pollos;Prestige;Sterling;
Strickland;Bluth;Krusty;Paper Street;Sirius;Spacely;Tessier;Yoyodyne
""".replace("\n", "").split(";")
COMPANY_SUFFIXES = ["", " Cloud", " Labs", " Systems", " Bank", " Health", " Retail", " Media", " Games"]

REGIONS = """
us-east-1;eu-west-1;us-west-2;ap-southeast-1;eu-central-1;ap-northeast-1;us-central1;
europe-west4;asia-east1;sa-east-1;the primary data center;the secondary region;a single availability zone;
several regions;all regions
""".replace("\n", "").split(";")

CHANGES = """
configuration push;deploy;schema migration;dependency upgrade;capacity change;network change;
certificate rotation;feature launch;pricing change;reorganisation;vendor migration;
data backfill;failover test;maintenance window;kernel upgrade;library bump;rollout
""".replace("\n", "").split(";")

DETECTIONS = """
customer reports;an alert;a synthetic check;a support ticket spike;a dashboard review;
an engineer on call;a partner;social media;the weekly metrics review;an audit
""".replace("\n", "").split(";")

MITIGATIONS = """
rolled back the change;failed over to the secondary;added capacity;restarted the affected hosts;
disabled the feature flag;restored from backup;drained traffic from the region;
rotated the certificate;patched the bug;throttled the batch job;rebuilt the index;
re-ran the failed jobs;reverted the configuration;paused the rollout;contacted the vendor
""".replace("\n", "").split(";")

DURATIONS = [
    "12 minutes",
    "40 minutes",
    "two hours",
    "about an hour",
    "five hours",
    "most of a day",
    "three days",
    "two weeks",
    "a sprint",
    "a quarter",
]

# Category labels: cause families in the style of public post-mortem collections (section names
# and root-cause paths). Zipf-weighted, 1-3 per record.
CATEGORIES = """
Config Errors;internal causes/software bugs/code change;internal causes/software bugs/config;
Database;Hardware/Power Failures;external causes/insufficient resource/service capacity;
Time;Uncategorized;internal causes/software bugs/logic;external causes/third-party failures;
Conflicts;external causes/hardware failures/network;internal causes/software bugs/exception handling;
external causes/hardware failures/power outage;internal causes/software bugs/timing bug;
process/skipped check;process/handoff breakdown;people/knowledge gap;planning/wrong assumption;
planning/missed deadline;market/changed conditions;metrics/ambiguous metric;resourcing/budget squeeze;
internal causes/software bugs/resource race;external causes/insufficient resource/memory;
external causes/hardware failures/disk;external causes/hardware failures/fiber cut;
internal causes/software bugs/incompatibility;external causes/excessive flow;unknown
""".replace("\n", "").split(";")

FILLER = """
the;team;was;not;that;this;because;after;before;during;when;then;which;also;users;customers;
impact;request;requests;traffic;service;services;change;issue;incident;engineers;monitoring;
investigation;process;review;follow-up;owner;runbook;dashboard;threshold;limit;retry;
recovery;rollback;deploy;version;cluster;region;node;nodes;hosts;load;peak;window;
expected;unexpected;assumed;believed;confirmed;observed;noticed;measured;reported;
quickly;slowly;eventually;initially;partially;fully;manually;automatically
""".replace("\n", "").split(";")

_SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "ten",
    "vo",
    "lux",
    "zen",
    "dra",
    "po",
    "qui",
    "sar",
    "bel",
    "nor",
    "tis",
    "gal",
    "fen",
    "ost",
    "ria",
    "mar",
    "cor",
    "ul",
    "vex",
    "tan",
    "hal",
    "sy",
    "dun",
    "ere",
    "lom",
    "pix",
]


_TAIL_SYLLABLES = [
    "an",
    "be",
    "co",
    "de",
    "el",
    "fi",
    "gra",
    "hu",
    "in",
    "jo",
    "ke",
    "li",
    "mo",
    "ne",
    "or",
    "pre",
    "qua",
    "res",
    "sti",
    "tur",
    "un",
    "vi",
    "wo",
    "xe",
    "yo",
    "ze",
    "ble",
    "cha",
    "dri",
    "est",
    "fla",
    "glo",
]


def _codenames(rng: random.Random, n: int, syllables: Sequence[str] = _SYLLABLES) -> list[str]:
    """``n`` distinct made-up words of 2-4 syllables (service names, rare words)."""
    names: dict[str, None] = {}
    assert n <= len(syllables) ** 3 // 2, "not enough syllables for that many words"
    while len(names) < n:
        k = rng.choice((2, 3, 3, 4))
        names["".join(rng.choice(syllables) for _ in range(k))] = None
    return list(names)


class Zipf:
    """Draw from ``items`` with weight ``1 / rank**s`` (rank 1 = first item)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[Any], s: float = 1.07) -> None:
        self._items = list(items)
        self._cum = list(itertools.accumulate(1.0 / (r**s) for r in range(1, len(self._items) + 1)))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self._items[bisect.bisect_left(self._cum, rng.random() * self._total)]

    def sample(self, rng: random.Random, k: int) -> list[Any]:
        seen: dict[Any, None] = {}
        for _ in range(k * 4):
            seen[self(rng)] = None
            if len(seen) >= k:
                break
        return list(seen)

    @property
    def items(self) -> list[Any]:
        return self._items


class Vocabulary:
    def __init__(self, seed: int) -> None:
        rng = random.Random(seed * 7919 + 1)
        # Exponents below 1 keep the head realistic: in public post-mortem collections the most
        # common system word ("database", "network") is in roughly 5-40% of the reports.
        self.systems = Zipf(SYSTEMS, s=0.8)
        self.symptoms = Zipf(SYMPTOMS, s=0.8)
        self.causes = Zipf(CAUSES, s=0.8)
        self.teams = Zipf(TEAMS, s=0.9)
        companies = [c + s for s in COMPANY_SUFFIXES for c in COMPANY_STEMS]
        rng.shuffle(companies)
        self.companies = Zipf(companies, s=0.9)
        self.regions = Zipf(REGIONS)
        self.changes = Zipf(CHANGES, s=0.9)
        self.detections = Zipf(DETECTIONS)
        self.mitigations = Zipf(MITIGATIONS, s=0.9)
        self.durations = Zipf(DURATIONS, s=0.6)
        self.categories = Zipf(CATEGORIES, s=1.2)
        self.filler = Zipf(FILLER, s=0.8)
        self.codenames = Zipf(_codenames(rng, 8000), s=0.9)
        # The long tail of ordinary words every real corpus has (Heaps' law): made-up words,
        # Zipf-distributed, so the index has a realistic number of distinct terms.
        self.tail = Zipf(_codenames(random.Random(seed * 31 + 5), 12000, syllables=_TAIL_SYLLABLES), s=1.0)

    def word(self, rng: random.Random) -> str:
        """A filler word: two in three from the common list, one in three from the long tail."""
        return self.tail(rng) if rng.random() < 0.34 else self.filler(rng)

    def system(self, rng: random.Random, ctx: dict[str, str]) -> str:
        """Reports mostly talk about their own system; sometimes about another one."""
        return ctx["system"] if rng.random() < 0.6 else self.systems(rng)

    def cause(self, rng: random.Random, ctx: dict[str, str]) -> str:
        return ctx["cause"] if rng.random() < 0.5 else self.causes(rng)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _sentence(v: Vocabulary, rng: random.Random, ctx: dict[str, str]) -> str:
    w = v.word
    pick = rng.random()
    if pick < 0.12:
        return f"At {rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d} UTC the {ctx['system']} began showing {ctx['symptom']} in {v.regions(rng)}."
    if pick < 0.22:
        return f"The {v.teams(rng)} team was paged by {v.detections(rng)} and found {v.cause(rng, ctx)} in the {v.system(rng, ctx)}."
    if pick < 0.32:
        return f"A {v.changes(rng)} to {v.codenames(rng)} {w(rng)} triggered {v.symptoms(rng)} for {v.durations(rng)}."
    if pick < 0.40:
        return f"Root cause: {ctx['cause']} in the {v.system(rng, ctx)}, which {w(rng)} {w(rng)} the {v.codenames(rng)} {w(rng)}."
    if pick < 0.47:
        return f"Engineers {v.mitigations(rng)} and {w(rng)} {w(rng)} recovered after {v.durations(rng)}."
    if pick < 0.53:
        n = rng.choice((2, 3, 5, 8, 12, 20, 35, 50, 75, 90))
        return f"About {n}% of {w(rng)} requests to {v.codenames(rng)} saw {ctx['symptom']}."
    if pick < 0.59:
        return f"We assumed {v.codenames(rng)} would absorb the {v.changes(rng)}, but it did not."
    if pick < 0.65:
        return f"Follow-up: the {v.teams(rng)} team will add a check to the {v.codenames(rng)} runbook (ticket INC-{rng.randrange(10000, 999999)})."
    if pick < 0.70:
        return f"Hosts {v.codenames(rng)}-{rng.randrange(1, 400)} and {v.codenames(rng)}-{rng.randrange(1, 400)} {w(rng)} {w(rng)} {w(rng)}."
    words = [w(rng) for _ in range(rng.randrange(8, 20))]
    words.insert(rng.randrange(len(words)), v.codenames(rng))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), v.system(rng, ctx))
    return _cap(" ".join(words)) + "."


def _n_sentences(rng: random.Random) -> int:
    # Log-normal-ish: median ~6 sentences (~500 chars), a tail of long write-ups (~4,000 chars).
    return max(1, min(40, round(rng.lognormvariate(1.8, 0.75))))


def record(v: Vocabulary, rng: random.Random, i: int, seed: int) -> dict[str, Any]:
    company = v.companies(rng)
    ctx = {"system": v.systems(rng), "symptom": v.symptoms(rng), "cause": v.causes(rng)}
    style = rng.random()
    if style < 0.45:
        title = f"{_cap(ctx['symptom'])} in the {ctx['system']} after {ctx['cause']}"
    elif style < 0.75:
        title = f"{company}: {ctx['cause']} caused {ctx['symptom']} in {v.regions(rng)}"
    elif style < 0.9:
        title = f"{_cap(ctx['system'])} {ctx['symptom']} ({v.codenames(rng)})"
    else:
        title = f"Incident #{rng.randrange(100, 99999)}"
    first = f"{_cap(ctx['system'])} {ctx['symptom']} caused by {ctx['cause']}."
    text = " ".join([first] + [_sentence(v, rng, ctx) for _ in range(_n_sentences(rng) - 1)])
    day = dt.date(2014, 1, 1) + dt.timedelta(days=rng.randrange(0, 11 * 365))
    slug = "-".join(title.lower().replace(":", "").replace("(", "").replace(")", "").split()[:6])
    return {
        "id": f"synth-{seed}-{i:07d}",
        "source": "lessonloop-bench",
        "company": company,
        "title": title[:300],
        "text": text,
        "url": f"https://status.{company.lower().replace(' ', '')}.example/incidents/{i}-{slug}",
        "categories": v.categories.sample(rng, rng.choice((1, 1, 1, 2, 2, 3))),
        "date": day.isoformat() if rng.random() < 0.85 else None,
    }


def records(n: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    v = Vocabulary(seed)
    rng = random.Random(seed)
    for i in range(n):
        yield record(v, rng, i, seed)


def write_jsonl(path: Path, n: int, seed: int = DEFAULT_SEED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records(n, seed):
            fh.write(json.dumps(rec, ensure_ascii=False))
            fh.write("\n")
    tmp.replace(path)
    return path


def dataset(n: int, seed: int = DEFAULT_SEED, out_dir: Path = OUT_DIR) -> Path:
    """The JSONL file for ``n`` records, generated once and reused (bench/out/ is git-ignored)."""
    path = out_dir / f"postmortems-{n}-s{seed}.jsonl"
    if not path.exists():
        write_jsonl(path, n, seed)
    return path


# --------------------------------------------------------------------------------------------
# Search queries: what people type, drawn from the same vocabulary.
# --------------------------------------------------------------------------------------------


QUERY_NOUNS = [
    "outage",
    "errors",
    "latency",
    "timeouts",
    "failure",
    "rollback",
    "migration",
    "deploy",
    "capacity",
    "config",
    "certificate",
    "leak",
    "crash",
    "lag",
    "backup",
    "incident",
]


def queries(count: int = 200, seed: int = DEFAULT_SEED) -> list[str]:
    """What people type into a search box: 1-3 words, mostly a system, a symptom or a cause,
    sometimes with a company or region, sometimes a rare code name."""
    v = Vocabulary(seed)
    nouns = Zipf(QUERY_NOUNS, s=0.9)
    rng = random.Random(seed + 101)
    out: list[str] = []
    for _ in range(count):
        r = rng.random()
        if r < 0.22:
            q = v.systems(rng)
        elif r < 0.45:
            q = f"{v.systems(rng)} {nouns(rng)}"
        elif r < 0.58:
            q = v.causes(rng).removeprefix("a ").removeprefix("an ")
        elif r < 0.70:
            q = v.symptoms(rng)
        elif r < 0.80:
            q = v.codenames(rng)
        elif r < 0.90:
            q = f"{v.companies(rng)} {nouns(rng)}"
        else:
            q = f"{v.changes(rng)} {v.regions(rng).split()[-1]}"
        out.append(q)
    return out


# --------------------------------------------------------------------------------------------
# Workspace enrichment after import: teams, people, reviews, actions, lessons.
# --------------------------------------------------------------------------------------------

ASSUMPTIONS = [
    "the {s} would scale with the {c}",
    "a rollback of the {s} was always safe",
    "the vendor would warn us before a {c}",
    "the {s} alerts would fire before customers noticed",
    "the {c} had been tested in staging",
    "the {s} had a second owner",
    "the forecast for the {s} was still valid",
    "the {s} retries were idempotent",
]
GAPS = ["process", "context", "skill", "resourcing"]


def enrich(
    db: Any,
    *,
    seed: int = DEFAULT_SEED,
    review_fraction: float = 0.10,
    lesson_fraction: float = 0.02,
    teams: int = 24,
    people: int = 300,
    batch: int = 500,
) -> dict[str, int]:
    """Give imported failures a workspace around them; returns counts of what was written.

    ``db`` is a :class:`lessonloop.store.engine.Database`. Teams and people go in through the
    ORM; team/reporter/severity/kind/visibility per failure through one bulk UPDATE (the history log does
    not see those: they stand for values a real team would have entered with the failure);
    reviews, assumptions, actions and lessons through the ORM in batches, so history and the
    search index are written by the normal flush hooks.
    """
    from sqlalchemy import select, text

    from lessonloop.actions.models import Action
    from lessonloop.failures.models import Failure, FailureKind, FailureStatus, Severity
    from lessonloop.lessons.models import Lesson
    from lessonloop.people.models import Membership, Person, Team
    from lessonloop.reviews.models import Assumption, AssumptionStatus, Review, ReviewStatus

    v = Vocabulary(seed)
    rng = random.Random(seed + 303)
    counts = {"teams": 0, "people": 0, "reviews": 0, "actions": 0, "assumptions": 0, "lessons": 0}

    with db.unit(actor="bench") as s:
        team_objs = [Team(name=f"{TEAMS[i % len(TEAMS)]} {i // len(TEAMS) + 1}") for i in range(teams)]
        s.add_all(team_objs)
        s.flush()
        person_objs = [
            Person(handle=f"user{i:04d}", name=f"User {i:04d}", email=f"user{i:04d}@example.test")
            for i in range(people)
        ]
        s.add_all(person_objs)
        s.flush()
        s.add_all(
            Membership(
                team_id=team_objs[i % teams].id, person_id=p.id, role="lead" if i < teams else "member"
            )
            for i, p in enumerate(person_objs)
        )
        team_ids = [t.id for t in team_objs]
        person_ids = [p.id for p in person_objs]
        counts["teams"], counts["people"] = teams, people

    with db.unit(actor="bench") as s:
        rows = s.execute(select(Failure.id, Failure.detected_at).order_by(Failure.id)).all()
    failure_ids = [r[0] for r in rows]
    detected = {r[0]: r[1] for r in rows}
    kinds = Zipf([k.value for k in FailureKind], s=0.8)
    severities = [Severity.low.value, Severity.medium.value, Severity.high.value, Severity.critical.value]
    params = [
        {
            "fid": fid,
            "team_id": rng.choice(team_ids),
            "reporter_id": rng.choice(person_ids),
            "severity": rng.choices(severities, weights=(3, 5, 2, 0.5))[0],
            "kind": kinds(rng),
            # Imported post-mortems are public (org); a team's own failures mostly are not.
            "visibility": rng.choices(("org", "team", "private"), weights=(40, 55, 5))[0],
        }
        for fid in failure_ids
    ]
    # One UPDATE ... FROM a staging table, not one UPDATE per failure: on PostgreSQL every
    # statement fires the trigger that keeps failure_counts (migration 0024), and a million
    # statements in one transaction stack a million versions of the same few count rows, each
    # update walking the chain (quadratic: a 1M workspace never finished, decision 55). One
    # statement fires it once, with the whole change in its transition tables.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE bench_enrich (fid INTEGER PRIMARY KEY, team_id INTEGER, "
            "reporter_id INTEGER, severity VARCHAR(16), kind VARCHAR(32), visibility VARCHAR(16))"
        )
        insert = text(
            "INSERT INTO bench_enrich (fid, team_id, reporter_id, severity, kind, visibility) "
            "VALUES (:fid, :team_id, :reporter_id, :severity, :kind, :visibility)"
        )
        for i in range(0, len(params), 5000):
            conn.execute(insert, params[i : i + 5000])
        conn.exec_driver_sql(
            "UPDATE failures SET team_id = e.team_id, reporter_id = e.reporter_id, "
            "severity = e.severity, kind = e.kind, visibility = e.visibility "
            "FROM bench_enrich AS e WHERE failures.id = e.fid"
        )
        conn.exec_driver_sql("DROP TABLE bench_enrich")

    reviewed = sorted(rng.sample(failure_ids, int(len(failure_ids) * review_fraction)))
    statuses: dict[int, str] = {}
    for start in range(0, len(reviewed), batch):
        chunk = reviewed[start : start + batch]
        plans = []
        for fid in chunk:
            sys_, cause = v.systems(rng), v.causes(rng)
            plans.append((fid, sys_, cause, rng.choice(ASSUMPTIONS).format(s=sys_, c=v.changes(rng))))
        with db.unit(actor="bench") as s:
            failures = {f.id: f for f in s.scalars(select(Failure).where(Failure.id.in_(chunk)))}
            wanted = {p[3] for p in plans}
            known = {a.key: a for a in s.scalars(select(Assumption).where(Assumption.key.in_(wanted)))}
            reviews = []
            for fid, sys_, cause, statement in plans:
                f = failures[fid]
                a = known.get(statement)
                if a is None:
                    a = known[statement] = Assumption(
                        statement=statement, key=statement, status=AssumptionStatus.failed.value
                    )
                    counts["assumptions"] += 1
                held = (f.detected_at or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) + dt.timedelta(days=2)
                gap = rng.choice(GAPS)
                r = Review(
                    failure_id=fid,
                    status=ReviewStatus.completed.value,
                    assumption_text=f"We assumed {statement}.",
                    evidence=f"The {v.systems(rng)} dashboards and {v.detections(rng)} showed {v.symptoms(rng)}.",
                    what_changed=f"A {v.changes(rng)} to the {sys_} in {v.regions(rng)}.",
                    root_cause=f"{_cap(cause)} in the {sys_}",
                    gap_type=gap,
                    gap_justification=f"{_cap(gap)} gap: nobody owned {cause} for the {sys_}.",
                    contributing_factors=[v.causes(rng), v.causes(rng)],
                    held_at=held,
                    completed_at=held,
                )
                r.assumptions = [a]
                reviews.append(r)
            s.add_all(reviews)
            s.flush()
            actions = []
            for r in reviews:
                f = failures[r.failure_id]
                base = (r.held_at or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)).date()
                for k in range(rng.choice((1, 1, 2, 2, 3))):
                    due = base + dt.timedelta(days=rng.randrange(7, 45))
                    state = rng.choices(("open", "done", "dropped"), weights=(4, 5, 1))[0]
                    actions.append(
                        Action(
                            failure_id=r.failure_id,
                            review_id=r.id,
                            is_primary=k == 0,
                            title=f"{_cap(v.mitigations(rng))} and add a {v.systems(rng)} check for {v.causes(rng)}",
                            owner_id=rng.choice(person_ids),
                            due_date=due,
                            review_date=due + dt.timedelta(days=14),
                            status=state,
                            evidence=f"Verified on the {v.systems(rng)} dashboard."
                            if state == "done"
                            else "",
                            drop_reason="Superseded by the platform migration." if state == "dropped" else "",
                            closed_at=dt.datetime.combine(due, dt.time(12), dt.UTC)
                            if state != "open"
                            else None,
                        )
                    )
                    if k == 0:
                        if state == "open":
                            f.status = FailureStatus.acting.value
                        else:
                            f.status = rng.choice(
                                (FailureStatus.re_evaluating.value, FailureStatus.learned.value)
                            )
                        statuses[f.id] = f.status
            s.add_all(actions)
            counts["reviews"] += len(reviews)
            counts["actions"] += len(actions)

    n_lessons = int(len(failure_ids) * lesson_fraction)
    learned_pool = [fid for fid, st in statuses.items() if st == FailureStatus.learned.value] or failure_ids
    for start in range(0, n_lessons, batch):
        with db.unit(actor="bench") as s:
            lessons = []
            for _ in range(min(batch, n_lessons - start)):
                linked = sorted({rng.choice(learned_pool) for _ in range(rng.choice((1, 1, 2, 3)))})
                sys_, cause = v.systems(rng), v.causes(rng)
                lesson = Lesson(
                    title=f"What we learned: {cause} in the {sys_}",
                    learned=(
                        f"{_cap(cause)} hit the {sys_} again. {_sentence(v, rng, {'system': sys_, 'cause': cause, 'symptom': v.symptoms(rng)})} "
                        f"Check the {v.codenames(rng)} runbook before any {v.changes(rng)}."
                    ),
                    changed=f"The {v.teams(rng)} team now {v.mitigations(rng)} within {v.durations(rng)}.",
                    author_id=rng.choice(person_ids),
                    published_at=(detected.get(linked[0]) or dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
                    + dt.timedelta(days=30)
                    if rng.random() < 0.8
                    else None,
                )
                lesson.failures = list(s.scalars(select(Failure).where(Failure.id.in_(linked))))
                lesson.audience = list(
                    s.scalars(select(Team).where(Team.id.in_(rng.sample(team_ids, rng.choice((1, 2, 3))))))
                )
                lessons.append(lesson)
            s.add_all(lessons)
            counts["lessons"] += len(lessons)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of failures (default 10000)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, help="output file (default bench/out/postmortems-N-sSEED.jsonl)")
    ap.add_argument("--stdout", action="store_true", help="write JSON Lines to stdout")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.stdout:
        for rec in records(args.n, args.seed):
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return 0
    path = args.out or OUT_DIR / f"postmortems-{args.n}-s{args.seed}.jsonl"
    write_jsonl(path, args.n, args.seed)
    size = path.stat().st_size
    print(
        f"wrote {args.n} records to {path} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
