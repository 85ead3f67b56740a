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

__all__ = ["DIM", "MODEL_PATH", "CoachModel", "features", "load_model", "lower_case_words"]

DIM = 1 << 18
MODEL_PATH = Path(__file__).with_name("coach_model.json.gz")
FEATURE_VERSION = 7
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


# Capitalised words that are not first names (sentence starters, months, products, ...), for the
# rules (coach.py) and for the model's first word (decision 61).
NOT_NAMES = _wordset(
    """
    the this that these those it its our their his her my your a an and but or if when while after
    before during then also however because since as at in on of for to from by with without once
    eventually finally initially later unfortunately meanwhile both each every all some many most no
    not one two three several other another such there here what which who why how where yes ok okay
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december today yesterday tomorrow tonight
    service services system systems server servers cluster clusters database databases network traffic
    customer customers user users request requests client clients region regions zone zones node nodes
    google amazon aws azure microsoft cloud kubernetes windows linux docker terraform postgres
    postgresql mysql redis kafka github gitlab slack jira okta cloudflare fastly akamai heroku stripe
    facebook meta twitter apple android ios chrome firefox java python ruby rust node elasticsearch
    mongodb cassandra consul vault nginx envoy istio prometheus grafana datadog pagerduty opsgenie
    jenkins ansible puppet chef helm argo spinnaker lambda dynamo dynamodb kinesis route storage
    compute functions front door blob tables queue queues sql api apis dns cdn vpn bgp tls ssl http
    https monitoring alerting replication deployment deployments configuration config the backup
    backups traffic load balancer balancers controller controllers scheduler worker workers process
    processes job jobs task tasks pipeline pipelines build builds release releases update updates
    primary secondary replica replicas leader follower master slave shard shards instance instances
    container containers pod pods host hosts machine machines disk disks memory cache caches engine
    action actions follow-up followup root cause impact summary timeline resolution mitigation
    detection background incident incidents outage outages issue issues error errors note notes step
    steps phase phases part section conclusion lesson lessons everything nothing anything something
    everyone someone nobody anyone kubelet etcd we he she they you i approximately roughly about around
    nearly almost over under up only just even still alerts alert resources settings accounts again
    honestly frankly basically clearly obviously apparently sadly so well yeah yes tbh imo plus also
    seriously really literally actually
    """
)
NOT_NAME_SUFFIX = re.compile(r"(?:tion|sion|ment|ing|ness|ity|ure|ance|ence|ics|ism|ware|ies)$")

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
    adjuster adjusters taker takers stockman stockmen agronomist agronomists
    producer producers sysadmin sysadmins sponsor sponsors board jointer jointers gang gangs
    farmer farmers grower growers landlord owner owners supplier suppliers haulier hauliers hauler
    trucker truckers pilot pilots mechanic mechanics lineman linemen firefighter firefighters
    sergeant detective warden wardens ranger rangers baker bakers butcher butchers scout scouts
    investigator investigators crewman crewmen handyman estimator estimators
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
    recover schedule
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


def lower_case_words(texts: Iterable[str]) -> frozenset[str]:
    """Every word the texts write in lower case somewhere (possessive ``'s`` off): ordinary words.

    A capitalised first word of a sentence is read as a name only when it is not one of these
    (decision 61): "Bob failed to check" names a person, "Backup failed to start" does not, and
    the training corpus (train and dev) is the dictionary that tells them apart. Shipped with the
    model, so prediction reads the same list training did."""
    out: set[str] = set()
    for text in texts:
        for m in _TOKEN.finditer(text):
            word = m.group()
            if word[0].islower():
                low = word.replace("’", "'")
                out.add(low[:-2] if low.endswith("'s") else low)
    return frozenset(out)


def _words(sentence: str, vocab: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(lower-cased word, normalised word) pairs; names become ``<name>``, digits ``0``. The first
    word is a name only when it is capitalised and not an ordinary word (*vocab*)."""
    out: list[tuple[str, str]] = []
    tokens = [m.group() for m in _TOKEN.finditer(sentence)]
    for i, word in enumerate(tokens):
        low = _DIGITS.sub("0", word.lower().replace("’", "'"))
        base = low[:-2] if low.endswith("'s") else low
        norm = low
        # "call-taker", "sub-contractor": a compound whose head is a role is a role; "the head of
        # design" is a person, "the head of the queue" rarely appears in a review.
        head = base.rsplit("-", 1)[-1]
        if (
            base in _ROLE_WORDS
            or word in _ROLE_ACRONYMS
            or ("-" in base and head in _ROLE_WORDS)
            or (base == "head" and tokens[i + 1 : i + 2] == ["of"])
        ):
            norm = "<role>'s" if low.endswith("'s") else "<role>"
        elif (
            (
                i > 0
                or (
                    vocab and base not in vocab and base not in NOT_NAMES and not NOT_NAME_SUFFIX.search(base)
                )
            )
            and word[0].isupper()
            and word[1:2].islower()
            and base not in _COMMON_CAPS
        ):
            norm = "<name>'s" if low.endswith("'s") else "<name>"
        out.append((low, norm))
    return out


def features(sentence: str, rules: Iterable[str] = (), vocab: frozenset[str] = frozenset()) -> list[str]:
    """The feature strings of one sentence (before hashing); *rules* are the rule names that fired,
    *vocab* the ordinary words (:func:`lower_case_words`)."""
    words = _words(sentence, vocab)
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
    feats += _grammar(sentence, words, vocab)
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


def _grammar(sentence: str, words: list[tuple[str, str]], vocab: frozenset[str] = frozenset()) -> list[str]:
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
            out += ["q:" + n for _, n in _words(m.group(1), vocab)]
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
    # Who a cause is pinned on: "because Marcus pushed", "is down to the investigators", "caused
    # the crew to time out" (a person, P) against "because the certificate had expired" (N).
    for i, low in enumerate(lows):
        nxt = lows[i + 1 : i + 2]
        if low in _CAUSAL or (low in _CAUSAL_WITH and nxt == [_CAUSAL_WITH[low]]):
            start = i + 1 if low in _CAUSAL else i + 2
            window = [n for n in norms[start : start + 5] if n not in _STOP_WORDS][:2]
            who = "P" if any(map(_is_person, window)) else "N"
            out.append("g:cause " + who)
            out.append(f"g:{low} {who}")
    # "A competent stockman would have noticed", "Tom should have checked": what a person would
    # or should have done, for any person.
    for i, low in enumerate(lows):
        if low in _MODALS and (lows[i + 1 : i + 2] == ["have"] or low.endswith("'ve")):
            who = "P" if any(map(_is_person, norms[max(0, i - 2) : i])) else "N"
            out.append("g:modal_have " + who)
    # "was reminded three times ... and still submitted it late": told, then did not.
    told = [i for i, w in enumerate(lows) if w in _TOLD]
    if told and any(w in _STILL for w in lows[told[0] + 1 :]):
        out.append("g:told_still")
    return out


_MODALS = _wordset("would should could would've should've could've")
_TOLD = _wordset("told reminded asked warned instructed")
_STILL = _wordset("still anyway regardless ignored kept nevertheless")


# Words after which the cause of something is named ("because Marcus ...", "caused by ...").
_CAUSAL = _wordset("because cause caused causing blame blamed")
# Words that name a cause only with the word after them ("due to", "down to"; not "thanks to",
# which thanks people far more often than it blames them).
_CAUSAL_WITH = {"due": "to", "down": "to", "result": "of", "fault": "of"}


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
    # The ordinary words of the training corpus (decision 61, :func:`lower_case_words`).
    vocab: frozenset[str] = frozenset()

    def probabilities(self, sentence: str, rules: Iterable[str] = ()) -> dict[str, float]:
        x = hashed(features(sentence, rules, self.vocab))
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
    vocab = data.get("vocab", [])
    assert isinstance(vocab, list)
    return CoachModel(
        weights,
        bias,
        threshold,
        str(data["corpus_sha256"]),
        dict(meta) if isinstance(meta, dict) else {},
        rule_threshold,
        frozenset(str(w) for w in vocab),
    )


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> CoachModel:
    """The shipped model (read once per process)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return model_from_dict(json.load(fh))
