"""Record pages: who sees notes, the note form from a template, sign/co-sign/amend, Today, process notes."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.access.services import break_glass_open
from tandem.audit.models import AuditEvent
from tandem.records import selectors
from tandem.records.models import NoteAmendment, NoteStatus, SessionNote
from tandem.records.services import note_cosign, note_create, process_note_create
from tandem.scheduling.models import AppointmentKind
from tests.cast import login
from tests.records_support import fill, limited_secrets, signed_dap, team_session, template

ROLES = {
    "director": 200,
    "therapist_a": 200,
    "cotherapist": 200,
    "therapist_b": 404,  # not on the case
    "coordinator": 404,  # not a clinician: no note bodies
    "partner_a": 404,  # clients never reach staff pages
    "partner_b": 404,
}


def _note_url(note, name="records:note") -> str:
    return reverse(name, kwargs={"note_id": note.pk})


@pytest.mark.parametrize(("role", "status"), ROLES.items())
def test_note_pages_by_role(client, cast, role, status):
    note = signed_dap(cast, text="BODY-ONLY-CLINICIANS")
    login(client, getattr(cast, role))
    for url in (_note_url(note), reverse("records:case_notes", kwargs={"case_id": cast.couple_case.pk})):
        response = client.get(url)
        assert response.status_code == status
        assert (b"BODY-ONLY-CLINICIANS" in response.content) == (status == 200 and url == _note_url(note))
    cosign = client.post(_note_url(note, "records:note_cosign"))
    amend = client.post(_note_url(note, "records:note_amend"), {"text": "x", "reason": "y"})
    if status == 404:
        assert cosign.status_code == 404 and amend.status_code == 404
    note.refresh_from_db()
    if role != "cotherapist":
        assert note.cosigned_by is None
    if role not in ("therapist_a", "cotherapist"):
        assert not NoteAmendment.objects.exists()


def test_case_page_links_to_notes_for_clinicians_only(client, cast):
    url = reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})
    notes = reverse("records:case_notes", kwargs={"case_id": cast.couple_case.pk})
    assert notes in login(client, cast.therapist_a).get(url).content.decode()
    client.logout()
    assert notes not in login(client, cast.coordinator).get(url).content.decode()


def test_write_sign_cosign_amend_through_the_pages(client, cast):
    appointment = team_session(cast)
    login(client, cast.therapist_a)
    notes_page = client.get(
        reverse("records:case_notes", kwargs={"case_id": cast.couple_case.pk})
    ).content.decode()
    new_url = reverse("records:note_new", kwargs={"appointment_id": appointment.pk})
    assert new_url in notes_page
    choose = client.get(new_url)
    assert b"Couple session" in choose.content and b"SOAP" in choose.content
    form = client.get(new_url, {"template": "couple-session"}).content.decode()
    assert "Partner: Alex Partner" in form and "Partner: Blair Partner" in form and "<textarea" in form
    response = client.post(
        f"{new_url}?template=couple-session", {"session": "joint", "s0": "They argued less", "s3": "Weekly"}
    )
    note = SessionNote.objects.get()
    assert response.status_code == 302 and response.url == _note_url(note)
    assert [s.text for s in selectors.note_sections(note)] == ["They argued less", "", "", "Weekly"]

    edit = client.post(
        _note_url(note, "records:note_edit"), {"session": "joint", "s0": "They argued much less"}
    )
    assert edit.status_code == 302
    assert selectors.note_sections(note)[0].text == "They argued much less"
    client.post(_note_url(note, "records:note_sign"))
    note.refresh_from_db()
    assert note.status == NoteStatus.SIGNED and note.signed_by == cast.therapist_a

    client.logout()
    login(client, cast.cotherapist)
    page = client.get(_note_url(note)).content.decode()
    assert "Co-sign the note" in page and "Edit the draft" not in page
    client.post(_note_url(note, "records:note_cosign"))
    client.post(_note_url(note, "records:note_amend"), {"text": "Second thought", "reason": "Forgot it"})
    client.post(_note_url(note, "records:note_amend"), {"text": "Third thought", "reason": "Also forgot"})
    page = client.get(_note_url(note)).content.decode()
    assert "co-signed by Colin Cotherapist" in page
    assert page.index("Second thought") < page.index("Third thought")


def test_signed_note_has_no_edit_form_and_refuses_posts(client, cast):
    note = signed_dap(cast, text="LOCKED-TEXT")
    login(client, cast.therapist_a)
    page = client.get(_note_url(note)).content.decode()
    assert "Edit the draft" not in page and "Sign the note" not in page
    get = client.get(_note_url(note, "records:note_edit"))
    assert get.status_code == 302 and get.url == _note_url(note)
    post = client.post(_note_url(note, "records:note_edit"), {"s0": "TAMPERED"}, follow=True)
    assert b"signed and locked" in post.content
    assert b'<textarea name="s0"' not in post.content
    assert selectors.note_sections(note)[0].text == "LOCKED-TEXT"
    # Re-signing or a create for the same session changes nothing either.
    client.post(_note_url(note, "records:note_sign"))
    create = client.post(
        reverse("records:note_new", kwargs={"appointment_id": note.appointment_id}) + "?template=dap",
        {"s0": "x"},
    )
    assert create.status_code == 302 and SessionNote.objects.count() == 1
    assert selectors.note_sections(note)[0].text == "LOCKED-TEXT"


def test_amend_form_errors_are_plain_and_change_nothing(client, cast):
    note = signed_dap(cast)
    login(client, cast.therapist_a)
    response = client.post(_note_url(note, "records:note_amend"), {"text": "An addition", "reason": ""})
    assert response.status_code == 400
    assert b"Say why the note is amended." in response.content
    assert not NoteAmendment.objects.exists()


def test_director_reads_but_cannot_write(client, cast):
    appointment = team_session(cast)
    login(client, cast.director)
    assert (
        client.get(reverse("records:note_new", kwargs={"appointment_id": appointment.pk})).status_code == 404
    )
    note = signed_dap(cast)
    page = client.get(_note_url(note)).content.decode()
    assert "Add an amendment" not in page and "Co-sign" not in page


def test_note_view_is_audited(client, cast):
    note = signed_dap(cast)
    login(client, cast.director)
    client.get(_note_url(note))
    assert AuditEvent.objects.filter(action="note.view", actor=cast.director, target_id=str(note.pk)).exists()


def test_notes_list_query_count_does_not_grow(client, cast):
    login(client, cast.therapist_a)
    url = reverse("records:case_notes", kwargs={"case_id": cast.couple_case.pk})
    signed_dap(cast)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for _ in range(4):
        note_cosign(actor=cast.cotherapist, note=signed_dap(cast))
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).content.decode().count("Signed</span>") == 5
    assert len(large) == len(small)


def test_today_lists_own_overdue_drafts_and_cosignatures(client, cast):
    old = team_session(cast, hours_ago=80)
    recent = team_session(cast, hours_ago=5)
    for appointment in (old, recent):
        tmpl = template("dap")
        note_create(
            actor=cast.therapist_a,
            appointment=appointment,
            template=tmpl,
            sections=fill(tmpl, cast.couple_case, {"Data": "d"}),
        )
    overdue = SessionNote.objects.get(appointment=old)
    fresh = SessionNote.objects.get(appointment=recent)
    page = login(client, cast.therapist_a).get(reverse("today")).content.decode()
    assert "Notes to sign" in page
    assert _note_url(overdue) in page and _note_url(fresh) not in page
    client.logout()
    # Not the co-therapist's draft: it is not on their list.
    other = login(client, cast.cotherapist).get(reverse("today")).content.decode()
    assert _note_url(overdue) not in other
    signed = signed_dap(cast)
    other = client.get(reverse("today")).content.decode()
    assert "Waiting for your co-signature" in other and _note_url(signed) in other


def test_unsigned_limit_is_measured_from_the_end_of_the_session(cast):
    tmpl = template("dap")
    appointment = team_session(cast, hours_ago=72.5)  # ended 71 h 40 min ago
    note_create(actor=cast.therapist_a, appointment=appointment, template=tmpl, sections={})
    now = appointment.ends_at + dt.timedelta(hours=72)
    assert not selectors.unsigned_overdue(user=cast.therapist_a, now=now)
    assert selectors.unsigned_overdue(user=cast.therapist_a, now=now + dt.timedelta(minutes=1))


@pytest.mark.parametrize("role", ["director", "cotherapist", "therapist_b", "coordinator", "partner_a"])
def test_process_notes_are_the_authors_alone(client, cast, role):
    note = process_note_create(actor=cast.therapist_a, case=cast.couple_case, text="PROCESS-ONLY-TESS")
    if role == "therapist_b":
        break_glass_open(
            user=cast.therapist_b, case_id=cast.couple_case.pk, reason="Covering an urgent call today"
        )
    if role == "director":
        break_glass_open(
            user=cast.director, case_id=cast.couple_case.pk, reason="Complaint review of this case"
        )
    login(client, getattr(cast, role))
    assert client.get(reverse("records:process_note", kwargs={"note_id": note.pk})).status_code == 404
    listing = client.get(reverse("records:process_notes", kwargs={"case_id": cast.couple_case.pk}))
    assert b"PROCESS-ONLY-TESS" not in listing.content
    assert reverse("records:process_note", kwargs={"note_id": note.pk}) not in listing.content.decode()
    client.post(reverse("records:process_note", kwargs={"note_id": note.pk}), {"text": "overwritten"})
    note.refresh_from_db()
    assert note.text == "PROCESS-ONLY-TESS"


def test_author_writes_and_edits_process_notes(client, cast):
    login(client, cast.therapist_a)
    url = reverse("records:process_notes", kwargs={"case_id": cast.couple_case.pk})
    assert client.post(url, {"text": "My hunch about the pattern"}).status_code == 302
    note = selectors.process_notes_of(user=cast.therapist_a, case=cast.couple_case).get()
    detail = reverse("records:process_note", kwargs={"note_id": note.pk})
    assert b"My hunch about the pattern" in client.get(detail).content
    client.post(detail, {"text": "A revised hunch"})
    note.refresh_from_db()
    assert note.text == "A revised hunch"
    assert client.post(url, {"text": " "}).status_code == 400


def test_individual_session_is_proposed_and_private_by_default_under_limited_secrets(client, cast):
    limited_secrets(cast)
    appointment = team_session(cast, kind=AppointmentKind.CONJUNCTIVE)
    partner_b = cast.couple_case.partner_b
    appointment.attendees.set([partner_b])  # the booking's attendee, not the hold, says who it is with
    login(client, cast.therapist_a)
    url = reverse("records:note_new", kwargs={"appointment_id": appointment.pk}) + "?template=dap"
    page = client.get(url).content.decode()
    assert f'<option value="{partner_b.pk}" selected>Individual session with Blair Partner</option>' in page
    assert re.search(r'<input type="checkbox" name="s0_private"[^>]* checked>', page)
    client.post(url, {"session": str(partner_b.pk), "s0": "Told alone", "s0_private": "on", "s2": "Plan"})
    note = SessionNote.objects.get()
    assert note.individual_with_id == partner_b.pk
    assert [s.private_to_id for s in selectors.note_sections(note)] == [partner_b.pk, None, None]
