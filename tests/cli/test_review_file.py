"""The review file formats (Markdown and YAML) without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from lessonloop.cli.loop_cmds import parse_markdown_review, read_review_file, review_template
from lessonloop.errors import Invalid
from tests.cli.test_loop import MARKDOWN_REVIEW, YAML_REVIEW


def test_markdown_sections_map_to_review_fields(tmp_path: Path) -> None:
    path = tmp_path / "review.md"
    path.write_text(MARKDOWN_REVIEW, encoding="utf-8")
    answers, primary, secondary = read_review_file(path)
    assert answers["assumption_text"] == "The on-call notes carry everything the next shift needs."
    assert answers["evidence"] == "Nobody had complained before."
    assert answers["gap_type"] == "process"
    assert answers["gap_justification"].startswith("Nothing in the hand-off")
    assert answers["contributing_factors"] == ["Two people on leave", "Pager rota changed the same week"]
    assert answers["reviewers"] == ["ana"]
    assert str(answers["held_at"]) == "2024-05-02"
    assert primary == {
        "title": "Add a 15-minute overlap to every shift change",
        "owner": "ben",
        "due_date": "2030-04-01",
        "review_date": "2030-04-20",
    }
    assert secondary == [{"title": "Write the hand-off checklist", "owner": "ana", "due_date": "2030-03-15"}]


def test_yaml_keys_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(YAML_REVIEW, encoding="utf-8")
    answers, primary, secondary = read_review_file(path)
    assert answers["assumption_text"].startswith("The ranking model")  # `assumption` is an alias
    assert answers["reviewers"] == ["ana", "ben"]
    assert primary["owner"] == "ana" and str(primary["due_date"]) == "2030-03-01"
    assert secondary[0]["review_date"].isoformat() == "2030-02-10"


def test_markdown_is_forgiving_about_layout() -> None:
    source = """# Title is ignored
Text before the first section is ignored too.

### which ASSUMPTION guided the decision
Multi-line
answer.

## What evidence did we have?  ##
<!-- a comment is dropped -->
Logs.

## Contributing factors
1. first
2) second
* third
-

## Reviewers
- ana, ben
- cy

## Primary action
- Title: Fix: the build
- Due date: +7d
- Owner: ben

## Secondary action
<!-- optional -->

## Secondary action
title: Another
owner: ana
due: today
"""
    data = parse_markdown_review(source)
    assert data["assumption_text"] == "Multi-line\nanswer."
    assert data["evidence"] == "Logs."
    assert data["contributing_factors"] == ["first", "second", "third"]
    assert data["primary_action"] == {"Title": "Fix: the build", "Due date": "+7d", "Owner": "ben"}
    assert len(data["secondary_actions"]) == 2


def test_markdown_names_what_is_wrong() -> None:
    with pytest.raises(Invalid) as exc:
        parse_markdown_review("## Lessons\nsomething\n")
    assert exc.value.field == "Lessons"
    with pytest.raises(Invalid) as exc:
        parse_markdown_review("---\n[oops\n---\n## Root cause\nx\n")
    assert exc.value.field == "front matter"


def test_the_template_parses_to_empty_answers() -> None:
    data = parse_markdown_review(review_template(7, "Release slipped"))
    assert data["primary_action"] == {"title": "", "owner": "", "due": ""}
    assert data["contributing_factors"] == [] and data["assumptions"] == []
    assert data["root_cause"] == "" and data["secondary_actions"] == [{}]


def test_reviewers_are_split_on_commas(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("---\nreviewers: ana, ben\n---\n## Primary action\ntitle: t\n", encoding="utf-8")
    answers, primary, secondary = read_review_file(path)
    assert answers["reviewers"] == ["ana", "ben"] and primary == {"title": "t"} and secondary == []


def test_a_heading_or_comment_inside_code_is_part_of_the_answer() -> None:
    """Markdown, not lines: the old hand-written parser took the ``## Gap type`` inside the code
    block for a section of its own and cut the root cause, and dropped the comment in the code."""
    source = """## Root cause
The release script reads its config from a comment:

```
## Gap type
<!-- release: manual -->
```

## Primary action
title: t
"""
    data = parse_markdown_review(source)
    assert data["root_cause"] == (
        "The release script reads its config from a comment:\n\n```\n## Gap type\n<!-- release: manual -->\n```"
    )
    assert "gap_type" not in data


def test_a_heading_inside_a_list_or_quote_is_not_a_section() -> None:
    source = """## Contributing factors
- first
- ## not a section
> ## not one either

## Primary action
- title: t
"""
    data = parse_markdown_review(source)
    assert data["contributing_factors"] == ["first", "not a section", "not one either"]
    assert data["primary_action"] == {"title": "t"}
