"""Writes to clients and cases. Each is one transaction that also writes its audit event.

Opening a case starts it on the pathway, so it is pathway's service (`tandem.pathway.services.case_open`).
"""

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.services import AccessDenied, can_edit_case, can_see_clinical
from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, CaseProblem, Client, PartnerJoin, Phase, PresentingProblem
from tandem.lib.errors import Refusal
from tandem.lib.later import case_changed_later
from tandem.measures.later import measures_schedule_later

# Phases a case may be opened in: most start with the free consultation, some are referred straight to intake.
# Opening a case is pathway's action (`tandem.pathway.services.case_open`): it writes the first phase.
OPENING_PHASES = (Phase.CONSULTATION, Phase.INTAKE)


@dataclass(frozen=True)
class ClientDetails:
    first_name: str
    last_name: str
    preferred_name: str = ""
    pronouns: str = ""
    date_of_birth: date | None = None
    email: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _changed_fields(obj: Any, values: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in values.items() if getattr(obj, name) != value)


def check_assignment(therapist: User | None, team: CoTherapyTeam | None) -> None:
    if therapist is not None and team is not None:
        raise Refusal("Assign either one therapist or a co-therapy team, not both.")
    if therapist is not None and (therapist.role != Role.THERAPIST or not therapist.is_active):
        raise Refusal("The assigned therapist must be an active therapist.")
    if team is not None and not team.active:
        raise Refusal("That co-therapy team is no longer active.")


def case_reference(case: Case) -> str:
    return f"T-{case.opened_on.year}-{case.pk:05d}"


def case_update(
    *,
    actor: User,
    case: Case,
    therapist: User | None,
    team: CoTherapyTeam | None,
    absent_partner: str,
    absent_partner_note: str,
) -> Case:
    """Change who is assigned to a case and, for an individual case, the absent partner's reason."""
    if not can_edit_case(actor, case):
        raise AccessDenied("You cannot change this case.")
    check_assignment(therapist, team)
    if case.is_couple:
        absent_partner, absent_partner_note = "", ""
    elif not absent_partner:
        raise Refusal("For an individual case, say why the partner does not attend.")
    values = {
        "therapist": therapist,
        "team": team,
        "absent_partner": absent_partner,
        "absent_partner_note": absent_partner_note,
    }
    changed = _changed_fields(case, values)
    if not changed:
        return case
    with transaction.atomic():
        for name, value in values.items():
            setattr(case, name, value)
        case.save()
        case_changed_later(case_id=case.pk)
        audit_record(actor=actor, action="case.update", target=case, case=case, detail={"fields": changed})
    return case


def client_update(*, actor: User, case: Case, client: Client, details: ClientDetails) -> Client:
    """Correct a partner's demographics (the front desk may; the record keeps no clinical text here)."""
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")
    if not can_edit_case(actor, case):
        raise AccessDenied("You cannot change this case.")
    values = details.as_dict()
    changed = _changed_fields(client, values)
    if not changed:
        return client
    with transaction.atomic():
        for name, value in values.items():
            setattr(client, name, value)
        client.save()
        audit_record(
            actor=actor, action="client.update", target=client, case=case, detail={"fields": changed}
        )
    return client


def case_add_partner(*, actor: User, case: Case, partner: ClientDetails) -> Case:
    """The absent partner joins: the individual case becomes a couple case, keeping all it had."""
    if not can_edit_case(actor, case):
        raise AccessDenied("You cannot change this case.")
    if case.is_couple:
        raise Refusal("This case already has two partners.")
    with transaction.atomic():
        was_absent = case.absent_partner
        client_b = Client.objects.create(**partner.as_dict())
        case.partner_b = client_b
        case.absent_partner = ""
        case.save(update_fields=["partner_b", "absent_partner", "updated_at"])
        PartnerJoin.objects.create(
            case=case,
            client=client_b,
            at=timezone.now(),
            by=actor,
            was_absent=was_absent,
            was_absent_note=case.absent_partner_note,
        )
        case_changed_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="case.partner_added",
            target=case,
            case=case,
            detail={"client": client_b.pk, "was_absent": was_absent},
        )
    return case


def case_set_problems(
    *,
    actor: User,
    case: Case,
    problems: list[tuple[PresentingProblem, Client | None]],
    presenting_notes: str,
) -> Case:
    """Record the presenting problems (coded, optionally per partner) and the free-text description."""
    if not can_see_clinical(actor, case) or (actor.role != Role.THERAPIST and actor.role != Role.DIRECTOR):
        raise AccessDenied("Only the case's clinicians record presenting problems.")
    partner_ids = {case.partner_a_id, case.partner_b_id}
    if any(client is not None and client.pk not in partner_ids for _, client in problems):
        raise Refusal("A problem can only concern a partner in this case.")
    with transaction.atomic():
        # Only what changed: a problem still chosen keeps its row (and the note on it, which this form
        # does not show).
        chosen = {(problem.pk, client.pk if client else None) for problem, client in problems}
        kept = set()
        for row in CaseProblem.objects.filter(case=case).only("pk", "problem_id", "client_id"):
            key = (row.problem_id, row.client_id)
            if key in chosen:
                kept.add(key)
            else:
                row.delete()
        CaseProblem.objects.bulk_create(
            CaseProblem(case=case, problem=problem, client=client)
            for problem, client in problems
            if (problem.pk, client.pk if client else None) not in kept
        )
        case.presenting_notes = presenting_notes
        case.save(update_fields=["presenting_notes", "updated_at"])
        measures_schedule_later(case_id=case.pk)
        case_changed_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="case.problems_set",
            target=case,
            case=case,
            detail={"problems": sorted(p.slug for p, _ in problems)},
        )
    return case
