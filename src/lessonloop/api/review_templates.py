"""Review templates per failure kind: the extra questions its reviews ask.

Anyone signed in may read them; only org admins may change them (403 otherwise).
"""

from __future__ import annotations

from fastapi import APIRouter

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.reviews import templates
from lessonloop.reviews.schemas import ReviewTemplateOut, SetReviewTemplate, TemplateQuestion

router = APIRouter(route_class=OneThreadRoute, tags=["reviews"], responses=ERROR_RESPONSES)


def _out(view: templates.TemplateView) -> ReviewTemplateOut:
    return ReviewTemplateOut(
        kind=view.kind,
        kind_label=view.kind_label,
        customized=view.customized,
        questions=[TemplateQuestion.model_validate(q) for q in view.questions],
    )


@router.get("/review-templates")
def list_review_templates(session: DbSession, viewer: CurrentViewer) -> list[ReviewTemplateOut]:
    """Every failure kind's review template (the built-in default unless an org admin changed it)."""
    return [_out(v) for v in templates.list_templates(session, viewer=viewer)]


@router.get("/review-templates/{kind}")
def get_review_template(kind: str, session: DbSession, viewer: CurrentViewer) -> ReviewTemplateOut:
    """The review template of one failure kind (404 for an unknown kind)."""
    return _out(templates.get_template(session, kind, viewer=viewer))


@router.put("/review-templates/{kind}")
def set_review_template(
    kind: str, body: SetReviewTemplate, session: DbSession, viewer: CurrentViewer
) -> ReviewTemplateOut:
    """Replace the kind's extra questions, in order (org admins only: 403 otherwise)."""
    questions = [q.model_dump(mode="json") for q in body.questions]
    return _out(templates.set_template(session, kind, questions, viewer=viewer))


@router.delete("/review-templates/{kind}")
def reset_review_template(kind: str, session: DbSession, viewer: CurrentViewer) -> ReviewTemplateOut:
    """Back to the built-in default for the kind (org admins only: 403 otherwise)."""
    return _out(templates.reset_template(session, kind, viewer=viewer))
