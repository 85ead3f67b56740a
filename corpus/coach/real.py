"""Write ``corpus/coach/real.jsonl``: references to every sentence of the real post-mortems.

    .venv/bin/python corpus/coach/real.py

Reads ``../shared/data/*.jsonl`` (public post-mortems; never copied into the repository), splits
each record's ``text`` with the coach's sentence splitter, and writes one reference per sentence:
``{"file", "id", "sentence", "sha1", "blame", "vague_action"}``. Every sentence is labelled
neither blame nor vague, except the ones in ``LABELS`` below, which were read by hand: the
sentences the pre-model rules flagged, each judged on its own (three give "human error" as the
cause; ten are "next steps" items with no mechanism, owner or measure). Some other "Improve
X to ..." items in vendors' reports are grey; they stay labelled negative, so the false-alarm
rate measured on real sentences is, if anything, pessimistic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from lessonloop.signals.coach_corpus import REAL, iter_real_sentences, sentence_sha1  # noqa: E402

# (record id, sentence index) -> labels ("B" blame, "V" vague action, "-" neither)
LABELS = {
    ("danluu-6dcc5d7d879204c0", 0): "B",  # "Human error." as the whole explanation
    ("danluu-e7c7b6f124fa97aa", 0): "B",  # human error given as the cause of an outage
    ("danluu-04a053df4adf63de", 0): "B",  # "Due to a human error, ..."
    ("iddspm-12404df7ca2c34fe", 16): "V",  # improve monitoring, no mechanism
    ("iddspm-747539ba14383ce5", 7): "V",  # engineers will review procedures
    ("iddspm-3c18409cd9ccd893", 7): "V",  # improve our monitoring
    ("iddspm-abe1c6a63babe3b3", 18): "V",  # review of monitoring and alerting
    ("iddspm-46b3aba3ed750ded", 6): "V",  # engineers will review procedures
    ("iddspm-b75b6777dd7a3c2b", 7): "V",  # work with the ISP to streamline
    ("iddspm-d7a433bf2a4dcdae", 9): "V",  # improve the alerting
    ("iddspm-d7a433bf2a4dcdae", 10): "V",  # improve our preventative processes
    ("iddspm-87557243cd91957b", 27): "V",  # improve monitoring/alerting
    ("iddspm-532d28b23e2a5ca0", 2): "V",  # "we need to do better"
}


def main() -> int:
    n = 0
    seen: set[tuple[str, int]] = set()
    with REAL.open("w", encoding="utf-8") as fh:
        for name, rid, i, sentence in iter_real_sentences():
            labels = LABELS.get((rid, i), "-")
            seen.add((rid, i))
            row = {
                "file": name,
                "id": rid,
                "sentence": i,
                "sha1": sentence_sha1(sentence),
                "blame": "B" in labels,
                "vague_action": "V" in labels,
            }
            fh.write(json.dumps(row) + "\n")
            n += 1
    missing = set(LABELS) - seen
    if missing:
        raise SystemExit(f"labelled sentences not found: {sorted(missing)}")
    print(f"wrote {n} references to {REAL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
