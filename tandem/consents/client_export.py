"""A client's own data, in full, on request: everything the practice holds about this person, and nothing
that is the other partner's private content. Psychotherapy (process) notes are never included."""

import json
from typing import Any

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client, PartnerLeave
from tandem.consents.models import Consent
from tandem.consents.record_export import _note_for_export
from tandem.homework.models import Assignment, AssignmentLog
from tandem.measures.models import Response
from tandem.pathway.models import AssessmentFindings, IntakeRecord, Referral, TreatmentConsent, TreatmentPlan
from tandem.portal.models import Message
from tandem.records.selectors import notes_releasable
from tandem.scheduling.models import Appointment

# Staff-side bookkeeping that says nothing about the client and may name staff accounts.
_SKIP_FIELDS = {"password", "updated_by", "recorded_by", "requested_by", "created_by", "set_by"}


def _rows(items: QuerySet[Any] | list[Model]) -> list[dict[str, Any]]:
    rows = []
    for row in serializers.serialize("python", items):
        fields = {k: v for k, v in row["fields"].items() if k not in _SKIP_FIELDS}
        rows.append({"id": row["pk"], **fields})
    return rows


def _cases_of(client: Client) -> tuple[list[Case], dict[int, Any]]:
    """The client's cases: those that name them, and those they left (with when they left: what the case
    recorded after that is the other partner's)."""
    left = dict(PartnerLeave.objects.filter(client=client).values_list("case_id", "at"))
    cases = list(
        Case.objects.filter(Q(partner_a=client) | Q(partner_b=client) | Q(pk__in=list(left)))
        .distinct()
        .order_by("opened_on", "pk")
    )
    return cases, left


def _while_in(left: dict[int, Any], field: str) -> Q:
    """Rows of the cases the client is in, and of a case they left only those from before they left."""
    condition = Q()
    for case_id, at in left.items():
        condition &= ~Q(case_id=case_id) | Q(**{f"{field}__lt": at})
    return condition


def client_data(*, client: Client) -> dict[str, Any]:
    cases, left = _cases_of(client)
    case_ids = [c.pk for c in cases]
    # In a case they left: what happened while they were in it, and of the sessions those they attended.
    appointments = Q(case_id__in=[pk for pk in case_ids if pk not in left]) | Q(
        case_id__in=list(left), attendees=client
    )
    notes = []
    for case in cases:
        for note in notes_releasable(case=case, client_ids=[client.pk]):
            if note.individual_with_id not in (None, client.pk):
                continue  # the other partner's individual session is theirs
            if case.pk in left and note.appointment.starts_at >= left[case.pk]:
                continue  # after they left, the case's sessions are the other partner's
            exported = _note_for_export(note)
            notes.append(
                {
                    "case": case.reference,
                    "title": exported.title,
                    "signed_at": exported.signed_at,
                    "text": exported.text,
                }
            )
    return {
        "exported_at": timezone.now(),
        "client": _rows([client])[0],
        "cases": [
            {
                "reference": case.reference,
                "kind": "couple" if case.is_couple else "individual",
                "phase": case.phase,
                "opened_on": case.opened_on,
                "closed_on": case.closed_on,
                "left_at": left.get(case.pk),
            }
            for case in cases
        ],
        "intake": _rows(IntakeRecord.objects.filter(client=client)),
        "treatment_consents": _rows(TreatmentConsent.objects.filter(client=client)),
        "assessment_findings": _rows(AssessmentFindings.objects.filter(client=client)),
        "referrals": _rows(Referral.objects.filter(client=client)),
        "treatment_plans": _rows(
            TreatmentPlan.objects.filter(_while_in(left, "created_at"), case_id__in=case_ids)
        ),
        "appointments": _rows(Appointment.objects.filter(appointments).distinct().order_by("starts_at")),
        "homework_assignments": _rows(
            Assignment.objects.filter(_while_in(left, "assigned_at"), case_id__in=case_ids).filter(
                Q(client=client) | Q(client__isnull=True)
            )
        ),
        # Only this client's own entries: the partner's entries, shared or private, are the partner's.
        "homework_entries": _rows(AssignmentLog.objects.filter(client=client)),
        "messages": _rows(Message.objects.filter(client=client)),
        "questionnaires": _rows(Response.objects.filter(client=client)),
        "consents": _rows(Consent.objects.filter(client=client)),
        "session_notes": notes,
    }


def client_data_export(*, actor: Any, client: Client) -> str:
    """The client's data as JSON text; the export is audited (the command line passes EXPORT_COMMAND)."""
    data = client_data(client=client)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="client.data_export",
            target=client,
            detail={"cases": [c["reference"] for c in data["cases"]], "notes": len(data["session_notes"])},
        )
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
