"""How specific a corrective action is: four parts, each checked for what it claims.

* **owner** (+25): one named person; not several, not a group ("the team", "everyone").
* **verb** (+25): the action starts with a concrete action verb (add, require, rotate, ...), and
  not with an exhortation: "raise awareness", "look into", "be more careful", "improve",
  "ensure", "consider", a concrete verb made vague ("deploy less", "respond quickly", "keep an
  eye on", "remind people to").
* **measurable** (+30): a quantity with a unit, threshold or comparison ("p95 < 300 ms", "5%
  error rate", "3 reviewers", "within 2 days", "at least 4 replicas") or a cadence ("every
  release", "weekly", "twice a year"). A bare number is *not* a measure: a version ("template
  v3", "Python 3.12", "hotfix 3.4.2"), a ticket or CVE number, a year, an ordinal ("step 4",
  "Q3") or a name ("db-03", "SEV2").
* **due** (+20): a due date that exists.

The 0-100 score is the sum of the parts present. Measured on the labelled set
``tests/signals/specificity_labelled.jsonl`` by ``bench/specificity_eval.py`` (docs/metrics.md).
Pure functions over strings (no database, no other lessonloop module): the coach and the stored
score (:mod:`lessonloop.signals.annotate`) can both use them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

POINTS_OWNER = 25
POINTS_DUE = 20
POINTS_VERB = 25
POINTS_MEASURE = 30


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CONCRETE_VERBS = _words("""
    add automate write remove require alert migrate document schedule test build create delete
    deploy replace enable disable enforce configure set limit block gate introduce implement move
    rename split merge upgrade downgrade pin rotate restrict revoke grant install instrument
    monitor page publish run measure track rollout roll backfill audit archive expire tag label
    refactor rewrite fix patch update extend reduce increase cap raise lower throttle cache index
    shard partition backup restore drill rehearse replay simulate inject fence isolate separate
    version validate verify check lint format template script codify wire route notify email post
    assign hire fund buy budget retire decommission consolidate standardize standardise switch
    change ship cut tune sunset purge clean delegate escalate calibrate alarm encrypt mirror
    hold adopt follow apply retry refund lock answer approve contact interview debrief freeze
    delay book prepare send remind translate keep match reconcile scale reject release declare
    fail close call respond triage quiz pay break review request train back mark sign stop
    """)

# Verbs that ask for effort or attention instead of naming a change, and words that are not verbs
# at all; any other first word of an action is taken as its verb (action titles are imperatives).
VAGUE_VERBS = _words("""
    improve enhance ensure consider look be try think discuss explore revisit make do get have
    focus work investigate strive stay learn remember practise practice plan align communicate
    streamline optimise optimize strengthen watch take double trust apologise apologize handle
    listen spend aim continue encourage emphasise emphasize prioritise prioritize promote foster
    support help maintain address tackle leverage reflect understand know keep-in-mind embrace
    """)
NOT_VERBS = _words("""
    the a an more better less fewer faster proper regular some all any each every our their his her
    its my your this that these those no not new further additional general overall everyone
    everybody someone somebody we they i he she it there here maybe possibly hopefully generally
    """)
_NOT_VERB_SHAPE = re.compile(r"(?:ly|ing|ness|tion|sion|ment|ity|ance|ence|ed)$", re.IGNORECASE)

# Lead-in labels and modal phrases before the verb: "Action item: we will automate ..."
_LEAD_IN = re.compile(
    r"^\s*(?:[-*•]|\d+[.)]|\[\s?[xX ]?\s?\])?\s*(?:(?:action(?:\s+items?)?|ai|todo|follow[- ]?ups?|next\s+steps?|"
    r"corrective(?:\s+action)?|fix|remedy)\s*[:\-–—]\s*)?(?:(?:we|i|they|the\s+team|team)\s+(?:will|should|must|"
    r"need\s+to|shall|are\s+going\s+to|plan\s+to)\s+|let's\s+|let\s+us\s+|to\s+|please\s+)?",
    re.IGNORECASE,
)

# A concrete verb used as an exhortation: the verb with what follows it.
_VAGUE_PHRASE = re.compile(
    r"^(?:raise|increase|build|create|drive)\s+(?:\w+\s+)?(?:awareness|visibility|concerns?|the\s+bar|alignment|"
    r"culture)\b|^keep\s+(?:an\s+eye|\w+\s+in\s+mind|in\s+mind|\w+\s+(?:informed|in\s+the\s+loop|posted))|"
    r"^pay\s+(?:more\s+)?attention|^monitor\s+(?:the\s+situation|things|closely)|^follow\s+up\b|"
    r"^remind\s+(?:people|everyone|everybody|the\s+team|staff|folks)\s+to\b|^check\s+in\b|^look\b",
    re.IGNORECASE,
)
# Adverbs and comparatives that turn an action into "do better": "deploy less", "respond quickly".
_VAGUE_MANNER = re.compile(
    r"\b(?:faster|quicker|sooner|earlier|better|quickly|properly|regularly|carefully|seriously|asap|"
    r"on\s+time|as\s+needed|when\s+possible|(?:more|less|fewer)(?!\s+than)(?=\s+\w+|$))\b",
    re.IGNORECASE,
)

# -- measurable ---------------------------------------------------------------------------------

_NUM = r"(?:\d[\d,]*(?:\.\d+)?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|fifty|a\s+hundred)"
_UNIT = (
    r"(?:%|percent|ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|business\s+days?|"
    r"working\s+days?|weeks?|months?|quarters?|years?|nights?|kb|mb|gb|tb|x|k|rps|qps|points?|rows?|items?|"
    r"requests?|messages?|emails?|attempts?|retries|times|rounds?|reviewers?|approvers?|approvals?|approving\s+reviews?|"
    r"people|persons?|candidates?|agents?|replicas?|instances?|nodes?|users?|customers?|accounts?|tickets?|"
    r"calls?|bugs?|errors?|failures?|incidents?|logins?|failed\s+logins?|team\s+leads?|leads?|reviews?|"
    r"invoices?|orders?|articles?|pages?|logos?|cpu|availability)"
)
_MEASURE_PATTERNS = [
    # a quantity with a unit or counted things: "300 ms", "5%", "3 reviewers", "412 missing invoices"
    rf"(?<![\w.#-]){_NUM}\s*{_UNIT}\b",
    r"(?<![\w.#-])\d+(?:\.\d+)?%",
    # a count of things: a number, up to two words, a plural noun ("412 missing invoices")
    r"(?<![\w.#:-])(?<!version\s)(?<!release\s)(?!(?:19|20)\d\d\b)\d[\d,]*\s+(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*[a-z]s\b(?![.\d])",
    # money
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?\s*[km]?\b",
    # a comparison with a number: "< 300", "under 2 seconds", "at least 5", "more than 10"
    rf"(?:[<>≤≥]=?\s*|\b(?:under|below|above|over|at\s+least|at\s+most|no\s+more\s+than|up\s+to|within|"
    rf"less\s+than|more\s+than|fewer\s+than|exceeds?|drops?\s+(?:below|by)|grows?\s+by|by)\s+){_NUM}\b",
    # a set value of a limit: "limit to 200", "pool limit to 200", "threshold to 85"
    rf"\b(?:limit|cap|threshold|timeout|quota|budget|maximum|max|minimum|min|size|ttl)\s+(?:\w+\s+)?(?:to|at|of)\s+{_NUM}\b",
    r"\bfrom\s+\d+\s+to\s+\d+\b",
    # a time window: "between 09:00 and 16:00", "after 15:00", "02:00-04:00"
    r"\b(?:between|after|before|until)\s+\d{1,2}:\d{2}\b|\b\d{1,2}:\d{2}\s*[-–]\s*\d{1,2}:\d{2}\b",
    # a cadence: "every release", "each sprint", "weekly", "twice a year", "every 30 minutes"
    r"\b(?:every|each|per|after\s+(?:each|every)|with\s+every)\s+(?:\d+\s+)?(?:other\s+)?(?:day|week|month|quarter|"
    r"half-year|year|night|morning|monday|tuesday|wednesday|thursday|friday|sprint|release|deploy|deployment|"
    r"build|change|commit|merge|pr|pull\s+request|run|pay\s+run|shift|launch|incident|payments\s+incident|"
    r"call|interview|import|hire|new\s+hire|minutes?|hours?|days?|weeks?|months?|\w+\s+incident)\b",
    r"\b(?:daily|weekly|fortnightly|monthly|quarterly|nightly|hourly|yearly|annually)\b",
    r"\b(?:once|twice|\w+\s+times)\s+(?:a|per)\s+(?:day|week|month|quarter|year)\b",
    r"\bwithin\s+(?:a|an|one)\s+(?:minute|hour|day|week|business\s+day)\b",
    # "zero open P1 bugs", "no request ... more than"
    r"\bzero\s+\w+",
]
_MEASURABLE = re.compile("|".join(f"(?:{p})" for p in _MEASURE_PATTERNS), re.IGNORECASE)

_GROUP_OWNERS = re.compile(
    r"^(?:everyone|everybody|all|all\s+of\s+us|the\s+team|team|us|we|engineering|ops|devs|tbd|tba|n/?a|none|"
    r"somebody|someone|anyone|\?+|-+)$",
    re.IGNORECASE,
)


def owners(owner: str | None) -> list[str]:
    """The people an owner field names ("Ana, Bo" is two)."""
    if owner is None or not owner.strip():
        return []
    parts = re.split(r"\s*(?:,|/|&|;|\+|\band\b)\s*", owner.strip())
    return [p for p in parts if p]


def owner_part(owner: str | None) -> bool:
    """One named person (not several, not a group)."""
    names = owners(owner)
    return len(names) == 1 and not _GROUP_OWNERS.match(names[0])


def action_body(title: str) -> str:
    """The title without a lead-in label or a modal ("Action item: we will ...")."""
    lead_in = _LEAD_IN.match(title or "")
    return (title or "")[lead_in.end() :] if lead_in else (title or "")


def verb_part(title: str) -> str | None:
    """The concrete action verb the title starts with, or None: no verb, a vague verb ("improve",
    "ensure", "look into"), or a concrete verb used as an exhortation ("raise awareness", "deploy
    less", "respond quickly")."""
    body = action_body(title).strip()
    first = re.match(r"[A-Za-z][\w-]*", body)
    if not first:
        return None
    word = first.group(0).lower()
    if word in VAGUE_VERBS or word in NOT_VERBS or _VAGUE_PHRASE.match(body) or _VAGUE_MANNER.search(body):
        return None
    if word not in CONCRETE_VERBS and (_NOT_VERB_SHAPE.search(word) or len(body.split()) < 2):
        return None
    return first.group(0)


def measurable_part(title: str) -> str | None:
    """The text that makes the action measurable (a quantity with a unit, threshold or
    comparison, or a cadence), or None."""
    found = _MEASURABLE.search(title or "")
    return found.group(0).strip() if found else None


def due_part(due_date: dt.date | None) -> bool:
    return isinstance(due_date, dt.date)


@dataclass(frozen=True)
class Parts:
    owner: bool
    verb: str | None
    measurable: str | None
    due: bool

    @property
    def score(self) -> int:
        return (
            POINTS_OWNER * self.owner
            + POINTS_VERB * (self.verb is not None)
            + POINTS_MEASURE * (self.measurable is not None)
            + POINTS_DUE * self.due
        )


def parts(title: str, *, owner: str | None = None, due_date: dt.date | None = None) -> Parts:
    """Each part of the score, checked on its own."""
    title = (title or "").strip()
    return Parts(
        owner=owner_part(owner),
        verb=verb_part(title) if title else None,
        measurable=measurable_part(title) if title else None,
        due=due_part(due_date),
    )


def specificity(title: str, *, owner: str | None = None, due_date: dt.date | None = None) -> int:
    """0-100: owner 25 + concrete verb 25 + measurable outcome 30 + due date 20; 0 for an empty
    title."""
    if not (title or "").strip():
        return 0
    return parts(title, owner=owner, due_date=due_date).score
