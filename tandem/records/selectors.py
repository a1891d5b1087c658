"""Reads of the clinical record, and the one place that says who may see which note content.

Rules (decided here, used by every page, the Today list and the release/export):
- Session notes are clinical content: the director, the case's own therapists and a therapist with
  emergency access read them (`access.can_see_clinical`); the front desk and outsiders never do.
- Clients see no session notes in the portal (the record is the clinicians'; nothing in the brief asks
  for shared notes), so `can_read_note` answers False for every client.
- Psychotherapy (process) notes: their author only. Not the director, not emergency access, never a
  release or the portal.
- Under limited secrets, content marked private to a partner reaches nobody outside the clinicians
  unless that partner is among the people whose consent covers the release (`notes_releasable`).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from tandem.access.clinical import can_read_note, can_read_process_note
from tandem.access.services import get_object_for
from tandem.cases.models import Case, link_fields
from tandem.lib.remembered_queries import remembered_query
from tandem.records.models import (
    NoteAmendment,
    NoteStatus,
    PsychotherapyNote,
    SessionNote,
    SessionNoteSection,
)
from tandem.records.policy import UNSIGNED_NOTE_LIMIT


def released_content_q(client_ids: Iterable[int]) -> Q:
    """Sections and amendments that may leave the clinic for people acting with these partners' consent:
    everything except content kept private to a partner who is not among them."""
    return Q(private_to__isnull=True) | Q(private_to__in=list(client_ids))


def notes_releasable(*, case: Case, client_ids: Iterable[int]) -> QuerySet[SessionNote]:
    """The case's signed session notes for a release or export covered by `client_ids`' consent.

    Never psychotherapy notes (a separate model, not reachable from here). Each note carries
    `released_sections` and `released_amendments` (lists, in order) without content kept private to a
    partner not in `client_ids`; callers must read those, not `note.sections` / `note.amendments`.
    Whether a partner's non-private information may be released at all is the release's decision.
    """
    ids = list(client_ids)
    released = released_content_q(ids)
    return (
        SessionNote.objects.filter(case=case, status=NoteStatus.SIGNED)
        .select_related("appointment", "template", "author", "signed_by", "cosigned_by", "individual_with")
        .prefetch_related(
            Prefetch(
                "sections",
                queryset=SessionNoteSection.objects.filter(released).select_related("client"),
                to_attr="released_sections",
            ),
            Prefetch(
                "amendments",
                queryset=NoteAmendment.objects.filter(released).select_related("author"),
                to_attr="released_amendments",
            ),
        )
        .order_by("appointment__starts_at", "id")
    )


def notes_withheld_count(*, case: Case, client_ids: Iterable[int]) -> int:
    """How many private sections and amendments a release for `client_ids` leaves out (to say so)."""
    ids = list(client_ids)
    withheld = Q(private_to__isnull=False) & ~Q(private_to__in=ids)
    signed = {"note__case": case, "note__status": NoteStatus.SIGNED}
    return (
        SessionNoteSection.objects.filter(withheld, **signed).count()
        + NoteAmendment.objects.filter(withheld, **signed).count()
    )


_NOTE_PEOPLE = ("author", "signed_by", "cosigned_by")


def case_notes(*, case: Case) -> QuerySet[SessionNote]:
    """The notes list of a case page: one query whatever the number of notes (bodies not loaded).
    Only what the list prints (records/case_notes.html): with every column of its three clinicians and
    the rest, Django spent 4 ms matching the ORDER BY against 79 selected columns."""
    return (
        SessionNote.objects.filter(case=case)
        .select_related("appointment", "template", "individual_with", *_NOTE_PEOPLE)
        .only(
            "status",
            "signed_at",
            "appointment__starts_at",
            "template__name",
            "individual_with__first_name",
            *(f"{person}__{name}" for person in _NOTE_PEOPLE for name in ("first_name", "last_name")),
        )
        .order_by("-appointment__starts_at", "-id")
    )


def get_note_for(user: Any, note_id: Any) -> SessionNote:
    """The note with its people, or 404 (audited) for anyone who may not read it."""
    # The case and its people in a second query: joined to the note's own six, fourteen tables took
    # PostgreSQL's planner 15-20 ms (past its genetic-search threshold) to fetch one row.
    notes = SessionNote.objects.select_related(
        "appointment", "template", "author", "signed_by", "cosigned_by", "individual_with"
    ).prefetch_related(Prefetch("case", queryset=Case.objects.with_people()))
    return get_object_for(
        user, notes, note_id, what="session_note", allowed=lambda note: can_read_note(user, note)
    )


def note_sections(note: SessionNote) -> list[SessionNoteSection]:
    return list(note.sections.select_related("client", "private_to").order_by("position"))


def note_amendments(note: SessionNote) -> list[NoteAmendment]:
    return list(note.amendments.select_related("author", "private_to").order_by("at", "id"))


# What Today's notes to sign print of each (records/_today.html): building and compiling every column of
# five tables for two short lists cost more than the queries.
TODAY_NOTE_FIELDS = ("appointment__starts_at", *link_fields("case__"))


def unsigned_overdue(*, user: Any, now: datetime) -> list[SessionNote]:
    """The user's own draft notes whose session ended longer ago than the clinic's limit."""
    return _drafts_ended_before.rows(author_id=user.pk, ended_before=now - UNSIGNED_NOTE_LIMIT)


def awaiting_cosignature(*, user: Any) -> list[SessionNote]:
    """Signed notes of sessions this user took part in, signed by the other therapist, not yet co-signed."""
    return _awaiting_cosignature.rows(user_id=user.pk)


# Today's two note lists, read on every view of a therapist's Today: compiled once per worker
# (lib/remembered_queries.py).


@remembered_query
def _drafts_ended_before(*, author_id: int, ended_before: datetime) -> QuerySet[SessionNote]:
    return (
        SessionNote.objects.filter(
            author_id=author_id, status=NoteStatus.DRAFT, appointment__ends_at__lt=ended_before
        )
        .select_related("appointment", "case__partner_a", "case__partner_b")
        .only(*TODAY_NOTE_FIELDS)
        .order_by("appointment__starts_at")
    )


@remembered_query
def _awaiting_cosignature(*, user_id: int) -> QuerySet[SessionNote]:
    return (
        SessionNote.objects.filter(awaiting_cosignature=True, appointment__therapists__id=user_id)
        .exclude(signed_by_id=user_id)
        .select_related("appointment", "case__partner_a", "case__partner_b")
        .only(*TODAY_NOTE_FIELDS)
        .order_by("appointment__starts_at")
    )


def process_notes_of(*, user: Any, case: Case) -> QuerySet[PsychotherapyNote]:
    """Only the user's own process notes: the filter on author is the whole rule."""
    return PsychotherapyNote.objects.filter(author=user, case=case).select_related("appointment")


def get_process_note_for(user: Any, note_id: Any) -> PsychotherapyNote:
    """The user's own process note, or 404 (audited)."""
    notes = PsychotherapyNote.objects.select_related("case", "appointment")
    return get_object_for(
        user, notes, note_id, what="process_note", allowed=lambda note: can_read_process_note(user, note)
    )
