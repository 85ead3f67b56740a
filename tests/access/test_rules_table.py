"""docs/security.md's rules table is the policy's own answer: generated, and checked here."""

from __future__ import annotations

from pathlib import Path

from lessonloop.access import rules_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
START, END = "<!-- rules-table:start -->\n", "<!-- rules-table:end -->"


def documented() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, "the markers of the rules table"
    return text.split(START, 1)[1].split(END, 1)[0]


def test_the_documented_table_is_the_generated_one() -> None:
    """Regenerate with: python -m lessonloop.access.rules_table (and paste between the markers)."""
    assert documented() == rules_table.markdown()


def test_the_table_follows_the_policy() -> None:
    """Spot checks that the generator asks the predicates (a table of constants would fail)."""
    cells = {
        (record, action): dict(zip(rules_table.KINDS, row, strict=True))
        for record, action, row in rules_table.rows()
    }
    private = cells[("private failure", "see it and its review, actions, experiments")]
    assert private["lead"] and private["reporter"] and not private["org admin"] and not private["team admin"]
    assert not any(cells[("team Payments", "make oneself lead")].values())
    feed = cells[("team Payments", "make a team calendar feed")]
    assert [k for k, ok in feed.items() if ok] == ["lead", "team admin"]
    assert [k for k, ok in cells[("org-wide checklist", "create or revise")].items() if ok] == ["org admin"]
