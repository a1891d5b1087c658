"""The case scopes written as SQL (tandem/cases/scopes.py) against what each role must reach."""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from tandem.access.models import BreakGlassGrant
from tandem.access.services import (
    care_scope,
    cases_visible_to,
    openable_and_assigned,
    staff_cases_visible_to,
)
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.cases.selectors import case_search


def ids(queryset) -> set[str]:
    return set(queryset.values_list("reference", flat=True))


def open_cases_in_care_of(user) -> set[str]:
    """Today's open cases of a user, as its lists filter them: the ids read once (CareScope)."""
    return ids(Case.objects.filter(care_scope(user).cases("", open_only=True)))


def grant(user, case, *, minutes: int) -> BreakGlassGrant:
    now = timezone.now()
    return BreakGlassGrant.objects.create(
        user=user,
        case=case,
        reason="Covering",
        started_at=now - dt.timedelta(hours=1),
        expires_at=now + dt.timedelta(minutes=minutes),
    )


def third_case(cast, **fields) -> Case:
    client = Client.objects.create(first_name="Rowan", last_name="Third")
    return Case.objects.create(
        reference="T-0003",
        partner_a=client,
        absent_partner=AbsentPartner.UNAVAILABLE,
        phase=Phase.INTAKE,
        opened_on=dt.date(2026, 11, 1),
        **fields,
    )


def test_each_role_reaches_its_own_cases_only(cast):
    other = third_case(cast, therapist=cast.therapist_b)
    # Team members, first and second, and the therapist of a one-therapist case.
    assert ids(cases_visible_to(cast.therapist_a)) == {"T-0001", "T-0002"}
    assert ids(cases_visible_to(cast.cotherapist)) == {"T-0001"}
    assert ids(cases_visible_to(cast.therapist_b)) == {other.reference}
    # Each partner of the couple, whichever side of the case they are on; nobody else's.
    assert ids(cases_visible_to(cast.partner_a)) == {"T-0001"}
    assert ids(cases_visible_to(cast.partner_b)) == {"T-0001"}
    assert ids(staff_cases_visible_to(cast.partner_a)) == set()
    assert (
        ids(cases_visible_to(cast.director)) == ids(cases_visible_to(cast.coordinator)) == ids(Case.objects)
    )
    # Assignment is narrower than reach: a grant opens a case without assigning it.
    grant(cast.therapist_b, cast.couple_case, minutes=30)
    assert ids(cases_visible_to(cast.therapist_b)) == {"T-0001", other.reference}
    assert ids(Case.objects.assigned_to(cast.therapist_b)) == {other.reference}
    assert ids(Case.objects.assigned_to(cast.cotherapist)) == {"T-0001"}


def test_open_cases_in_care_are_the_assigned_open_ones(cast):
    """Today's lists: a therapist's open cases, their own and their teams', found by phase; never a case
    a grant opened or another therapist's; the director's and the front desk's, the practice's."""
    closed_own = third_case(cast, therapist=cast.therapist_a)
    Case.objects.filter(pk=closed_own.pk).update(reference="T-0004", phase=Phase.CLOSED)
    theirs = third_case(cast, therapist=cast.therapist_b)
    grant(cast.therapist_a, theirs, minutes=30)
    assert ids(Case.objects.filter(care_scope(cast.therapist_a).cases(""))) == {"T-0001", "T-0002", "T-0004"}
    assert open_cases_in_care_of(cast.therapist_a) == {"T-0001", "T-0002"}
    assert open_cases_in_care_of(cast.cotherapist) == {"T-0001"}
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.CLOSED)
    assert open_cases_in_care_of(cast.cotherapist) == set()
    assert open_cases_in_care_of(cast.therapist_b) == {theirs.reference}
    assert (
        open_cases_in_care_of(cast.director)
        == open_cases_in_care_of(cast.coordinator)
        == {"T-0002", theirs.reference}
    )
    assert open_cases_in_care_of(cast.partner_a) == set()


def test_an_expired_grant_opens_nothing(cast):
    # The grant's end is compared in the database, in whatever form each backend stores times.
    grant(cast.therapist_b, cast.solo_case, minutes=-1)
    assert ids(cases_visible_to(cast.therapist_b)) == set()
    grant(cast.therapist_b, cast.solo_case, minutes=1)
    assert ids(cases_visible_to(cast.therapist_b)) == {"T-0002"}


def test_the_scope_nests_in_other_queries(cast):
    # As a subquery of a search with its own joins to the partners: no alias of the outer query leaks in.
    found = case_search(
        user=cast.cotherapist, name_filter=Q(partner_b__first_name="Blair"), phase="", therapist=None,
        page=1, per_page=25,
    )  # fmt: skip
    assert [c.reference for c in found.object_list] == ["T-0001"]
    found = case_search(
        user=cast.therapist_a, name_filter=Q(), phase="open", therapist=cast.cotherapist, page=1, per_page=25
    )
    assert [c.reference for c in found.object_list] == ["T-0001"]


def test_among_a_page_of_cases_each_role_opens_and_records_its_own(cast):
    """openable_and_assigned, which the calendars ask about every appointment's case: the same reach as
    staff_cases_visible_to, and recording for the whole practice's roles or the assigned therapists."""
    other = third_case(cast, therapist=cast.therapist_b)
    every = [cast.couple_case.pk, cast.solo_case.pk, other.pk]
    couple, solo = cast.couple_case.pk, cast.solo_case.pk
    assert openable_and_assigned(cast.therapist_a, every) == ({couple, solo}, {couple, solo})
    # The team's second member: the team's case, not the first member's own.
    assert openable_and_assigned(cast.cotherapist, every) == ({couple}, {couple})
    for whole_practice in (cast.director, cast.coordinator):
        assert openable_and_assigned(whole_practice, every) == (set(every), set(every))
    # A grant opens a case to look at, not to record its sessions.
    grant(cast.therapist_b, cast.couple_case, minutes=30)
    assert openable_and_assigned(cast.therapist_b, every) == ({couple, other.pk}, {other.pk})
    # Clients, whichever partner, reach no staff page; nothing asked, nothing read.
    assert openable_and_assigned(cast.partner_a, every) == (set(), set())
    assert openable_and_assigned(cast.partner_b, every) == (set(), set())
    assert openable_and_assigned(cast.therapist_a, []) == (set(), set())
