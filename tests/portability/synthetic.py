"""Synthetic public-postmortems lines for tests and the import throughput measurement.

    .venv/bin/python -m tests.portability.synthetic 20000 /tmp/pm20k.jsonl
    time .venv/bin/lessonloop --database-url sqlite:////tmp/bench.db import /tmp/pm20k.jsonl \\
        --format public-postmortems
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COMPANIES = ["Acme Cloud", "Globex", "Initech", "Umbrella", "Hooli", "Stark Systems", "Wayne Data"]
SYSTEMS = ["load balancer", "DNS", "database primary", "cache cluster", "deploy pipeline", "CDN", "queue"]
CAUSES = ["a bad config push", "an expired certificate", "a capacity shortfall", "a race in failover"]
CATEGORIES = ["Config Errors", "Hardware/Power Failures", "Conflicts", "Time", "Database", "Uncategorized"]


def records(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    for i in range(n):
        company, system, cause = rnd.choice(COMPANIES), rnd.choice(SYSTEMS), rnd.choice(CAUSES)
        text = (
            f"{company}'s {system} failed after {cause}. Requests in two regions returned errors for "
            f"{rnd.randint(3, 240)} minutes until the change was rolled back and caches were warmed."
        )
        yield {
            "id": f"synthetic-{seed}-{i:07d}",
            "source": "synthetic",
            "company": company,
            "title": f"{company}: {system} outage caused by {cause}",
            "text": text,
            "url": f"https://example.com/postmortems/{i}",
            "categories": rnd.sample(CATEGORIES, rnd.randint(1, 2)),
            "date": None
            if i % 3 == 0
            else f"20{rnd.randint(10, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "extra": {"n": i},
        }


def write(path: Path, n: int, seed: int = 7) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records(n, seed):
            out.write(json.dumps(record) + "\n")
    return path


if __name__ == "__main__":
    write(Path(sys.argv[2]), int(sys.argv[1]))
