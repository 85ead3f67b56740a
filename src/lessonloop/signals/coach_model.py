"""The coach's learned model: is a sentence blame, is it a vague action?

A small linear model (two logistic regressions) over hashed features of one sentence:

* word 1- and 2-grams of the lower-cased sentence, with capitalised words that are not the
  first word read as ``<name>`` and digits as ``0`` (so "If Priya had ..." and "If Tom had ..."
  are the same feature);
* character 3- to 5-grams inside each word (``char_wb``), which carry unseen inflections and
  compounds ("mislabelled", "re-look"); a name has neither its own word nor its characters, only
  ``<name>`` (decision 60);
* the sentence's first word and its length bucket, alone and together (terse imperatives such
  as "Look at it." are short and start with a verb);
* which of the coach's hand-written rules fired in the sentence (``rule:<name>``);
* every content word again, tagged with whether the sentence mentions a person at all (a
  ``<name>``, a ``<role>`` or a personal pronoun): ``p:P deleted`` differs from ``p:N deleted``, so
  "the new hire deleted the folder" and "the cleanup job deleted the folder" can be told apart by
  a linear model without one weight per name or role;
* the sentence's grammar, in a few shapes that n-grams only see by accident (decision 52): the
  words in a negation's scope, the words inside quotation marks, reporting words ("the word",
  "said"), and whether the subject of "failed to", the agent of a passive "by ..." and the
  condition of a counterfactual "if/had ... would" is a person (:func:`_grammar`).

Role nouns and departments (``<role>``) include those of clinics, logistics, finance and sales
("pharmacist", "dispatcher", "courier", "customs", "payroll"), so what is learnt from one role
carries to the others.

Every feature is hashed with CRC-32 into :data:`DIM` buckets. The weights were fitted with
scikit-learn by ``scripts/train_coach.py`` on ``corpus/coach`` and are shipped in
``coach_model.json.gz`` next to this module; prediction is a dot product in plain Python (no
numpy, no scikit-learn), linear in the sentence's length: a sentence of *n* characters yields
at most a small multiple of *n* features (about ``4 * n + 8``) plus one per rule that fired.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["DIM", "MODEL_PATH", "CoachModel", "features", "load_model"]

DIM = 1 << 18
MODEL_PATH = Path(__file__).with_name("coach_model.json.gz")
FEATURE_VERSION = 5
SENTENCE_FEATURE_VALUE = 0.5


def _wordset(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string."""
    return frozenset(text.split())


_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*|[?!]")
_DIGITS = re.compile(r"\d")
# Capitalised words that are ordinary words at the start of a clause, not names.
_COMMON_CAPS = frozenset(
    [
        "i",
        "the",
        "a",
        "an",
        "and",
        "but",
        "or",
        "if",
        "when",
        "while",
        "after",
        "before",
        "during",
        "then",
        "also",
        "however",
        "because",
        "since",
        "as",
        "at",
        "in",
        "on",
        "of",
        "for",
        "to",
        "from",
        "by",
        "with",
        "without",
        "once",
        "so",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "our",
        "their",
        "his",
        "her",
        "my",
        "your",
        "we",
        "he",
        "she",
        "they",
        "you",
        "who",
        "what",
        "why",
        "how",
        "where",
        "which",
        "there",
        "here",
        "no",
        "not",
        "yes",
        "ok",
        "okay",
        "great",
        "nice",
        "thanks",
        "well",
        "wow",
        "sure",
        "seriously",
        "honestly",
        "frankly",
        "really",
        "apparently",
        "obviously",
        "of",
        "action",
        "root",
        "cause",
        "next",
        "step",
        "lesson",
        "note",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


# People by role or team: read as ``<role>`` too, so "QA, as usual" teaches "Support, as usual".
_ROLE_WORDS = _wordset(
    """
    intern interns hire hires contractor contractors engineer engineers developer developers dev devs
    operator operators admin admins manager managers lead leads rep reps recruiter recruiters agent
    agents designer designers analyst analysts clerk clerks packer packers buyer buyers planner
    planners supervisor supervisors temp temps vendor agency  bookkeeper dba sdr exec execs
    salesman tester testers team teams crew staff shift department marketing sales finance legal qa
    ops support design hr procurement recruiting  facilities billing shipping warehouse accounting
    payroll security product leadership management
    nurse nurses doctor doctors physician surgeon pharmacist pharmacists resident residents driver
    drivers dispatcher dispatchers courier couriers cashier cashiers teller accountant accountants
    auditor receptionist  coordinator coordinators associate associates technician
    technicians tech techs picker pickers loader loaders foreman trainee trainees newbie junior
    senior seniors salesperson executive ae bdr cfo ceo cto vp director directors editor editors
    reporter chef cook cooks  waiter teacher teachers principal counsellor volunteer
    volunteers consultant consultants freelancer freelancers partner partners merchandiser
    merchandising logistics fulfilment fulfillment dispatch customs purchasing treasury compliance
    revenue onboarding talent frontline helpdesk nursing pharmacy triage admissions radiology sre
    devops     anaesthetist anesthetist paramedic paramedics porter porters
    midwife midwives carer carers locum sorter sorters cleaner cleaners guard guards broker brokers
      underwriter underwriters apprentice apprentices student students tutor tutors
    kid kids panel recruitment engineering  hub depot forwarder forwarders biller billers
    paralegal paralegals lawyer lawyers attorney attorneys counsel solicitor solicitors postdoc
    postdocs researcher researchers scientist scientists author authors assistant
    assistants captain captains officer officers registrar registrars deputy dean professor
    lecturer lecturers instructor instructors clinician clinicians therapist therapists medic
    medics orderly radiographer caretaker janitor subcontractor subcontractors installer installers
    electrician electricians plumber plumbers builder builders architect architects surveyor
    surveyors foremen labourer labourers laborer laborers carpenter carpenters welder welders
    machinist machinists inspector inspectors bartender bartenders barista hostess
    housekeeper housekeepers concierge steward stewards marketer marketers copywriter
    copywriters writer writers forecaster forecasters strategist strategists trader traders banker
    bankers actuary actuaries economist statistician statisticians programmer programmers coder
    coders maintainer maintainers reviewer reviewers approver approvers founder founders cofounder
    chairman chairwoman committee official officials caseworker caseworkers councillor
    councilor mayor staffer staffers aide aides secretary secretaries
    """
)


# Verbs that, after "failed to", describe a machine's action rather than a person's choice: with
# such a verb, "they"/"it" as the subject is read as the system (the rules use the same list).
TECH_VERBS = _wordset(
    """
    start restart boot load connect reconnect respond complete finish execute pull acquire authenticate
    resolve parse compile propagate replicate sync converge elect flush drain forward route serve handle
    process detect trigger fire catch validate meet scale allocate mount bind register return reach
    establish deliver receive persist lock unlock fetch download upload initialize initialise terminate
    launch provision spin come become reboot fail failover match heal expire evict reclaim free retry
    time emit recognize recognise throttle stabilise stabilize transition decrypt encrypt sign verify
    recover
    """
)

# Teams whose lower-case spelling is an ordinary word ("it", "pr"): a role only in capitals. Words
# that name machines as often as people (server, scheduler, controller, handler, backend,
# platform) are not roles at all (decision 60): "the server failed to start" is not about a person.
_ROLE_ACRONYMS = frozenset({"IT", "PR"})

# Words that point at a person without naming one (with ``<name>`` and ``<role>``, they make a
# sentence "about a person" for the ``p:`` features). "We" is left out: in a vendor's report it is
# the company.
_PERSON_WORDS = _wordset(
    """
    i you he she they him her them his their your someone somebody anyone anybody nobody everyone
    whoever person people guy guys
    """
)
# Words too common to carry a person-conditioned meaning.
_STOP_WORDS = _wordset("the a an to of and in on at for with it this that was is be by as we our")


def _lengths(n: int) -> str:
    if n <= 2:
        return "1-2"
    if n <= 5:
        return "3-5"
    if n <= 10:
        return "6-10"
    return "11+"


def _words(sentence: str) -> list[tuple[str, str]]:
    """(lower-cased word, normalised word) pairs; names become ``<name>``, digits ``0``."""
    out: list[tuple[str, str]] = []
    for i, m in enumerate(_TOKEN.finditer(sentence)):
        word = m.group()
        low = _DIGITS.sub("0", word.lower().replace("’", "'"))
        base = low[:-2] if low.endswith("'s") else low
        norm = low
        if base in _ROLE_WORDS or word in _ROLE_ACRONYMS:
            norm = "<role>'s" if low.endswith("'s") else "<role>"
        elif i > 0 and word[0].isupper() and word[1:2].islower() and base not in _COMMON_CAPS:
            norm = "<name>'s" if low.endswith("'s") else "<name>"
        out.append((low, norm))
    return out


def features(sentence: str, rules: Iterable[str] = ()) -> list[str]:
    """The feature strings of one sentence (before hashing); *rules* are the rule names that fired."""
    words = _words(sentence)
    feats: list[str] = []
    norms = [n for _, n in words]
    for low, norm in words:
        feats.append("w:" + norm)
        if norm.startswith("<name>"):
            # A name's spelling says nothing about blame (decision 60): with its own word and
            # character features, "Bob failed to check" and "Priya failed to check" scored 0.77
            # and 0.93, whatever names the corpus happened to use in which sentences.
            continue
        if norm != low:
            feats.append("w:" + low)
        padded = f" {low} "
        for size in (3, 4, 5):
            for k in range(len(padded) - size + 1):
                feats.append("c:" + padded[k : k + size])
    for a, b in zip(["<s>", *norms], [*norms, "</s>"], strict=True):
        feats.append(f"b:{a} {b}")
    first = norms[0] if norms else ""
    length = _lengths(len(words))
    feats += [f"first:{first}", f"len:{length}", f"first-len:{first}|{length}"]
    feats += [f"rule:{name}" for name in rules]
    person = any(n.startswith(("<name>", "<role>")) or n in _PERSON_WORDS for n in norms)
    tag = "P" if person else "N"
    feats += [f"p:{tag} {n}" for n in norms if n not in _STOP_WORDS]
    feats += _grammar(sentence, words)
    return feats


# Words that negate what follows (a contraction ending in "n't" counts too).
_NEGATORS = _wordset("not no never nobody nothing none neither nor without cannot")
# Words that report or name a phrase instead of asserting it ("the word 'careless'", "he said").
_REPORTING = _wordset("word words phrase term label called saying said wrote titled quote quoted")
_QUOTED = re.compile(r"[\"“”]([^\"“”]*)[\"“”]?")
_QUOTE_MARK = re.compile(r"[\"“”‘]|(?<![A-Za-z])'(?=[A-Za-z])|(?<=[a-z.!?,])'(?![a-z])")
_WOULD = re.compile(r"^(would|wouldn't|could've|would've|we'd|they'd|i'd|it'd)$|'d$")


def _is_person(norm: str) -> bool:
    return norm.startswith(("<name>", "<role>")) or norm in _PERSON_WORDS


def _grammar(sentence: str, words: list[tuple[str, str]]) -> list[str]:
    """Features of the sentence's shape that n-grams see only by accident (decision 52): the words
    in a negation's scope (``neg:``), the words inside quotation marks (``q:``) and whether there
    are any, reporting words, and who is the subject or agent of "failed to", passive "by ..." and
    a counterfactual "if/had ... would" (a person ``P`` or not ``N``). "Nobody was careless" and
    "the word 'careless'" then differ from "Dana was careless", and "caused by the courier" from
    "caused by the retry loop", for every name and role at once."""
    lows = [w for w, _ in words]
    norms = [n for _, n in words]
    out: list[str] = []
    scope = 0
    for low, norm in words:
        if low in _NEGATORS or low.endswith("n't"):
            scope = 4
            out.append("g:negated")
        elif scope:
            out.append("neg:" + norm)
            scope -= 1
    if _QUOTE_MARK.search(sentence):
        out.append("g:quote")
        for m in _QUOTED.finditer(sentence):
            out += ["q:" + n for _, n in _words(m.group(1))]
    out += [f"g:report {a}" for a in lows[:-1] if a in _REPORTING]
    for i, norm in enumerate(norms):
        if norm == "failed" and norms[i + 1 : i + 2] == ["to"]:
            before = norms[max(0, i - 3) : i]
            subject = "P" if any(map(_is_person, before)) else "N"
            verb = lows[i + 2] if i + 2 < len(lows) else ""
            people = [n for n in before if _is_person(n)]
            if verb in TECH_VERBS and people and all(n in ("they", "we") for n in people):
                # "the replicas fell behind and they failed to recover": "they" or "we" with a
                # machine verb is more often the system than a person
                subject = "T"
            out.append("g:failed_to " + subject)
        elif norm == "by" and i + 1 < len(norms):
            agent = "P" if any(map(_is_person, norms[i + 1 : i + 3])) else "N"
            out.append("g:by " + agent)
            if i > 0:
                out.append(f"g:{norms[i - 1]} by {agent}")
    if any(_WOULD.search(w) for w in lows):
        starts = [i for i, w in enumerate(lows) if w in ("if", "without") or (i == 0 and w == "had")]
        if starts:
            j = starts[0]
            clause = lows[j : j + 6]
            who = "P" if any(map(_is_person, norms[j : j + 4])) else "N"
            # "If Marta had not spotted it, ..." credits a person; "If Marta had checked" blames
            negated = any(w in _NEGATORS or w.endswith("n't") for w in clause) or lows[j] == "without"
            out.append(f"g:cf {who}")
            out.append(f"g:cf {who} {'neg' if negated else 'pos'}")
    if "part" in lows and "of" in lows:
        out.append("g:part_of")
    return out


def hashed(feats: Iterable[str]) -> dict[int, float]:
    """Bucket values of the features: word n-grams, character n-grams and person-tagged words
    each scaled to unit length (so a long sentence does not outweigh a short one), the
    sentence-level features (``first:``, ``len:``, ``first-len:``, ``rule:`` and the grammar's
    ``g:``, ``neg:``, ``q:``) at
    :data:`SENTENCE_FEATURE_VALUE` each (0.5, chosen by cross-validation on train+dev: at 1 the
    rules' names dominated and the model leaned on them instead of the wording)."""
    blocks: dict[str, dict[int, float]] = {"w": {}, "c": {}, "p": {}, "m": {}}
    for f in feats:
        prefix = f[:2]
        block = (
            blocks["w"]
            if prefix in ("w:", "b:")
            else blocks["c"]
            if prefix == "c:"
            else blocks["p"]
            if prefix == "p:"
            else blocks["m"]
        )
        h = zlib.crc32(f.encode("utf-8")) % DIM
        block[h] = block.get(h, 0.0) + 1.0
    out: dict[int, float] = {}
    for name, counts in blocks.items():
        if name == "m":
            for k, v in counts.items():
                out[k] = out.get(k, 0.0) + v * SENTENCE_FEATURE_VALUE
            continue
        norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
        for k, v in counts.items():
            out[k] = out.get(k, 0.0) + v / norm
    return out


@dataclass(frozen=True)
class CoachModel:
    """Weights and decision thresholds for the two labels (``blame``, ``vague_action``)."""

    weights: dict[str, dict[int, float]]
    bias: dict[str, float]
    threshold: dict[str, float]
    corpus_sha256: str
    meta: dict[str, object]
    # The threshold when one of the label's own rules matched the sentence (at most ``threshold``;
    # chosen by cross-validation like it, decision 60).
    rule_threshold: dict[str, float] = field(default_factory=dict)

    def probabilities(self, sentence: str, rules: Iterable[str] = ()) -> dict[str, float]:
        x = hashed(features(sentence, rules))
        out: dict[str, float] = {}
        for label, w in self.weights.items():
            z = self.bias[label] + sum(v * w.get(k, 0.0) for k, v in x.items())
            out[label] = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
        return out

    def predict(
        self, sentence: str, rules: Iterable[str] = (), backed: Iterable[str] = ()
    ) -> dict[str, bool]:
        """Each label's verdict; *backed* names the labels one of whose own rules matched."""
        probs = self.probabilities(sentence, rules)
        with_rule = set(backed)
        return {
            label: p
            >= (
                self.rule_threshold.get(label, self.threshold[label])
                if label in with_rule
                else self.threshold[label]
            )
            for label, p in probs.items()
        }


def model_from_dict(data: dict[str, object]) -> CoachModel:
    if data.get("feature_version") != FEATURE_VERSION or data.get("dim") != DIM:
        raise ValueError("the coach model was trained with other features; run scripts/train_coach.py")
    labels = data["labels"]
    assert isinstance(labels, dict)
    weights: dict[str, dict[int, float]] = {}
    bias: dict[str, float] = {}
    threshold: dict[str, float] = {}
    rule_threshold: dict[str, float] = {}
    for label, spec in labels.items():
        idx, val = spec["index"], spec["weight"]
        scale = float(spec["scale"])
        weights[label] = {int(i): v * scale for i, v in zip(idx, val, strict=True)}
        bias[label] = float(spec["bias"])
        threshold[label] = float(spec["threshold"])
        rule_threshold[label] = float(spec.get("rule_threshold", spec["threshold"]))
    meta = data.get("meta")
    return CoachModel(
        weights,
        bias,
        threshold,
        str(data["corpus_sha256"]),
        dict(meta) if isinstance(meta, dict) else {},
        rule_threshold,
    )


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> CoachModel:
    """The shipped model (read once per process)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return model_from_dict(json.load(fh))
