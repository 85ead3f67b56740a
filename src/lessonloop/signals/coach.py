"""The coach: flags blame language and vague corrective actions in review text.

Two kinds of finding, each with a character span into the input, a reason and a rewrite:

* ``"blame"`` — language that judges a person instead of describing the situation they were in
  (character words such as *careless* or *lazy*, counterfactuals such as *should have known*,
  *X failed to …* about a person, *X's fault*, *human error* given as the root cause, accusing
  questions such as *why didn't you …*). It hurts learning because people stop telling what
  they saw and why their choice made sense, and the review stops at a person instead of reaching
  the conditions that will catch the next person too.
* ``"vague-action"`` — a remedy that asks people to try harder (*be more careful*, *improve
  communication*, *pay more attention*) instead of changing a tool, a default, a check or a
  step. Such actions cannot be verified as done and do not change what the next person meets.

Whether a sentence is flagged is decided by a small learned model
(:mod:`lessonloop.signals.coach_model`: weights shipped in the package, read in plain Python);
the hand-written rules below (regular expressions plus a little grammar: who is the subject of a
phrase, is it a person or a system, is the remedy in a future or imperative frame) are features
of that model and explain what it flags (span, reason, rewrite). See docs/coach.md.
:func:`score_action` scores how specific one corrective action is;
:func:`coach_review` runs both over a review's fields and actions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from lessonloop.errors import Invalid
from lessonloop.limits import COACH_TEXT_MAX
from lessonloop.signals import specificity
from lessonloop.signals.coach_model import NOT_NAME_SUFFIX, NOT_NAMES, TECH_VERBS, load_model

__all__ = [
    "BLAME",
    "VAGUE_ACTION",
    "ActionScore",
    "Finding",
    "check_size",
    "coach_review",
    "coach_text",
    "score_action",
    "split_sentences",
]

BLAME = "blame"


def _words(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string."""
    return frozenset(text.split())


VAGUE_ACTION = "vague-action"


@dataclass(frozen=True)
class Finding:
    """One flagged phrase: ``text == source[start:end]``."""

    kind: str
    start: int
    end: int
    text: str
    why: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ActionScore:
    """How specific a corrective action is (0-100) and why."""

    score: int
    reasons: list[str] = field(default_factory=list)
    vague: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = _words(
    "e.g i.e etc vs mr mrs ms dr prof inc ltd co corp approx est no fig al jan feb mar apr jun jul aug "
    "sep sept oct nov dec st"
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the sentences in *text*, surrounding whitespace excluded.

    Splits on ``.``/``!``/``?`` followed by whitespace (not after common abbreviations or a
    single capital letter), on blank lines and before list bullets. A run longer than
    ``_MAX_SENTENCE`` characters without a sentence end is cut at whitespace, so the cost of
    coaching stays linear in the length of the text.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith("."):
            before = re.search(r"(?:^|[^\w.])([\w.]+)$", text[max(start, m.start() - 40) : m.start()])
            word = before.group(1).lower().rstrip(".") if before else ""
            if (
                word in _ABBREVIATIONS
                or (len(word) == 1 and word.isalpha())
                or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word)
            ):
                continue
            nxt = _NEXT_CHAR.match(text, m.end())
            if nxt and nxt.group(1).islower():  # "... the U.S. east region": no new sentence
                continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        seg = text[s:e]
        stripped_left = len(seg) - len(seg.lstrip())
        stripped_right = len(seg) - len(seg.rstrip())
        s2, e2 = s + stripped_left, e - stripped_right
        while e2 - s2 > _MAX_SENTENCE:
            cut = text.rfind(" ", s2 + _MAX_SENTENCE // 2, s2 + _MAX_SENTENCE)
            cut = cut if cut > s2 else s2 + _MAX_SENTENCE
            out.append((s2, cut))
            s2 = cut
            while s2 < e2 and text[s2].isspace():
                s2 += 1
        if e2 > s2:
            out.append((s2, e2))
    return out


_MAX_SENTENCE = 500
_NEXT_CHAR = re.compile(r"\s*(\S)")


# --------------------------------------------------------------------------------------------
# People: who is the subject of a phrase
# --------------------------------------------------------------------------------------------

_ROLE_NOUNS = _words("""
    engineer engineers developer developers dev devs operator operators on-call oncall admin admins
    administrator administrators sysadmin sysadmins team teams manager managers lead leads intern
    interns contractor contractors dba dbas sre sres deployer deployers reviewer reviewers approver
    approvers analyst analysts pm pms rep reps staff person people someone somebody anyone anybody
    nobody everyone everybody ops author authors hire hires qa tester testers employee employees
    colleague colleagues coworker coworkers co-worker co-workers member members folks guy guys
    responder responders commander commanders consultant consultants architect architects programmer
    programmers coder coders whoever technician technicians personnel crew squad squads leadership
    """)
_PRONOUNS = {"he": "he", "she": "she", "they": "they", "you": "you", "we": "we", "i": "you"}
_OBJECT_PRONOUNS = {"him": "him", "her": "her", "them": "them", "you": "you", "us": "us", "me": "you"}
_DETERMINERS = _words("the our their a an your my his her this that one any every each some")
# Words that may stand between a subject and its verb ("Bob had simply failed to ...").
_FILLERS = _words("""
    had has have also just simply completely then again clearly obviously really never even apparently
    both all repeatedly once still who that frankly honestly basically totally entirely already
    """)
# Words that end a modifier run before a role noun ("because the on-call" -> "the on-call").
_FUNCTION_WORDS = _words("""
    because and but so when while if then after before since as was were is are had has have been be
    to of in on at by for with from into than that which who whom whose what why how where not no
    or nor also just it its it's this these those there here did does do didn't doesn't don't
    """)
# Capitalised words that are not first names, and word endings that are not (one list for the
# rules and the model: ``coach_model.NOT_NAMES``).
_NOT_NAMES = NOT_NAMES
_NOT_NAME_SUFFIX = NOT_NAME_SUFFIX
_WORD_RE = re.compile(r"[A-Za-z][\w'’-]*")
_NAME_RE = re.compile(r"^[A-Z][a-z]+$")
_ROLE_ALT = "|".join(sorted((re.escape(r) for r in _ROLE_NOUNS), key=len, reverse=True))


@dataclass(frozen=True)
class _Subject:
    start: int
    end: int
    text: str
    kind: str  # "name" | "pronoun" | "role"

    @property
    def display(self) -> str:
        """The subject as it reads mid-sentence in a suggestion."""
        if self.kind == "pronoun":
            return _PRONOUNS.get(self.text.lower(), self.text.lower())
        if self.kind == "role":
            words = self.text.split()
            if words and words[0].lower() in _DETERMINERS:
                words[0] = words[0].lower()
                if words[0] not in {"the", "our", "their", "your"}:
                    words[0] = "the"
                return " ".join(words)
            if self.text.lower() in _INDEFINITE_ROLES:
                return self.text.lower()
            first = words[0] if words[0].isupper() else words[0].lower()
            return " ".join(["the", first, *words[1:]])
        return self.text


_NAME_BLOCKERS = _words("the a an our their your my his its")
_INDEFINITE_ROLES = _words(
    "someone somebody anyone anybody nobody everyone everybody people staff folks whoever personnel"
)


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(text)]


def _strip_possessive(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def _is_name(tokens: list[tuple[int, int, str]], i: int) -> bool:
    word = _strip_possessive(tokens[i][2])
    if not _NAME_RE.match(word) or word.lower() in _NOT_NAMES or _NOT_NAME_SUFFIX.search(word.lower()):
        return False
    if i > 0:
        prev = _strip_possessive(tokens[i - 1][2])
        if prev.lower() in _NAME_BLOCKERS:  # "the Kubelet", "our Scheduler"
            return False
        if prev[:1].isupper() and prev.lower() not in _NOT_NAMES:  # "Front Door", "Cloud Storage"
            return False
    if i + 1 < len(tokens):
        nxt = tokens[i + 1][2]
        if nxt[:1].isupper() and nxt.lower() not in _NOT_NAMES and tokens[i + 1][0] - tokens[i][1] <= 1:
            return False
    return True


def _role_phrase(tokens: list[tuple[int, int, str]], i: int) -> int:
    """Index of the first token of the role phrase ending at token *i*."""
    j = i
    steps = 0
    while j > 0 and steps < 3:
        if tokens[j][0] - tokens[j - 1][1] > 1:
            return j  # punctuation between them ("Root cause: operator error") ends the phrase
        prev = tokens[j - 1][2]
        low = prev.lower()
        if low in _DETERMINERS:
            return j - 1
        if low in _FUNCTION_WORDS or low in _FILLERS:
            return j
        if prev[:1].isupper() and low not in _ROLE_NOUNS and not prev.isupper():
            return j  # a name or a sentence start ("Honestly the intern")
        j -= 1
        steps += 1
    return j


def _subject_before(sentence: str, offset: int) -> _Subject | None:
    """The person that is the grammatical subject just before ``sentence[offset:]``.

    Skips filler words ("had", "simply", "who"); returns ``None`` when the nearest noun is not
    a person (a service, a disk, a job...).
    """
    tokens = _tokens(sentence[:offset])
    i = len(tokens) - 1
    # Nothing but whitespace/commas may sit between the subject and the phrase.
    while i >= 0 and tokens[i][2].lower() in _FILLERS:
        i -= 1
    if i < 0:
        return None
    gap = _WORD_RE.sub("", sentence[tokens[i][1] : offset])
    if re.search(r"[^\s,]", gap):  # "Approximately 10% of ...", "(see below)": not a subject
        return None
    start, end, word = tokens[i]
    low = word.lower()
    if low in _PRONOUNS and (low != "i" or word == "I"):
        return _Subject(start, end, word, "pronoun")
    if low == "one" and i > 0 and tokens[i - 1][2].lower() == "no":
        return _Subject(tokens[i - 1][0], end, sentence[tokens[i - 1][0] : end], "role")
    if low in _ROLE_NOUNS or _strip_possessive(low) in _ROLE_NOUNS:
        if low in {"lead", "leads", "rep", "reps", "member", "members", "hire", "hires", "guy"} and i == 0:
            return None
        first = _role_phrase(tokens, i)
        return _Subject(tokens[first][0], end, sentence[tokens[first][0] : end], "role")
    if _is_name(tokens, i):
        return _Subject(start, end, word, "name")
    # "Karen from finance", "the engineer on the payments team": look past a short prepositional phrase.
    m = _PERSON_WITH_PP.search(sentence[:offset])
    if m:
        inner = _subject_before(sentence, m.start("pp"))
        if inner is not None:
            return inner
    return None


_PERSON_WITH_PP = re.compile(
    r"(?P<pp>\s+(?:from|on|in|at|of)\s+(?:the\s+)?[\w-]+(?:\s+(?:team|squad|group|desk))?)\s*,?\s*$"
)


_PERSON_AFTER = re.compile(
    rf"^\s*(?P<who>(?:(?:the|our|their|a|an|your|my)\s+)?(?:[\w-]+\s+){{0,2}}?(?:{_ROLE_ALT})\b"
    r"|(?:him|her|them|you|us|me)\b|(?-i:[A-Z][a-z]+)\b)",
    re.IGNORECASE,
)


def _subject_after(sentence: str, offset: int) -> _Subject | None:
    m = _PERSON_AFTER.match(sentence[offset:])
    if not m:
        return None
    text = m.group("who")
    start = offset + m.start("who")
    low = text.lower()
    if low in _OBJECT_PRONOUNS:
        return _Subject(start, start + len(text), _OBJECT_PRONOUNS[low], "pronoun")
    last = text.split()[-1].lower()
    if last in _ROLE_NOUNS:
        return _Subject(start, start + len(text), text, "role")
    if _NAME_RE.match(text) and text.lower() not in _NOT_NAMES and not _NOT_NAME_SUFFIX.search(low):
        return _Subject(start, start + len(text), text, "name")
    return None


@lru_cache(maxsize=512)
def _first_person(sentence: str) -> _Subject | None:
    """The first person mentioned anywhere in the sentence (for suggestions only)."""
    tokens = _tokens(sentence)
    for i, (start, end, word) in enumerate(tokens):
        low = _strip_possessive(word.lower())
        if low in _ROLE_NOUNS and low not in {"lead", "leads", "rep", "member", "hire", "guy", "ops"}:
            first = _role_phrase(tokens, i)
            return _Subject(tokens[first][0], end, sentence[tokens[first][0] : end], "role")
        if word in {"he", "she", "they", "He", "She", "They", "I", "We", "we", "You", "you"}:
            return _Subject(start, end, word, "pronoun")
        if _is_name(tokens, i) and i > 0:
            return _Subject(start, start + len(_strip_possessive(word)), _strip_possessive(word), "name")
        if _is_name(tokens, i) and i == 0 and len(tokens) > 1 and tokens[1][2].lower() in _PERSON_VERBS_HINT:
            return _Subject(start, end, word, "name")
    return None


# Verbs that, right after a sentence-initial capitalised word, make it read as a person's name.
_PERSON_VERBS_HINT = _words(
    "was is had has did didn't failed forgot ignored should got just pushed ran merged deployed"
)

_TIME_RE = re.compile(
    r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?:\s?(?:UTC|GMT|[AP]M|[ECMP][SD]T|CET|CEST|BST))?\b"
    r"|\b(?:1[0-2]|0?[1-9])\s?(?:am|pm|AM|PM)\b"
)


def _when(sentence: str) -> str:
    m = _TIME_RE.search(sentence)
    return f" at {m.group()}" if m else " at the time"


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """What a suggestion template may use."""

    sentence: str
    match: re.Match[str]
    subject: _Subject | None

    @property
    def who(self) -> str:
        return self.subject.display if self.subject else "the people involved"

    @property
    def whom(self) -> str:
        if not self.subject:
            return "them"
        return {"he": "him", "she": "her", "we": "us", "they": "them", "you": "you"}.get(
            self.subject.display, self.subject.display
        )

    @property
    def when(self) -> str:
        return _when(self.sentence)

    def group(self, name: str, default: str = "") -> str:
        try:
            value = self.match.group(name)
        except IndexError:
            return default
        return value if value else default

    def rest(self, words: int = 6) -> str:
        """The words after the match, up to the end of the clause."""
        tail = self.sentence[self.match.end() :]
        tail = re.split(r"[.;:!?,()]| - | — | but | and then | because | so ", tail, maxsplit=1)[0]
        out = tail.split()[:words]
        return " ".join(out).strip()


@dataclass(frozen=True)
class _Rule:
    name: str
    kind: str
    pattern: re.Pattern[str]
    why: str
    suggest: Callable[[_Ctx], str]
    # "required": a person must be the subject right before the match (span starts there);
    # "after": a person must follow the match (group ``who``) ;
    # "optional": the subject is looked up for the suggestion only.
    subject: str = "optional"
    # Skip when negated just before ("was not careless", "nobody was negligent").
    negatable: bool = False
    # Skip when the subject is an unrecognised capitalised word or "they" and the verb is technical.
    tech_verb_group: str | None = None
    # Extra check on the whole sentence; return False to skip.
    guard: Callable[[str, re.Match[str]], bool] | None = None


def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# Verbs that, after "failed to", describe a machine's action (one list for the rules and the model).
_TECH_VERBS = TECH_VERBS

_ARTEFACT_NOUNS = (
    r"defaults?|settings?|apis?|interfaces?|design|reading|glance|regex(?:es)?|parser|parsing|library|libraries"
    r"|quorums?|load(?:ing)?|evaluation|initiali[sz]ation|import|imports|fetch(?:ing)?|iterator|sequence"
    r"|consistency|matching|comparison|approach|heuristic|locking|typing|defaults"
)


def _not_in_quotes(sentence: str, m: re.Match[str]) -> bool:
    """False when the match sits inside quotation marks or backticks, or is being talked about."""
    before = sentence[: m.start()]
    for q in ('"', "`"):
        if before.count(q) % 2 == 1:
            return False
    if before.count("“") > before.count("”") or before.count("‘") > before.count("’"):
        return False
    mention = (
        r"\b(?:words?|terms?|phrases?|language|labels?|called|calling|say|saying|avoid|like|as)\s*[:,]?\s*"
        r"(?:[\"'“‘]?[\w-]+[\"'”’]?\s*(?:,|\bor\b|\band\b)\s*)*$"
    )
    return not re.search(mention, before, re.IGNORECASE)


_CONCLUSION = re.compile(
    r"root[- ]cause|\bcause[ds]?\b|\bdue to\b|\bbecause\b|\bconclu|\bblame|\bresult(?:ed)? of\b|\battribut"
    r"|\bled\s+to\b|\bleads?\s+to\b|\bresult(?:ed|s)?\s+in\b|\bcontribut|\btriggered\b|\bboils? down\b|\bcame down to\b|\bcomes down to\b|\bculprit\b|\bsimply\b|\bwas the (?:reason|problem)",
    re.IGNORECASE,
)


def _human_error_is_conclusion(sentence: str, m: re.Match[str]) -> bool:
    if not _not_in_quotes(sentence, m):
        return False
    after = sentence[m.end() :]
    if re.match(
        r"\s*(?:rates?|metrics?|budgets?|analysis|research|studies|factors|reduction|prevention)\b",
        after,
        re.I,
    ):
        return False
    if re.search(
        r"\b(?:not|never|rather than|instead of|isn't|wasn't|beyond|more than)\s+(?:\w+\s+){0,2}$",
        sentence[: m.start()],
        re.I,
    ):
        return False
    if _CONCLUSION.search(sentence):
        return True
    # "Human error; remind staff ..." / "Human error." : the phrase is the whole verdict.
    return bool(re.match(r"\s*[;:.!\-—,(]", after)) and not re.search(r"\w", sentence[: m.start()])


def _negated(sentence: str, m: re.Match[str]) -> bool:
    before = sentence[max(0, m.start() - 40) : m.start()]
    return bool(
        re.search(
            r"\b(?:not|never|no|nobody|no one|none|nothing|isn't|wasn't|weren't|aren't|n't|without)\s+"
            r"(?:(?:\w+|[\w']+)\s+){0,2}$",
            before,
            re.IGNORECASE,
        )
    )


def _s_character(c: _Ctx) -> str:
    word = c.match.group(0).lower()
    return (
        f"Replace the judgement ('{word}') with what happened: what did {c.who} see and know{c.when}, "
        f"what were they trying to achieve, and what made that choice look reasonable then?"
    )


def _s_counterfactual(c: _Ctx) -> str:
    thing = c.rest(8)
    knew = re.search(r"\b(?:known|realised|realized|foreseen|anticipated)\s*$", c.match.group(0), re.I)
    if knew and thing and not thing.lower().startswith(("better", "this", "that", "it ")):
        fact = re.sub(r"^that\s+", "", thing, flags=re.I)
        shown = f"showed that {fact}"
    else:
        shown = "would have shown what was coming"
    return (
        f"Ask what {c.who} actually saw and knew{c.when}: which signal, alert or document {shown}, "
        f"and was it in front of {c.whom}?"
    )


def _s_fault(c: _Ctx) -> str:
    return (
        f"Name conditions, not a culprit: what made {c.who}'s action possible, likely and hard to "
        f"notice, and what would make the same situation safe for whoever meets it next?"
        if c.subject
        else "Name conditions, not a culprit: what made the action possible, likely and hard to notice?"
    )


def _s_human_error(c: _Ctx) -> str:
    return (
        "Treat 'human error' as where the analysis starts: what in the tooling, interface or "
        f"procedure made this slip easy for {c.who} and its effect large, and what guard would "
        "have caught it?"
    )


def _s_failed_to(c: _Ctx) -> str:
    verb = c.group("verb")
    obj = c.rest(5)
    act = f"{verb} {obj}".strip()
    return (
        f"Describe what {c.who} did and why it made sense: what information did {c.who} have{c.when}, "
        f"and what would have prompted {c.whom} to {act}?"
    )


def _s_idiom(c: _Ctx) -> str:
    obj = c.rest(6)
    about = f" ({obj})" if obj else ""
    return (
        f"Say what happened instead of how bad it was{about}: which step went differently than "
        f"planned, and what did {c.who} know and expect at that point?"
    )


def _s_attention(c: _Ctx) -> str:
    return (
        f"Attention is a limited resource: what else was competing for {c.who}'s attention{c.when} "
        f"(pages, parallel tasks, hours awake), and how did the signal reach {c.whom}?"
        if c.subject and c.subject.kind != "pronoun"
        else "Attention is a limited resource: what else was competing for attention at that moment "
        "(pages, parallel tasks, hours awake), and how did the signal reach the person?"
    )


def _s_question(c: _Ctx) -> str:
    return (
        "Ask with curiosity instead of accusation: 'Walk me through what you saw and what options "
        f"you had{c.when} — what made that the sensible next step?'"
    )


def _s_skipped(c: _Ctx) -> str:
    obj = c.rest(5) or "the step"
    return (
        f"Ask what made skipping {obj} reasonable for {c.who}{c.when}: was it known, easy to find, "
        "up to date and fitting the situation, and what pressure (time, pages, defaults) pushed the "
        "other way?"
    )


def _s_judgement(c: _Ctx) -> str:
    return (
        f"Describe the decision and its context: what trade-off was {c.who} making, under what "
        f"pressure, and what information supported it{c.when}?"
    )


_BLAME_RULES: list[_Rule] = [
    _Rule(
        "character",
        BLAME,
        _rx(
            r"\b(?:careless(?:ly|ness)?|sloppy|sloppiness|lazy|laziness|incompeten(?:t|ce)|negligen(?:t|ce|tly)"
            r"|reckless(?:ly|ness)?|stupid(?:ity)?|idiot(?:ic|s)?|clueless|irresponsibl[ey]|dumb|moron(?:ic|s)?"
            r"|not competent|inept(?:itude)?|lax|lousy|shoddy|slapdash|half-?assed|amateur(?:ish)?|rookie"
            r"|unprofessional|sloppily|lazily|recklessly|negligently)\b"
            rf"(?!\s+(?:{_ARTEFACT_NOUNS})\b)(?!-)"
        ),
        "Character words judge a person instead of describing a situation; once someone is "
        "'careless' the review stops asking what made the action easy to take.",
        _s_character,
        negatable=True,
        guard=lambda s, m: _not_in_quotes(s, m) and _judges_a_person(s, m),
    ),
    _Rule(
        "counterfactual",
        BLAME,
        _rx(
            r"\b(?:should|could|would|ought to)(?:\s+have|'ve|\s+of)\s+(?:been\s+)?(?:known|seen|noticed|caught|"
            r"realised|realized|spotted|checked|tested|read|asked|listened|thought|anticipated|foreseen|"
            r"double[- ]checked|verified|been\s+more\s+careful|more\s+careful|paid\s+(?:more\s+)?attention|"
            r"been\s+(?:more\s+)?(?:careful|diligent|thorough|vigilant|attentive)|careful|known\s+better)\b"
        ),
        "Counterfactuals ('should have known') judge a decision with knowledge that only came later "
        "and hide what the person actually knew when they acted.",
        _s_counterfactual,
        subject="required",
        negatable=True,
    ),
    _Rule(
        "failed-to",
        BLAME,
        _rx(
            r"\b(?:(?:had|has|have)\s+)?(?:failed|fails|fail)\s+to\s+(?:properly\s+|even\s+|correctly\s+)?"
            r"(?P<verb>[a-z][a-z-]*)(?:\s+(?:up|down|out|over))?"
        ),
        "'Failed to' aimed at a person measures them against a standard set in hindsight; it "
        "records what they did not do instead of what they did and why it made sense.",
        _s_failed_to,
        subject="required",
        tech_verb_group="verb",
        negatable=True,
    ),
    _Rule(
        "neglected",
        BLAME,
        _rx(
            r"\b(?:neglected|forgot|forgets|forgotten|ignored|ignores|ignoring|disregarded|refused)"
            r"(?:\s+to\s+(?P<verb>[a-z][a-z-]*))?"
        ),
        "'Ignored' and 'forgot' frame a choice as a personal lapse; the useful question is what "
        "made the skipped step easy to miss or reasonable to skip.",
        _s_skipped,
        subject="required",
        tech_verb_group="verb",
        negatable=True,
    ),
    _Rule(
        "did-not-bother",
        BLAME,
        _rx(
            r"\b(?:didn't|did not|didnt|never|couldn't be|could not be|can't be|won't)\s+(?:even\s+)?"
            r"(?:bother(?:ed)?|care|cared|bothered)\b|\bbothered\s+to\b"
            r"|\b(?:didn't|did not|didnt)\s+(?:even|just)\s+(?:\w+)\b"
            r"|\b(?:didn't|did not|didnt|never|doesn't|does not|don't|do not)\s+(?:even\s+)?follow(?:ed)?\s+"
            r"(?:the\s+|our\s+|their\s+|any\s+)?(?:[\w-]+\s+){0,3}?(?:procedures?|process(?:es)?|runbooks?|"
            r"checklists?|instructions|playbooks?|steps|protocols?|polic(?:y|ies)|guidelines?|rules)\b"
            r"|\b(?:didn't|did not|didnt)\s+(?:read|test|check)\s+(?:it|anything|the\s+\w+)\s+(?:first|before)\b"
        ),
        "Saying someone 'didn't bother' or 'didn't follow procedure' assigns intent and hides why "
        "the step was skipped (unknown, outdated, too slow, unclear).",
        _s_skipped,
        subject="required",
    ),
    _Rule(
        "obviously",
        BLAME,
        _rx(
            r"\b(?:obviously|clearly)\s+(?:rushed|didn't|did not|has no|had no|have no|wasn't|was not|weren't|"
            r"were not|isn't|is not|not|ignored|skipped|forgot|never|doesn't|does not|don't|can't)\b"
        ),
        "'Obviously' asserts that the right choice was plain to see; it usually was only after the "
        "outcome was known.",
        _s_judgement,
        subject="optional",
        guard=lambda s, m: (_subject_before(s, m.start()) or _first_person(s)) is not None,
    ),
    _Rule(
        "fault",
        BLAME,
        _rx(
            rf"(?P<who>\b[A-Z][a-z]+|\b(?i:(?:the|our|their|your)\s+(?:[\w-]+\s+){{0,2}}?(?:{_ROLE_ALT})))['’]s\s+"
            r"(?i:(?:own\s+)?(?:fault|mistake|error|negligence|carelessness|screw-?up|blunder|sloppiness|laziness|"
            r"incompetence|poor\s+judge?ment|bad\s+judge?ment|bad\s+call|poor\s+decision|bad\s+decision|doing)\b)",
            0,
        ),
        "Naming whose fault it was ends the inquiry at a person; the same conditions will catch the "
        "next person.",
        _s_fault,
        subject="after",
        guard=lambda s, m: _possessive_is_person(m.group("who")),
        negatable=True,
    ),
    _Rule(
        "at-fault",
        BLAME,
        _rx(
            r"\b(?:is|was|were|are|be|been)\s+(?!not\b|never\b)(?:\w+\s+)?(?:at\s+fault|to\s+blame|responsible\s+for\s+"
            r"(?:this|the|that)\s+(?:mess|screw-?up|disaster|fiasco|failure|outage|incident))\b"
        ),
        "Deciding who is at fault or to blame turns a review into a verdict; people then defend "
        "instead of explaining.",
        _s_fault,
        subject="required",
        negatable=True,
    ),
    _Rule(
        "blame-with",
        BLAME,
        _rx(
            r"\bblame\s+(?:for\s+[\w\s-]{1,40}?\s+)?(?:lies|sits|rests|falls|goes|is)\s+(?:squarely\s+|firmly\s+"
            r"|entirely\s+|solely\s+)?(?:with|on)\b|\b(?:we|i|they)\s+blame\b|\bblame\s+(?:it\s+)?on\b"
        ),
        "Placing blame turns a review into a verdict; people then defend instead of explaining.",
        _s_fault,
        negatable=True,
    ),
    _Rule(
        "on-person",
        BLAME,
        _rx(
            r"\b(?:this|that|it)(?:\s+one)?\s*(?:'s|’s|\s+is|\s+was)\s+(?:all\s+|entirely\s+|totally\s+|squarely\s+"
            r"|completely\s+)?(?:on|down\s+to)\s+(?P<who>(?:the\s+|our\s+)?(?:[\w-]+\s+)?(?:"
            + _ROLE_ALT
            + r")\b|him\b|her\b|them\b|you\b|(?-i:[A-Z][a-z]+)\b)"
        ),
        "'This one is on X' makes a person the cause; the review should find what made their "
        "action possible and likely.",
        _s_fault,
        subject="after",
        negatable=True,
    ),
    _Rule(
        "classic-name",
        BLAME,
        re.compile(r"\b[Cc]lassic\s+(?P<who>[A-Z][a-z]+[a-rt-z])\b(?!\s+[A-Z])"),
        "'Classic X' turns one event into a trait of the person; the review then explains the "
        "person instead of the situation.",
        _s_judgement,
        subject="after",
    ),
    _Rule(
        "judgement",
        BLAME,
        _rx(
            r"\b(?:poor|bad|questionable|terrible|awful|flawed|lapses?\s+(?:in|of))\s+judge?ment\b"
            r"|\bbad\s+call\b|\bcut(?:s|ting)?\s+corners\b|\blike\s+(?:an?\s+)?(?:amateur|idiot|rookie|beginner|child)s?\b"
        ),
        "Grading someone's judgement replaces the question 'what made this choice look right "
        "at the time?' with a verdict.",
        _s_judgement,
        guard=lambda s, m: (
            _not_in_quotes(s, m) and (_subject_before(s, m.start()) or _first_person(s)) is not None
        ),
        negatable=True,
    ),
    _Rule(
        "checked-out",
        BLAME,
        _rx(
            r"\b(?:has\s+been|have\s+been|had\s+been|was|were|is|are|seems?|seemed)\s+(?:completely\s+|totally\s+|"
            r"mentally\s+)?checked\s+out\b|\blet\s+(?:this|it|that|things|the\s+\w+)\s+slip\b"
            r"|\b(?:disappointed|frustrated|annoyed|fed\s+up)\s+(?:in|with|that|by)\s+(?=(?P<who>\S))"
        ),
        "Statements about someone's engagement or the reviewer's disappointment are about the "
        "person, not the work; they make people defend instead of explain.",
        _s_attention,
        guard=lambda s, m: (
            _not_in_quotes(s, m)
            and (_subject_after(s, m.start("who")) if m.group("who") else _subject_before(s, m.start()))
            is not None
        ),
    ),
    _Rule(
        "if-had",
        BLAME,
        _rx(
            r"\bif\s+(?P<who>[^,.;:]{1,40}?)\s+had\s+(?:just\s+|only\s+|actually\s+|simply\s+|even\s+|bothered\s+to\s+)?"
            r"(?:not\s+)?[a-z]+(?:\s+[\w-]+){0,6}?\s*,?\s*(?:we|this|it|none\s+of\s+this|things|nothing)\s*(?:would|'d|could)"
        ),
        "'If X had only ...' is a counterfactual: it judges the decision with knowledge that "
        "only came with the outcome.",
        _s_counterfactual,
        guard=lambda s, m: _subject_before(s, m.end("who")) is not None,
    ),
    _Rule(
        "repeat-offender",
        BLAME,
        _rx(
            r"\b(?:once|yet)\s+again\s*,?\s+(?P<who>(?:the|our)\s+(?:[\w-]+\s+){0,2}?(?:"
            + _ROLE_ALT
            + r")\b|he\b|she\b|they\b|you\b|(?-i:[A-Z][a-z]+)\b)"
            r"|\b(?:can't|cannot|can\s+not|couldn't|doesn't\s+know\s+how\s+to|don't\s+know\s+how\s+to)\s+"
            r"(?:do|manage|handle|be\s+trusted\s+with)\s+(?:his|her|their|your|its)\s+(?:own\s+)?"
            r"(?:job|time|work|workload|priorities|team)\b|\bcan't\s+be\s+trusted\b"
        ),
        "Framing a person as a repeat offender or as unable to do their job judges the person; it "
        "hides what in their situation keeps producing the same outcome.",
        _s_judgement,
        guard=lambda s, m: (
            _not_in_quotes(s, m)
            and (_subject_after(s, m.start("who")) if m.group("who") else _subject_before(s, m.start()))
            is not None
        ),
    ),
    _Rule(
        "human-error",
        BLAME,
        _rx(
            r"\b(?:human|operator|user|pilot|engineer|personnel|people|staff|manual)\s+(?:errors?|mistakes?|failures?)\b"
            r"|\bpebkac\b|\bid-?10-?t\b"
        ),
        "'Human error' as a conclusion names where the analysis should start, not where it ends; "
        "it explains nothing about why the slip was easy or why it mattered so much.",
        _s_human_error,
        guard=_human_error_is_conclusion,
    ),
    _Rule(
        "mistake-by",
        BLAME,
        _rx(
            r"\b(?:a|an|the)?\s*(?:\w+\s+)?(?:mistake|error|blunder|screw-?up|typo|lapse|fault)\s+(?:by|from|of)\s+"
            rf"(?P<who>(?:the\s+|our\s+)?(?:[\w-]+\s+)?(?:{_ROLE_ALT})\b|(?-i:[A-Z][a-z]+)\b|him\b|her\b|them\b)"
        ),
        "Attributing the failure to a person's mistake stops the review at the person instead of "
        "the conditions that made the mistake likely.",
        _s_judgement,
        subject="after",
        guard=lambda s, m: not re.match(r"(?:an?|the)?\s*(?:\w+\s+)?error\s+(?:of|from)\b", m.group(0), re.I),
        negatable=True,
    ),
    _Rule(
        "idiom",
        BLAME,
        _rx(
            r"\b(?:dropped|drops|drop|dropping)\s+the\s+ball\b|\basleep\s+at\s+the\s+(?:wheel|switch)\b"
            r"|\basleep\s+on\s+the\s+job\b|\bfell\s+asleep\b|\bout\s+to\s+lunch\b|\bblew\s+it\b"
        ),
        "Idioms like 'dropped the ball' summarise a judgement about a person and skip what "
        "actually happened and why.",
        _s_idiom,
        negatable=True,
    ),
    _Rule(
        "messed-up",
        BLAME,
        _rx(
            r"\b(?:messed|screwed|fucked|cocked|stuffed|mucked)\s+(?:it\s+|this\s+|things\s+|everything\s+)?up\b"
            r"|\b(?:botched|fumbled|bungled|butchered|flubbed)\b"
        ),
        "'Messed up' grades a person's performance instead of describing the steps and the "
        "information they had.",
        _s_idiom,
        subject="required",
        negatable=True,
    ),
    _Rule(
        "attention",
        BLAME,
        _rx(
            r"\b(?:not|wasn't|weren't|wasnt|isn't|aren't|never|didn't|stopped)\s+(?:really\s+|even\s+)?"
            r"(?:paying\s+attention|pay\s+attention|thinking|concentrating|focused|focusing|listening)\b"
            r"|\b(?:wasn't|weren't|was\s+not|were\s+not)\s+(?:really\s+)?(?:paying\s+)?attention\b"
            r"|\bnot\s+taking\s+(?:ownership|responsibility|it\s+seriously)\b|\black\s+of\s+(?:ownership|care"
            r"|diligence|attention|discipline|professionalism|effort|accountability)\b"
            r"|\bdistracted\b|\binattenti(?:ve|on)\b"
        ),
        "'Not paying attention' blames a limited resource; it hides the workload, noise and "
        "signals that competed for attention at that moment.",
        _s_attention,
        guard=lambda s, m: _attention_is_about_people(s, m),
    ),
    _Rule(
        "accusing-question",
        BLAME,
        _rx(
            r"\bwhy\s+(?:on\s+earth\s+|the\s+hell\s+|tf\s+)?(?:didn't|did|would|wouldn't|couldn't|don't|do|"
            r"did\s+not|would\s+not)\s+(?:you|he|she|they|anyone|anybody|someone|nobody|the\s+(?:[\w-]+\s+)?"
            rf"(?:{_ROLE_ALT})|(?-i:[A-Z][a-z]+))\b"
            r"|\bwhat\s+(?:were|was)\s+(?:you|they|he|she|(?-i:[A-Z][a-z]+))\s+thinking\b"
            r"|\b(?:you|he|she|they)\s+didn't\s+even\b|\bhow\s+could\s+(?:you|he|she|they|anyone)\b"
            r"|\bcan't\s+believe\s+(?:you|he|she|they|(?-i:[A-Z][a-z]+))\b"
            r"|\b(?:has|have|had)\s+no\s+idea\s+what\s+(?:he|she|they|you)\b"
            r"|\bif\s+(?:\w+\s+){0,3}had\s+(?:just\s+|only\s+|actually\s+|simply\s+)?(?:done\s+(?:his|her|their|"
            r"your|my|our)\s+job|listened|paid\s+attention|been\s+(?:more\s+)?careful|bothered)\b"
            r"|\b(?:got|get|gets|getting|was|were|being|is)\s+(?:just\s+|too\s+)?lazy\b(?!-)"
            r"|\bnot\s+cut\s+out\s+for\b|\bout\s+of\s+(?:his|her|their|your)\s+depth\b|\bin\s+over\s+(?:his|her|their|your)\s+head\b"
            r"|\b(?:you|he|she|they|we)\s+had\s+(?:one|a\s+single)\s+job\b"
            r"|\b(?:no\s+idea|not\s+knowing|didn't\s+know|doesn't\s+know|don't\s+know)\s+what\s+(?:he|she|they|you)\s*"
            r"(?:'s|'re|was|were|is|are)\s+doing\b"
            r"|\bwhose\s+(?:bright\s+|brilliant\s+|great\s+|genius\s+)?idea\s+was\s+(?:it|this|that)\b"
            r"|\bhabit\s+of\s+(?:skipping|ignoring|cutting|forgetting|rushing|not\s+\w+ing)\b"
            r"|\b(?:yolo(?:'d|ed|ing)?|cowboy(?:ed|ing)?)\b"
            r"|\brushed\s+(?:it|this|the\s+\w+)\s+(?:to|so|because|out)\b"
        ),
        "Accusing questions and verdicts put people on the defensive; they then explain less, "
        "and the review learns less.",
        _s_question,
        guard=_not_in_quotes,
    ),
]


# Nouns a character adjective may judge ("a careless typo", "sloppy work"): a person's acts.
_HUMAN_ACTS = _words("""
    mistake mistakes error errors typo typos work job review reviews decision decisions choice choices
    attitude behaviour behavior move oversight slip slips handling coding code commit commits change
    changes deploy deployment planning testing approach attempt act conduct management engineering
    practice practices person people guy guys
    """)
_LINKING = _words("""
    and or but with about to in of when for on at during by as while so that because if after before
    enough again this it
    """)


def _judges_a_person(sentence: str, m: re.Match[str]) -> bool:
    """An adjective used before a noun judges a person only for nouns that are a person's acts.

    "was careless", "carelessly granted", "a careless typo", "sloppy work": yes;
    "lax input validation", "careless defaults in the library": no (a system is described).
    """
    word = m.group(0).lower()
    if word.endswith("ly"):
        # Adverbs judge a person only when one is around ("the admin carelessly granted"), not in
        # "carelessly written regexes can backtrack".
        return _first_person(sentence) is not None
    if not re.fullmatch(
        r"careless|sloppy|lazy|reckless|stupid|lax|dumb|clueless|irresponsible|idiotic|inept|lousy|shoddy"
        r"|slapdash|half-?assed|amateur(?:ish)?|rookie|unprofessional",
        word,
    ):
        return True  # nouns ("negligence") always judge
    nxt = re.match(r"\s*([A-Za-z][\w-]*)", sentence[m.end() :])
    if not nxt:
        return True
    following = nxt.group(1).lower()
    if following in _LINKING or following in _ROLE_NOUNS or following in _HUMAN_ACTS:
        return True
    # A verb after the adjective ("got lazy and skipped"): predicative use.
    return bool(re.fullmatch(r"\w+(?:ed|ly)", following))


def _possessive_is_person(who: str) -> bool:
    words = who.split()
    last = words[-1].lower()
    if last in _ROLE_NOUNS:
        return True
    return (
        len(words) == 1
        and bool(_NAME_RE.match(who))
        and who.lower() not in _NOT_NAMES
        and not (_NOT_NAME_SUFFIX.search(who.lower()))
    )


def _attention_is_about_people(sentence: str, m: re.Match[str]) -> bool:
    if not _not_in_quotes(sentence, m):
        return False
    phrase = m.group(0).lower()
    if phrase.startswith(("lack of", "not taking")):
        return True
    if phrase in {"distracted", "inattentive", "inattention"}:
        return _first_person(sentence) is not None
    # "X was not paying attention": a person must be around (it is not "the parser was not thinking").
    return _subject_before(sentence, m.start()) is not None or _first_person(sentence) is not None


# ---- vague actions -------------------------------------------------------------------------

_QUALITIES = (
    r"careful|vigilant|diligent|thorough|mindful|aware|disciplined|attentive|cautious|proactive|responsive"
    r"|thoughtful|rigorous|conscientious|alert|deliberate|intentional|focused|accountable|organi[sz]ed"
    r"|professional|responsible|communicative|transparent|rigorous|methodical|meticulous"
)
_SOFT_NOUNS = (
    r"awareness|vigilance|diligence|care|caution|attention|focus|discipline|ownership|accountability"
    r"|communication|comms|coordination|collaboration|planning|rigou?r|thoroughness|carefulness"
    r"|teamwork|alignment|visibility|transparency|oversight|scrutiny|training"
)
_SOFT_TARGETS = (
    r"communication|comms|processe?s?|monitoring|coordination|collaboration|quality|documentation|docs"
    r"|testing|tests|visibility|awareness|reliability|culture|our\s+game|practices|procedures|handoffs?"
    r"|hand-offs?|onboarding|training|planning|reviews?|code\s+reviews?|alerting|observability|security"
    r"|ownership|accountability|hygiene|discipline|knowledge\s+sharing|things|workflows?|operations"
)

# A sentence that states how, with what number or by when is not vague.
_CONCRETE = re.compile(
    r"\d|\bso\s+that\b|\bby\s+(?:adding|automating|writing|removing|requiring|blocking|introducing|"
    r"creating|building|enforcing|configuring|setting|moving|migrating|replacing|switching)\b"
    r"|\balert(?:s|ing)?\s+(?:when|if|on)\b|\bowner\s*[:=]|\bdue\s*[:=]|\bwithin\s+\w+\s+(?:minutes|hours|days)"
    r"|\bpre-?(?:commit|merge|deploy)\s+(?:check|hook)|\blinter?\s+rule\b|\bci\s+(?:check|job|step)\b"
    r"|\bautomat(?:ed|ic|ically|e|ion)\b"
    r"|\b(?:identified|detected|caught|validated|checked|verified|blocked|rejected)\s+(?:before|prior\s+to)\b",
    re.IGNORECASE,
)
# A sentence framed as a remedy: imperative, future, obligation, an action-item label.
_REMEDY_FRAME = re.compile(
    r"\b(?:should|must|need(?:s)?\s+to|needs?|have\s+to|has\s+to|going\s+forward|from\s+now\s+on|next\s+time|in\s+"
    r"(?:the\s+)?future|will|we'll|let's|let\s+us|remind|action(?:\s+item)?s?\s*[:\-]|follow[- ]?ups?\s*[:\-]|"
    r"todo\s*[:\-]|fix(?:es)?\s*[:\-]|tell\s+\w+\s+to|please|gotta|got\s+to|ought\s+to|moving\s+forward|ensure|make\s+sure|remember|try|strive|endeavou?r|encourage|ask(?:ed)?\s+(?:\w+\s+)?to"
    r"|expected\s+to|corrective|lesson)",
    re.IGNORECASE,
)


def _starts_imperative(sentence: str, m: re.Match[str]) -> bool:
    """The match is at the start of the sentence/clause (after a label like 'Action item:')."""
    before = sentence[: m.start()]
    before = re.sub(
        r"^.*?(?:action(?:\s+items?)?|follow[- ]?ups?|todo|next\s+steps?|ai|fix|remedy|corrective\s+actions?"
        r"|lesson(?:s)?(?:\s+learned)?)\s*[:\-–—]\s*",
        "",
        before,
        flags=re.IGNORECASE,
    )
    before = re.sub(r"^[\s\-*•\d.)\[\]x]*", "", before)
    before = re.sub(
        r"^(?:(?:just|please|also|and|so|then|simply|everyone|all|folks|team|guys)\W+)*",
        "",
        before,
        flags=re.I,
    )
    if re.fullmatch(
        r"\s*(?:put|place|give|bring|apply|show|use|get|take|work\s+on|focus\s+on|keep|start|begin|continue|need\s+to"
        r"|tell\s+\w+\s+to|ask\s+\w+\s+to|remind\s+\w+\s+to)\s*",
        before,
        re.IGNORECASE,
    ):
        return True
    return before.strip() == "" or bool(re.search(r"[;:,]\s*(?:just\s+|please\s+|and\s+)?$", before))


def _is_remedy(sentence: str, m: re.Match[str]) -> bool:
    if not _not_in_quotes(sentence, m):
        return False
    before = sentence[: m.start()]
    # Retrospective judgements are blame, not remedies ("should have been more careful").
    if re.search(r"\b(?:should|could|would|must)(?:\s+have|'ve)\s+(?:\w+\s+)?$", before, re.I):
        return False
    if re.search(r"\b(?:says?|said|told|tells|reads?)\s+(?:\w+\s+)?to\s+$", before, re.I):
        return False  # reporting what a document or person said
    if _CONCRETE.search(sentence[m.start() :]):
        return False
    if _announces_actions(sentence, m):
        return False
    return bool(_REMEDY_FRAME.search(sentence)) or _starts_imperative(sentence, m)


_ANNOUNCEMENT = re.compile(
    r"\b(?:steps|measures|actions|changes|improvements|what\s+(?:\w+\s+){1,3}doing|efforts?|plans?)\s+"
    r"(?:\w+\s+){0,4}?(?:to|that\s+will)\s+[^.;:!?]{0,80}$",
    re.IGNORECASE,
)


def _announces_actions(sentence: str, m: re.Match[str]) -> bool:
    """'We are taking steps to improve reliability, including: ...' introduces actions stated elsewhere."""
    if _ANNOUNCEMENT.search(sentence[: m.start()]):
        return True
    return bool(re.search(r"\b(?:including|such\s+as|as\s+follows|below)\s*[:,]?\s*$|:\s*$", sentence, re.I))


def _topic_phrase(c: _Ctx) -> str:
    """The words after the vague phrase, preposition kept: 'when editing the LB config'."""
    t = (
        c.group("topic")
        or c.group("topic2")
        or c.group("topic3")
        or c.group("topic4")
        or c.group("topic5")
        or c.rest(7)
    )
    t = re.split(r"[.;:!?,()]| - | — | but | because | so that ", t, maxsplit=1)[0]
    t = " ".join(t.split()[:9])
    t = re.sub(
        r"\s+(?:next\s+time|going\s+forward|in\s+(?:the\s+)?future|from\s+now\s+on|please|again)$",
        "",
        t,
        flags=re.I,
    )
    return t.strip(" .,;")


def _topic(c: _Ctx) -> str:
    t = c.group("topic") or c.rest(7)
    t = re.sub(
        r"^(?:with|about|around|on|of|when|in|during|for|to|before|regarding|that)\s+",
        "",
        t.strip(),
        flags=re.I,
    )
    t = re.sub(
        r"\s+(?:next\s+time|going\s+forward|in\s+(?:the\s+)?future|from\s+now\s+on|please|again)$",
        "",
        t,
        flags=re.I,
    )
    return t.strip(" .,;")


def _s_mechanism(c: _Ctx) -> str:
    phrase = _topic_phrase(c)
    if re.match(r"(?:with|when|around|during|before|after|on|in|about|for|while)\b", phrase, re.I):
        where = f" {phrase}"
    else:
        topic = _topic(c)
        where = f" for {topic}" if topic else ""
    return (
        f"Replace vigilance with a mechanism{where}: what check, alert, default or guard rail would catch "
        "the problem without anyone having to remember? e.g. 'Add a pre-deploy check that blocks … "
        "(owner: …, due: …)'."
    )


def _s_communication(c: _Ctx) -> str:
    phrase = _topic_phrase(c)
    scope = f" ({phrase})" if phrase else ""
    return (
        f"Say who tells whom what, when and through which channel{scope}, e.g. 'The incident commander "
        "posts a status update in #incidents every 30 minutes during SEV-2+ incidents'."
    )


def _s_effort(c: _Ctx) -> str:
    phrase = _topic_phrase(c)
    on = f" ({phrase})" if phrase else ""
    return (
        f"Effort is not a change to the system{on}: which tool, step, default or check should change, "
        "who owns it, by when, and how will you know it worked?"
    )


def _s_soft_noun(c: _Ctx) -> str:
    noun = c.match.group(0).split()[-1].lower()
    if noun in {
        "communication",
        "comms",
        "coordination",
        "collaboration",
        "alignment",
        "teamwork",
        "transparency",
    }:
        return _s_communication(c)
    if noun in {"awareness", "training"}:
        return _s_awareness(c)
    if noun in {"planning", "visibility", "oversight", "scrutiny"}:
        return _s_improve(c)
    return _s_mechanism(c)


def _s_never_again(c: _Ctx) -> str:
    return (
        "State the mechanism that makes a repeat less likely and how you will know it works, e.g. "
        "'Add a test that fails when … ' or 'Alert when … exceeds N for 5 minutes'."
    )


def _s_awareness(c: _Ctx) -> str:
    phrase = _topic_phrase(c)
    about = f" ({phrase})" if phrase else ""
    return (
        f"Put the knowledge{about} into the workflow instead of people's memory: which checklist, "
        "template, linter, default or alert shows it at the moment it is needed?"
    )


def _s_improve(c: _Ctx) -> str:
    target = c.group("target") or _topic(c) or "it"
    return (
        f"Say what exactly changes in {target}, who owns it, by when, and which measurable outcome "
        "shows it worked (e.g. 'alerts reach the on-call within 2 minutes')."
    )


_WHY_VAGUE = (
    "A remedy that asks people to be better cannot be checked as done and changes nothing the next "
    "person meets; the same conditions will produce the same failure."
)
_WHY_COMMS = (
    "'Better communication' names a wish, not a change: nobody can tell when it is done or whether it worked."
)
_WHY_IMPROVE = "'Improve X' with no how, owner or measure cannot be verified and is rarely finished."
_WHY_NEVER = "Promising it will not happen again is an intention, not a mechanism."

_VAGUE_RULES: list[_Rule] = [
    _Rule(
        "be-more",
        VAGUE_ACTION,
        _rx(
            rf"\b(?:be|being|stay|remain|become|get)\s+(?:a\s+(?:bit|little|lot)\s+|much\s+|far\s+|way\s+)?"
            rf"(?:more|extra|especially|very|super|even\s+more|better|really|doubly|extremely|increasingly)?\s*"
            rf"(?:{_QUALITIES})(?=(?P<topic>(?:\s+(?:about|with|around|of|when|in|during|before|on)\b[^.;:!?]*)?))"
        ),
        _WHY_VAGUE,
        _s_mechanism,
        guard=lambda s, m: _is_remedy(s, m) and _be_more_ok(s, m),
    ),
    _Rule(
        "ensure-people-are",
        VAGUE_ACTION,
        _rx(
            rf"\b(?:ensure|make\s+sure|see\s+to\s+it)\s+(?:that\s+)?(?:[\w-]+\s+){{1,3}}?(?:are|is|remain|stay|get)\s+"
            rf"(?:more\s+|extra\s+|always\s+)?(?:{_QUALITIES})\b(?=(?P<topic>[^.;:!?]*))"
        ),
        _WHY_VAGUE,
        _s_mechanism,
        guard=_is_remedy,
    ),
    _Rule(
        "more-soft",
        VAGUE_ACTION,
        _rx(
            rf"\b(?:more|better|increased|greater|heightened|improved|extra|closer|additional|stronger|tighter)\s+"
            rf"(?:{_SOFT_NOUNS})\b(?=(?P<topic>(?:\s+(?:about|with|around|of|on|to|between|across|among|for|in)\b[^.;:!?]*)?))"
        ),
        _WHY_VAGUE,
        lambda c: _s_soft_noun(c),
        guard=lambda s, m: _is_remedy(s, m) or _starts_imperative(s, m) or _is_action_label(s, m),
    ),
    _Rule(
        "pay-attention",
        VAGUE_ACTION,
        _rx(
            r"\b(?:pay|paying|give|giving)\s+(?:a\s+lot\s+)?(?:more|closer|better|extra|greater|careful|much\s+more|"
            r"close|special)\s+(?:attention|heed|care)\b(?=(?P<topic>[^.;:!?]*))"
            r"|\b(?:watch|monitor|follow|track|review|read|check|look\s+at)\s+(?:[\w-]+\s+){0,3}more\s+(?:closely|carefully|"
            r"thoroughly)\b"
            r"|\bkeep(?:ing)?\s+(?:a\s+(?:closer|close|better|careful|sharp)\s+|an\s+)(?:eye|watch)\s+on\b(?=(?P<topic2>[^.;:!?]*))"
            r"|\b(?:take|taking|exercise|exercising|use|using)\s+(?:more|extra|greater|additional|special)\s+"
            r"(?:care|caution)\b"
        ),
        _WHY_VAGUE,
        _s_mechanism,
        guard=_is_remedy,
    ),
    _Rule(
        "try-harder",
        VAGUE_ACTION,
        _rx(
            r"\b(?:try|trying|work|working|strive|push)\s+harder\b|\bdo\s+better\b|\bdo\s+an?\s+(?:better|more\s+\w+)\s+job\b"
            r"|\b(?:get|getting|become|becoming)\s+better\s+at\b|\btry\s+(?:harder\s+)?to\s+(?:catch|spot|notice|detect|find|"
            r"see)\b|\bstep\s+up\b"
            r"|\bup\s+(?:our|their|your|its)\s+game\b|\btry\s+not\s+to\b|\btry\s+to\s+(?:avoid|be|prevent|remember|"
            r"make\s+sure|ensure|not)\b|\bthink\s+twice\b|\bthink\s+(?:more\s+carefully|harder|more\s+about)\b|\bslow\s+down\b|\bthink\s+(?:it|things)\s+through\b"
            r"|\b(?:strive|endeavou?r|aim)\s+to\s+be\b|\bbe\s+better\s+(?:about|at)\b"
            r"|\btighten\s+(?:things|it|this|them|everything)?\s*up\b|\bget\s+(?:our|their|your)\s+act\s+together\b"
            r"|\bown\s+(?:their|our|your|his|her)\s+mistakes\b|\blearn\s+from\s+(?:them|(?:our|their|your|his|her)\s+mistakes)\b"
        ),
        _WHY_VAGUE,
        _s_effort,
        guard=_is_remedy,
    ),
    _Rule(
        "communicate-better",
        VAGUE_ACTION,
        _rx(
            r"\b(?:communicate|communicating|collaborate|coordinate|talk|share|sync|align)\s+(?:\w+\s+){0,3}?"
            r"(?:better|more\s+(?:clearly|often|effectively|openly|proactively)|more)\b(?=(?P<topic>[^.;:!?]*))"
            r"|\bover-?communicate\b"
        ),
        _WHY_COMMS,
        _s_communication,
        guard=_is_remedy,
    ),
    _Rule(
        "improve-x",
        VAGUE_ACTION,
        _rx(
            rf"\b(?:improve|enhance|strengthen|tighten|revisit|review|look\s+at|rethink|streamline|optimi[sz]e)\s+"
            rf"(?:our\s+|the\s+|team\s+|internal\s+|overall\s+|general\s+|existing\s+)*(?P<target>(?:[\w-]+\s+)?(?:{_SOFT_TARGETS}))\b"
            r"(?=(?P<topic>[^.;:!?]*))"
        ),
        _WHY_IMPROVE,
        _s_improve,
        guard=lambda s, m: _is_remedy(s, m) and _starts_imperative_or_framed(s, m),
    ),
    _Rule(
        "never-again",
        VAGUE_ACTION,
        _rx(
            r"\b(?:make\s+sure|ensure|ensuring|guarantee|see\s+to\s+it)\s+(?:that\s+)?(?:this|it|that|something\s+like\s+"
            r"this|this\s+kind\s+of\s+\w+|the\s+same\s+thing|such\s+\w+|these\s+\w+|similar\s+\w+)\s+(?:doesn't|does\s+not|don't|do\s+not|won't|will\s+not|will\s+never|never|can't|cannot)"
            r"\s+(?:\w+\s+)?(?:happen|occur|recur|happens)\b|\bnever\s+(?:happens?|occurs?)\s+again\b"
            r"|\bavoid\s+(?:this|these|that|similar|such)\s+(?:kind\s+of\s+|sort\s+of\s+|type\s+of\s+)?"
            r"(?:mistakes?|errors?|issues?|problems?|incidents?|situations?|things?)\b(?:\s+(?:in\s+(?:the\s+)?future|again))?"
            r"|\bprevent\s+(?:this|it)\s+from\s+happening\s+again\b|\bnot\s+let\s+(?:this|it)\s+happen\s+again\b"
        ),
        _WHY_NEVER,
        _s_never_again,
        guard=_is_remedy,
    ),
    _Rule(
        "awareness",
        VAGUE_ACTION,
        _rx(
            r"\b(?:raise|raising|increase|increasing|build|create|spread|improve)\s+(?:[\w'’]+\s+){0,2}awareness\b(?=(?P<topic>[^.;:!?]*))"
            r"|\bremind(?:er)?s?\s+(?:to\s+)?(?:people|everyone|everybody|engineers|staff|folks|devs|developers|the\s+team"
            r"|the\s+teams|all|them|him|her|the\s+on-?call|operators|team\s+members)\b(?=(?P<topic2>[^.;:!?]*))"
            r"|\b(?:re-?train|re-?educate|educate|coach)\s+(?:the\s+)?(?:team|staff|people|everyone|engineers|developers"
            r"|operators|folks|devs)\b(?=(?P<topic3>[^.;:!?]*))"
            r"|\breinforce\s+(?:the\s+)?(?:importance|need|message|value)\b|\bbest\s+practices\b"
            r"|\bremember\s+to\b(?=(?P<topic4>[^.;:!?]*))|\bmake\s+sure\s+(?:people|everyone|everybody|engineers|folks|"
            r"you|we|they|the\s+team|devs|staff)\s+(?:reads?|follows?|knows?|understands?|are\s+aware|is\s+aware|checks?|tests?|"
            r"double-checks?|remembers?|reviews?)\b(?=(?P<topic5>[^.;:!?]*))"
            r"|\b(?:culture|mindset|sense)\s+of\s+(?:ownership|accountability|quality|responsibility|urgency|safety)\b"
            r"|\btake\s+(?:\w+\s+){1,3}(?:more\s+)?seriously\b|\b(?:make|made|making)\s+(?:\w+\s+){1,2}(?:a\s+)?(?:higher|"
            r"top|bigger|greater)\s+priority\b|\bprioriti[sz]e\s+(?:\w+\s+){1,3}more\b|\bincrease\s+(?:the\s+)?focus\s+on\b"
            r"|\bfocus\s+more\s+on\b|\btake\s+(?:more\s+|full\s+|real\s+)?ownership\b"
            r"|\b(?:put|place)\s+(?:more|greater|extra)\s+(?:focus|emphasis|attention)\s+on\b"
        ),
        _WHY_VAGUE,
        _s_awareness,
        guard=lambda s, m: _is_remedy(s, m) or _starts_imperative(s, m),
    ),
    _Rule(
        "double-check",
        VAGUE_ACTION,
        _rx(
            r"(?<![\w-])double[- ]?check\s+(?!that\b)(?:[\w-]+\s+){0,2}?[\w-]+(?=\s+(?:before|after|when|prior)\b)|"
            r"\bdouble[- ]?check(?:ing)?\s+(?:everything|all|their\s+work|your\s+work|our\s+work|his\s+work|her\s+work"
            r"|things|each\s+other|before)\b|\b(?:triple|double)[- ]check\s+(?:\w+\s+)?(?:changes|work|everything)\b"
            r"|\b(?:check|review|test)\s+(?:everything|all\s+(?:changes|the\s+things))\s+(?:more\s+)?(?:carefully|"
            r"thoroughly|twice)\b|\b(?:check|read|review|test)\s+(?:\w+\s+){0,3}(?:more\s+)?(?:carefully|thoroughly)\b"
        ),
        _WHY_VAGUE,
        _s_mechanism,
        guard=_is_remedy,
    ),
    _Rule(
        "should-be-more",
        VAGUE_ACTION,
        _rx(
            r"\b(?:should|must|need\s+to|needs\s+to|will|have\s+to|has\s+to)\s+(?:all\s+)?(?:be|become|get)\s+"
            r"(?:a\s+(?:bit|little|lot)\s+)?(?:more\s+(?!(?:"
            + _QUALITIES
            + r")\b)\w+|smoother|better|tighter|stricter|clearer|safer|"
            r"faster|easier|stronger)\b(?=(?P<topic>[^.;:!?]*))"
        ),
        _WHY_VAGUE,
        _s_effort,
        guard=lambda s, m: _is_remedy(s, m) and not re.search(r"\d", s),
    ),
    _Rule(
        "better-x-next-time",
        VAGUE_ACTION,
        _rx(r"^\W*(?:better|more)\s+(?:\w+\s+){0,2}(?:next\s+time|going\s+forward|in\s+(?:the\s+)?future)\b"),
        _WHY_VAGUE,
        _s_effort,
    ),
]


def _be_more_ok(sentence: str, m: re.Match[str]) -> bool:
    """Bare 'be careful' counts only with a comparative or in a remedy frame about the failure."""
    phrase = m.group(0).lower()
    if re.search(
        r"\b(?:more|extra|better|especially|even|increasingly|doubly|a bit|a little|much)\b", phrase
    ):
        return True
    after = sentence[m.end() :]
    # "Please be careful: this channel is public" is a warning, not a corrective action.
    if re.match(r"\s*[:!]", after):
        return False
    return bool(
        re.search(
            r"\bnext\s+time\b|\bgoing\s+forward\b|\bfrom\s+now\s+on\b|\bin\s+(?:the\s+)?future\b|\bremind\b"
            r"|\baction\b|\bneeds?\s+to\b|\bshould\b|\bmust\b|\bwill\b|\bfollow[- ]?up\b|\bstay\b",
            sentence,
            re.I,
        )
        or re.match(r"\s*(?:stay|remain)\b", phrase)
    )


def _is_action_label(sentence: str, m: re.Match[str]) -> bool:
    return bool(re.search(r"\b(?:action(?:\s+items?)?|follow[- ]?ups?|todo|corrective)\b", sentence, re.I))


def _starts_imperative_or_framed(sentence: str, m: re.Match[str]) -> bool:
    before = sentence[: m.start()]
    if _starts_imperative(sentence, m):
        return True
    return bool(
        re.search(r"\b(?:to|should|must|will|we'll|let's|need\s+to|needs\s+to|ensure|and)\s+$", before, re.I)
    )


_RULES: list[_Rule] = _BLAME_RULES + _VAGUE_RULES


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _apply(rule: _Rule, sentence: str, base: int) -> Iterable[Finding]:
    for m in rule.pattern.finditer(sentence):
        if rule.guard is not None and not rule.guard(sentence, m):
            continue
        if rule.negatable and _negated(sentence, m):
            continue
        start, end = m.start(), m.end()
        subject: _Subject | None
        if rule.subject == "required":
            subject = _subject_before(sentence, start)
            if subject is None:
                continue
            if rule.tech_verb_group:
                verb = (m.group(rule.tech_verb_group) or "").lower()
                if (
                    verb
                    and verb in _TECH_VERBS
                    and (subject.kind == "name" or subject.text.lower() in {"they", "we"})
                ):
                    continue
            start = subject.start
        elif rule.subject == "after":
            who = m.group("who") if "who" in rule.pattern.groupindex else None
            subject = _subject_after(sentence, m.start("who")) if who else None
            if subject is None:
                continue
        else:
            subject = _subject_before(sentence, start) or _first_person(sentence)
        # Trim the span to visible text.
        text = sentence[start:end]
        lead = len(text) - len(text.lstrip())
        trail = len(text) - len(text.rstrip())
        start, end = start + lead, end - trail
        if end <= start:
            continue
        ctx = _Ctx(sentence, m, subject)
        yield Finding(
            kind=rule.kind,
            start=base + start,
            end=base + end,
            text=sentence[start:end],
            why=rule.why,
            suggestion=rule.suggest(ctx),
        )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop a finding whose span overlaps an earlier-kept, longer finding of the same kind.

    Findings come in order of start (longest first), and the kept ones of a kind never overlap
    each other, so a finding overlaps a kept one exactly when it starts before the furthest end
    kept so far for its kind: one number per kind instead of a scan of everything kept, which
    made a long text (thousands of findings) take minutes.
    """
    kept: list[Finding] = []
    furthest_end: dict[str, int] = {}
    for f in sorted(findings, key=lambda f: (f.start, -(f.end - f.start))):
        if f.start < furthest_end.get(f.kind, -1):
            continue
        kept.append(f)
        furthest_end[f.kind] = max(furthest_end.get(f.kind, -1), f.end)
    return sorted(kept, key=lambda f: (f.start, f.end, f.kind))


def check_size(characters: int) -> None:
    """Refuse more text than the coach reads in one call (``limits.COACH_TEXT_MAX``)."""
    if characters > COACH_TEXT_MAX:
        raise Invalid(f"is too long for the coach (at most {COACH_TEXT_MAX} characters)", field="text")


class Decider(Protocol):
    """What decides whether a sentence is blame or a vague action: the shipped linear model
    (:class:`coach_model.CoachModel`) or the optional fine-tuned one (decision 66)."""

    def predict(
        self, sentence: str, rules: Iterable[str] = (), backed: Iterable[str] = ()
    ) -> dict[str, bool]: ...


_decider: dict[str, Decider | Path | None] = {"configured": None}


def use_model(model: Decider | str | Path | None) -> None:
    """Which model decides for this process: ``None`` or ``""`` the shipped linear one; a path
    the fine-tuned weights ``bench/coach_finetune.py --save`` wrote (checked now, so a bad
    ``LESSONLOOP_COACH_MODEL`` stops the app or the command with its reason; loaded on first use);
    or a model object. Entry points call it with ``Settings.coach_model``."""
    if model is None or model == "":
        _decider["configured"] = None
    elif isinstance(model, str | Path):
        from lessonloop.signals.coach_finetuned import check

        path = Path(model).expanduser().resolve()
        check(path)
        _decider["configured"] = path
    else:
        _decider["configured"] = model


def active_model() -> Decider:
    """The model :func:`use_model` chose (the shipped linear one unless told otherwise)."""
    chosen = _decider["configured"]
    if chosen is None:
        return load_model()
    if isinstance(chosen, Path):
        from lessonloop.signals.coach_finetuned import load_finetuned

        return load_finetuned(chosen)
    return chosen


def coach_text(text: str) -> list[Finding]:
    """Blame and vague-action findings in *text*, ordered by position.

    ``text[f.start:f.end] == f.text`` for every finding ``f``. More than
    ``limits.COACH_TEXT_MAX`` characters is refused with :class:`~lessonloop.errors.Invalid`.
    """
    check_size(len(text or ""))
    if not text or not text.strip():
        return []
    model = active_model()
    findings: list[Finding] = []
    previous = ""
    for s, e in split_sentences(text):
        sentence = text[s:e]
        fired = rule_findings(sentence, s)
        # A short sentence ("Genius.", "Again.") is read with the one before it: alone it says nothing.
        window = f"{previous} {sentence}" if previous and len(sentence.split()) <= _SHORT_WORDS else sentence
        previous = sentence
        if not fired and not _READABLE.search(sentence):
            continue  # no word a person would write (a hash, a token, "aaaa..."): nothing to judge
        backed = {"blame" if f.kind == BLAME else "vague_action" for _, f in fired}
        verdict = model.predict(window, sorted({name for name, _ in fired}), backed)
        for kind, label in ((BLAME, "blame"), (VAGUE_ACTION, "vague_action")):
            if not verdict[label]:
                continue
            own = [f for _, f in fired if f.kind == kind]
            findings.extend(own or [_sentence_finding(kind, sentence, s)])
    return _dedupe(findings)


_SHORT_WORDS = 2
_READABLE = re.compile(r"\b[A-Za-z][a-z'’-]{0,19}\b")


def rule_findings(sentence: str, base: int = 0) -> list[tuple[str, Finding]]:
    """``(rule name, finding)`` for every hand-written rule that matches in one sentence.

    The rules no longer decide alone: their names are features of the model, and their findings
    (span, why, suggestion) explain a sentence the model flags.
    """
    return [(rule.name, f) for rule in _RULES for f in _apply(rule, sentence, base)]


_WHY_SENTENCE = {
    BLAME: (
        "This sentence makes a person, a role or a team the cause (by verdict, counterfactual, "
        "attribution or sarcasm) instead of describing the conditions they worked in; people who "
        "expect a verdict tell less, and the review stops before it finds what will catch the next person."
    ),
    VAGUE_ACTION: (
        "This action asks people to do better or look again without saying what will change: it "
        "cannot be verified as done and changes nothing the next person meets."
    ),
}


def _sentence_finding(kind: str, sentence: str, base: int) -> Finding:
    """A finding over the whole sentence, for a sentence the model flags and no rule explains."""
    at = _when(sentence)
    if kind == BLAME:
        suggestion = (
            f"Describe what happened and what the people involved saw{at}: what made that choice "
            "reasonable at the time, and what check, default or step would catch it next time?"
        )
    else:
        suggestion = (
            "Name the change: which check, alert, default, tool or step, who owns it, by when, and "
            "how you will know it works (a number, a test, 'alert when ...')."
        )
    return Finding(kind, base, base + len(sentence), sentence, _WHY_SENTENCE[kind], suggestion)


# --------------------------------------------------------------------------------------------
# Action scoring
# --------------------------------------------------------------------------------------------


def score_action(title: str, *, owner: str | None = None, due_date: dt.date | None = None) -> ActionScore:
    """Score how specific a corrective action is, 0-100, with a reason per point given or missed.

    The points are :mod:`lessonloop.signals.specificity`'s parts, checked for what they claim
    (one owner +25, a due date +20, a concrete verb +25, a measurable outcome +30), so the score
    the review wizard shows while you type is the score stored on the action and counted in the
    metrics. Vague phrasing ("be more careful", "improve communication") earns no verb point and
    sets ``vague`` with the coach's reason; it takes nothing more off, so the two never disagree.
    """
    title = (title or "").strip()
    if not title:
        return ActionScore(0, ["Empty title: say what will change (0/100)."], True)
    found = specificity.parts(title, owner=owner, due_date=due_date)
    reasons: list[str] = []

    names = specificity.owners(owner)
    if found.owner:
        reasons.append(f"+{specificity.POINTS_OWNER} one owner ({names[0]}) drives it.")
    elif len(names) > 1:
        reasons.append(
            f"+0 of {specificity.POINTS_OWNER}: several owners ({', '.join(names)}); name one person who drives it."
        )
    elif names:
        reasons.append(
            f"+0 of {specificity.POINTS_OWNER}: '{names[0]}' is a group, not an owner; name one person."
        )
    else:
        reasons.append(f"+0 of {specificity.POINTS_OWNER}: no owner; name one person who drives it.")

    if found.due and due_date is not None:
        reasons.append(f"+{specificity.POINTS_DUE} due date ({due_date.isoformat()}) makes it followable.")
    else:
        reasons.append(
            f"+0 of {specificity.POINTS_DUE}: no due date; set one so the action can be followed up."
        )

    if found.verb is not None:
        reasons.append(f"+{specificity.POINTS_VERB} starts with a concrete verb ('{found.verb}').")
    else:
        first = re.match(r"[A-Za-z][\w-]*", specificity.action_body(title).strip())
        shown = f"'{first.group(0)}'" if first else "no verb"
        reasons.append(
            f"+0 of {specificity.POINTS_VERB}: starts with {shown}, which does not say what will be done; "
            "start with the change (add, automate, remove, require, alert, document, test...)."
        )

    if found.measurable is not None:
        reasons.append(
            f"+{specificity.POINTS_MEASURE} has a measurable outcome or check ('{found.measurable}')."
        )
    else:
        reasons.append(
            f"+0 of {specificity.POINTS_MEASURE}: no measurable outcome or check; say how you will know "
            "it works (a number with a unit, a threshold, 'alert when', a cadence, a test). A version "
            "or ticket number is not a measure."
        )

    vague_findings = [f for f in coach_text(title) if f.kind == VAGUE_ACTION]
    vague = bool(vague_findings) or (found.verb is None and found.measurable is None)
    if vague:
        phrases = [f.text for f in vague_findings] or [specificity.action_body(title).split(",")[0][:40]]
        reasons.append(
            f"Vague: {', '.join(repr(p) for p in phrases)} asks people to do better instead of "
            "changing a tool, default or step."
        )
    return ActionScore(found.score, reasons, vague)


# --------------------------------------------------------------------------------------------
# Review convenience
# --------------------------------------------------------------------------------------------


def _as_date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def coach_review(fields: Mapping[str, str | None], actions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Coach a whole review: its text fields and its corrective actions.

    *fields* maps a field name (``"what_happened"``, ``"why"``, ...) to its text; *actions* are
    dicts with ``title`` and optional ``owner`` and ``due_date``/``due`` (a date or ISO string).

    Returns ``{"findings": [...], "actions": [...], "summary": {...}}``; each finding dict has the
    finding's fields plus ``"field"`` (the field it came from, or ``"actions[i].title"``).
    All the text together (fields and action titles) may be at most ``limits.COACH_TEXT_MAX``
    characters; more is refused with :class:`~lessonloop.errors.Invalid` before any work.
    """
    check_size(
        sum(len(text or "") for text in fields.values())
        + sum(len(str(action.get("title") or "")) for action in actions)
    )
    findings: list[dict[str, Any]] = []
    for name, text in fields.items():
        for f in coach_text(text or ""):
            findings.append({"field": name, **f.to_dict()})

    scored: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        title = str(action.get("title") or "")
        owner_value = action.get("owner")
        owner = str(owner_value) if owner_value not in (None, "") else None
        due = _as_date(action.get("due_date", action.get("due")))
        result = score_action(title, owner=owner, due_date=due)
        title_findings = coach_text(title)
        for f in title_findings:
            if f.kind == BLAME:  # vague titles are reported through the score
                findings.append({"field": f"actions[{i}].title", **f.to_dict()})
        scored.append(
            {
                "index": i,
                "title": title,
                "owner": owner,
                "due_date": due.isoformat() if due else None,
                **result.to_dict(),
            }
        )

    blame = sum(1 for f in findings if f["kind"] == BLAME)
    vague_text = sum(1 for f in findings if f["kind"] == VAGUE_ACTION)
    vague_actions = sum(1 for a in scored if a["vague"])
    summary = {
        "blame": blame,
        "vague_action": vague_text,
        "vague_actions": vague_actions,
        "actions": len(scored),
        "mean_action_score": round(sum(a["score"] for a in scored) / len(scored), 1) if scored else None,
        "fields_with_findings": sorted({f["field"] for f in findings}),
        "clean": not findings and not vague_actions,
    }
    return {"findings": findings, "actions": scored, "summary": summary}
