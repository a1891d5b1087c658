"""Couple confidentiality and the release selector: partner B's private content stays B's."""

import pytest
from django.urls import reverse

from tandem.access.clinical import can_read_note
from tandem.records import selectors
from tandem.records.services import note_amend, note_cosign, note_create, process_note_create
from tests.cast import login
from tests.records_support import fill, partner_b_private_note, signed_dap, team_session, template


def _released_text(notes) -> str:
    parts = []
    for note in notes:
        parts += [s.text for s in note.released_sections]
        parts += [a.text + " " + a.reason for a in note.released_amendments]
    return " ".join(parts)


def test_release_without_b_consent_leaves_out_b_private_content(cast):
    note = partner_b_private_note(cast)
    note_amend(actor=cast.therapist_a, note=note, text="B-PRIVATE-AMENDMENT", reason="B asked", private=True)
    note_amend(actor=cast.therapist_a, note=note, text="SHARED-AMENDMENT", reason="typo")
    a_id, b_id = cast.couple_case.partner_a_id, cast.couple_case.partner_b_id

    only_a = _released_text(selectors.notes_releasable(case=cast.couple_case, client_ids=[a_id]))
    assert "B-SHARED-PLAN" in only_a and "SHARED-AMENDMENT" in only_a
    assert "B-PRIVATE-SECRET" not in only_a and "B-PRIVATE-AMENDMENT" not in only_a
    assert selectors.notes_withheld_count(case=cast.couple_case, client_ids=[a_id]) == 2

    with_b = _released_text(selectors.notes_releasable(case=cast.couple_case, client_ids=[a_id, b_id]))
    assert "B-PRIVATE-SECRET" in with_b and "B-PRIVATE-AMENDMENT" in with_b
    assert selectors.notes_withheld_count(case=cast.couple_case, client_ids=[a_id, b_id]) == 0


def test_release_has_only_signed_notes_and_never_process_notes(cast):
    signed = signed_dap(cast)
    draft_session = team_session(cast)
    tmpl = template("dap")
    note_create(
        actor=cast.therapist_a,
        appointment=draft_session,
        template=tmpl,
        sections=fill(tmpl, cast.couple_case, {"Data": "DRAFT-TEXT"}),
    )
    process_note_create(actor=cast.therapist_a, case=cast.couple_case, text="PROCESS-NOTE-TEXT")
    ids = [cast.couple_case.partner_a_id, cast.couple_case.partner_b_id]
    notes = list(selectors.notes_releasable(case=cast.couple_case, client_ids=ids))
    assert [n.pk for n in notes] == [signed.pk]
    text = _released_text(notes)
    assert "DAP-DATA-TEXT" in text and "DRAFT-TEXT" not in text and "PROCESS-NOTE-TEXT" not in text


def test_release_query_count_does_not_grow(cast, django_assert_num_queries):
    ids = [cast.couple_case.partner_a_id]
    note = signed_dap(cast)
    note_cosign(actor=cast.cotherapist, note=note)
    with django_assert_num_queries(3):
        list(selectors.notes_releasable(case=cast.couple_case, client_ids=ids))
    for _ in range(3):
        signed_dap(cast)
    with django_assert_num_queries(3):
        list(selectors.notes_releasable(case=cast.couple_case, client_ids=ids))


@pytest.mark.parametrize("who", ["partner_a", "partner_b"])
def test_clients_see_no_notes_at_all(cast, who):
    note = partner_b_private_note(cast)
    assert not can_read_note(getattr(cast, who), note)


@pytest.mark.parametrize("who", ["partner_a", "partner_b"])
def test_private_content_never_reaches_the_portal(client, cast, who):
    note = partner_b_private_note(cast)
    login(client, getattr(cast, who))
    for url in (
        reverse("portal:home"),
        reverse("records:note", kwargs={"note_id": note.pk}),
        reverse("records:case_notes", kwargs={"case_id": cast.couple_case.pk}),
    ):
        response = client.get(url, follow=True)
        assert b"B-PRIVATE-SECRET" not in response.content
        assert b"B-SHARED-PLAN" not in response.content


def test_clinicians_see_private_content_marked_as_such(client, cast):
    note = partner_b_private_note(cast)
    login(client, cast.cotherapist)
    content = client.get(reverse("records:note", kwargs={"note_id": note.pk})).content.decode()
    assert "B-PRIVATE-SECRET" in content
    assert "Private to Blair" in content
    assert "Individual session with Blair Partner" in content
