"""Who the verified claims are, on both backends: the link first, then the verified e-mail, then
(only when on) a new person; the cases the flow tests do not reach."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.integrations.sso.config import SsoConfig
from lessonloop.integrations.sso.models import SsoIdentity
from lessonloop.integrations.sso.signin import (
    EmailNotVerified,
    LinkedElsewhere,
    NoAccount,
    SignInProblem,
    person_for_claims,
    unlink,
)
from lessonloop.people.models import Membership
from lessonloop.people.service import add_person
from tests.factories import SYSTEM

ISSUER = "https://id.example.com"
OFF = SsoConfig(ISSUER, "c", "s", "", "Example ID", False, "", "member")
JIT = SsoConfig(ISSUER, "c", "s", "", "Example ID", True, "", "member")


def claims(sub: str, email: str | None, verified: Any = True, **more: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": sub, "email": email, "email_verified": verified, **more}


def test_the_email_maps_case_blind_and_a_string_true_counts_as_verified(session: Session) -> None:
    ana = add_person(session, name="Ana", handle="ana", email="Ana@Example.com", viewer=SYSTEM)
    assert (
        person_for_claims(session, claims("s1", "ana@example.COM", "true"), config=OFF, viewer=SYSTEM) == ana
    )


@pytest.mark.parametrize("verified", [False, "false", None, 1, "yes"])
def test_only_a_verified_email_maps(session: Session, verified: Any) -> None:
    add_person(session, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
    with pytest.raises(EmailNotVerified):
        person_for_claims(session, claims("s1", "ana@example.com", verified), config=JIT, viewer=SYSTEM)
    assert session.scalars(select(SsoIdentity)).all() == []


def test_no_email_at_all_is_explained(session: Session) -> None:
    with pytest.raises(EmailNotVerified, match="'email' scope"):
        person_for_claims(session, claims("s1", None), config=JIT, viewer=SYSTEM)


def test_a_person_linked_to_another_subject_is_not_taken_over(session: Session) -> None:
    ana = add_person(session, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
    person_for_claims(session, claims("old-subject", "ana@example.com"), config=OFF, viewer=SYSTEM)
    with pytest.raises(LinkedElsewhere, match="unlink"):
        person_for_claims(session, claims("new-subject", "ana@example.com"), config=OFF, viewer=SYSTEM)
    assert unlink(session, ana, issuer=ISSUER, viewer=SYSTEM) == 1
    assert (
        person_for_claims(session, claims("new-subject", "ana@example.com"), config=OFF, viewer=SYSTEM) == ana
    )


def test_just_in_time_off_refuses_and_on_creates_a_plain_person(session: Session) -> None:
    with pytest.raises(NoAccount, match="Ask an admin"):
        person_for_claims(session, claims("s9", "new@example.com"), config=OFF, viewer=SYSTEM)
    add_person(session, name="Someone", handle="new", email="other@example.com", viewer=SYSTEM)
    person = person_for_claims(
        session, claims("s9", "new@example.com", name="New One"), config=JIT, viewer=SYSTEM
    )
    assert (person.name, person.handle, person.email) == (
        "New One",
        "new-2",
        "new@example.com",
    )  # handle free
    assert session.scalars(select(Membership).where(Membership.person_id == person.id)).all() == []


def test_just_in_time_into_a_missing_team_says_which_setting(session: Session) -> None:
    config = SsoConfig(ISSUER, "c", "s", "", "Example ID", True, "Nowhere", "lead")
    with pytest.raises(SignInProblem, match="LESSONLOOP_OIDC_JIT_TEAM"):
        person_for_claims(session, claims("s9", "new@example.com"), config=config, viewer=SYSTEM)
