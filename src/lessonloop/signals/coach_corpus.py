"""The coach's labelled corpus: loading, the one train/dev/test split, and its fingerprint.

Development tooling for ``scripts/train_coach.py``, ``bench/coach_eval.py`` and the tests; the
coach itself never reads the corpus. Two files under ``corpus/coach/`` in the repository:

* ``written.jsonl``: sentences written for this project (``corpus/coach/written.py`` writes it),
  each ``{"text", "blame", "vague_action", "group", "family", "source"}``;
* ``real.jsonl``: references to sentences of real public post-mortems in ``../shared/data``
  (``{"file", "id", "sentence", "sha1", "blame", "vague_action"}``: the record's ``text`` split by
  the coach's sentence splitter, the sentence's index and the first 12 hex digits of its SHA-1).
  Their text is read from there at build time and never copied into the repository.

The split is made once, by a stable hash of a group key (a template's id, a hand-written
sentence, a post-mortem record's id), so the variants of one template or the sentences of one
report never straddle two splits: 70% train, 15% dev, 15% test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "corpus" / "coach"
WRITTEN = CORPUS / "written.jsonl"
REAL = CORPUS / "real.jsonl"
SHARED = ROOT.parent / "shared" / "data"
LABELS = ("blame", "vague_action")


@dataclass(frozen=True)
class Row:
    text: str
    blame: bool
    vague_action: bool
    group: str
    family: str
    source: str  # "template" | "handwritten" | "labelled" | "fresh" | "real"
    split: str  # "train" | "dev" | "test"

    def label(self, name: str) -> bool:
        return bool(getattr(self, name))


def split_of(group: str) -> str:
    """The split a group key falls in, fixed forever by SHA-256 (not Python's salted hash)."""
    bucket = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def corpus_sha256() -> str:
    """Fingerprint of the labelled corpus files (written sentences and real references)."""
    h = hashlib.sha256()
    for path in (WRITTEN, REAL):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def written_rows() -> list[Row]:
    rows: list[Row] = []
    with WRITTEN.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                rows.append(
                    Row(
                        r["text"],
                        bool(r["blame"]),
                        bool(r["vague_action"]),
                        r["group"],
                        r["family"],
                        r["source"],
                        split_of(r["group"]),
                    )
                )
    return rows


def _sentences(text: str) -> list[str]:
    from lessonloop.signals.coach import split_sentences

    return [text[s:e] for s, e in split_sentences(text)]


def sentence_sha1(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()[:12]


def real_texts(shared: Path = SHARED) -> dict[tuple[str, str], str]:
    """``(file name, record id) -> text`` of the real post-mortems (empty when absent)."""
    out: dict[tuple[str, str], str] = {}
    if not shared.is_dir():
        return out
    for path in sorted(shared.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    record = json.loads(line)
                    out[(path.name, record["id"])] = record.get("text") or ""
    return out


def iter_real_sentences(shared: Path = SHARED) -> Iterator[tuple[str, str, int, str]]:
    """Every ``(file, id, index, sentence)`` of the real post-mortems, in a stable order."""
    for (name, rid), text in real_texts(shared).items():
        for i, sentence in enumerate(_sentences(text)):
            yield name, rid, i, sentence


def real_rows(shared: Path = SHARED) -> list[Row]:
    """The referenced real sentences with their labels; raises if a reference no longer matches."""
    texts = real_texts(shared)
    if not texts:
        return []
    split_cache: dict[tuple[str, str], list[str]] = {}
    rows: list[Row] = []
    with REAL.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            key = (r["file"], r["id"])
            if key not in split_cache:
                split_cache[key] = _sentences(texts[key])
            sentence = split_cache[key][r["sentence"]]
            if sentence_sha1(sentence) != r["sha1"]:
                raise ValueError(f"corpus/coach/real.jsonl: {key} sentence {r['sentence']} changed")
            group = "real:" + r["id"]
            rows.append(
                Row(
                    sentence,
                    bool(r["blame"]),
                    bool(r["vague_action"]),
                    group,
                    "real",
                    "real",
                    split_of(group),
                )
            )
    return rows


def load(shared: Path = SHARED) -> list[Row]:
    """All labelled rows: the written sentences, then the real ones (when ``shared`` exists)."""
    return written_rows() + real_rows(shared)
