"""Who may write and read what in the clinical apps: notes, measures, homework, messages, the record's
export and the practice's outcome figures.

The clinical apps ask here; they hold no permission rule themselves. Their objects are read by their
attributes only (this layer sits below them), as `access/billing.py` does for billing.
"""

from typing import Any

from tandem.access.services import can_edit_case, can_see_clinical, is_assigned
from tandem.accounts.models import Role
from tandem.cases.models import Case


def _case_clinician(user: Any, case: Case) -> bool:
    """The case's own therapists and the director; emergency access only reads."""
    if not can_see_clinical(user, case):
        return False
    return user.role == Role.DIRECTOR or (user.role == Role.THERAPIST and is_assigned(user, case))


# --- records ---------------------------------------------------------------------------------------


def is_session_therapist(user: Any, appointment: Any) -> bool:
    """Whether the user held this session (`appointment.therapists`)."""
    return user.pk is not None and appointment.therapists.filter(pk=user.pk).exists()


def can_write_note(user: Any, appointment: Any) -> bool:
    """Only a therapist of that session, who may see the case's clinical content, writes its note."""
    return (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role == Role.THERAPIST
        and can_see_clinical(user, appointment.case)
        and is_session_therapist(user, appointment)
    )


def can_read_note(user: Any, note: Any) -> bool:
    """Whether this user may read this session note at all (staff pages only; clients never)."""
    if not getattr(user, "is_authenticated", False) or user.role == Role.CLIENT:
        return False
    return can_see_clinical(user, note.case)


def can_read_process_note(user: Any, note: Any) -> bool:
    """A process note is its author's alone."""
    return bool(getattr(user, "is_authenticated", False) and note.author_id == user.pk)


def can_set_confidentiality(user: Any, case: Case) -> bool:
    """The confidentiality policy is the case's own therapists' to set (on the notes page)."""
    return user.role == Role.THERAPIST and is_assigned(user, case)


# --- measures --------------------------------------------------------------------------------------


def is_own_answer(actor: Any, client: Any) -> bool:
    """A client on their own portal account answering for themselves."""
    return (
        getattr(actor, "role", None) == Role.CLIENT
        and actor.is_active
        and client.user_id is not None
        and client.user_id == actor.pk
    )


def can_enter_measures(actor: Any, case: Case, client: Any) -> bool:
    """A client answers only for themselves; a clinician of the case may enter answers on their behalf."""
    return is_own_answer(actor, client) or can_see_clinical(actor, case)


def can_share_couple_report(actor: Any, case: Case) -> bool:
    return is_assigned(actor, case) or getattr(actor, "role", None) == Role.DIRECTOR


def can_read_outcomes(user: Any) -> bool:
    """Practice-wide clinical figures: the clinical director alone."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_director", False))


# --- homework, messages, the record's export -------------------------------------------------------


def can_assign_homework(user: Any, case: Case) -> bool:
    """The case's own therapists and the director give homework; emergency access only reads."""
    return _case_clinician(user, case)


def can_answer_messages(user: Any, case: Case) -> bool:
    """The case's own therapists and the director answer a client's messages; emergency access only reads."""
    return _case_clinician(user, case)


def can_export_record(user: Any, case: Case) -> bool:
    """Releases are a clinical act: the director or a therapist of the case (emergency access won't do)."""
    return can_see_clinical(user, case) and can_edit_case(user, case)
