"""The demo's insurance paperwork: three cases billed to an invented insurer, through the real services.

Each gets coverage (the insurer, the identified patient, an invented member id and address), diagnoses
suggested from its presenting problems, the therapists' NPIs (invented, with valid check digits), and its
last ninety days of attended sessions re-charged to the insurer (`charges_reconcile` follows the new
arrangement). One session is marked for interactive complexity. `export_claims` then has claims to write.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from stdnum import luhn

from tandem.billing.models import Fee
from tandem.billing.services import charges_reconcile, fee_set
from tandem.cases.models import Case
from tandem.claims.codes import suggested_diagnoses
from tandem.claims.services import coverage_set, diagnoses_set, provider_number_set, session_flags_set
from tandem.scheduling.models import INDIVIDUAL_KINDS, Appointment, AppointmentKind, AppointmentStatus

DEMO_INSURER = "Evergreen Demo Health Plan"
# Fees for the kinds the demo's sessions use, when the practice has none yet (the billing demo may set its
# own first; these never replace a fee).
DEMO_FEES = {
    AppointmentKind.STANDARD: (60, Decimal("150.00")),
    AppointmentKind.JOINT_ASSESSMENT: (90, Decimal("210.00")),
    AppointmentKind.INDIVIDUAL_ASSESSMENT: (60, Decimal("160.00")),
    AppointmentKind.CONJUNCTIVE: (60, Decimal("140.00")),
    AppointmentKind.INTENSIVE: (120, Decimal("300.00")),
    AppointmentKind.FOLLOW_UP_VISIT: (60, Decimal("150.00")),
}


def demo_npi(n: int) -> str:
    base = f"1{n:08d}"
    return base + luhn.calc_check_digit("80840" + base)


def _cases(now: dt.datetime, how_many: int) -> list[Case]:
    """Couples with recent attended sessions: those in treatment first (couple sessions, 90847), then
    those in assessment (90791)."""
    since = now - dt.timedelta(days=90)
    attended = Appointment.objects.filter(
        status=AppointmentStatus.ATTENDED, starts_at__gte=since, starts_at__lt=now
    )
    # Cases the billing demo has already arranged keep their story (split, one payer, package).
    couples = Case.objects.with_people().filter(
        partner_b__isnull=False, partner_a__date_of_birth__isnull=False, billing_arrangement__isnull=True
    )
    treated = list(
        couples.filter(pk__in=attended.filter(kind=AppointmentKind.STANDARD).values("case_id")).order_by(
            "pk"
        )[: how_many - 1]
    )
    assessed = couples.filter(pk__in=attended.exclude(kind=AppointmentKind.CONSULTATION).values("case_id"))
    return treated + list(
        assessed.exclude(pk__in=[c.pk for c in treated]).order_by("pk")[: how_many - len(treated)]
    )


def seed_claims(*, director: Any, now: dt.datetime, how_many: int = 3) -> int:
    """Insurance for a few demo cases; returns how many insurer-billed sessions they have."""
    for kind, (minutes, amount) in DEMO_FEES.items():
        if not Fee.objects.filter(kind=kind).exists():
            fee_set(actor=director, kind=kind, minutes=minutes, amount=amount)
    charged = 0
    for n, case in enumerate(_cases(now, how_many), start=1):
        for m, therapist in enumerate(case.clinicians, start=1):
            if not hasattr(therapist, "provider_number"):
                provider_number_set(actor=director, therapist=therapist, npi=demo_npi(therapist.pk * 10 + m))
        coverage_set(
            actor=director,
            case=case,
            insurer_name=DEMO_INSURER,
            identified_patient=case.partner_a,
            payer_id="EVGDEMO",
            member_id=f"EVD{case.pk:07d}",
            sex="U",
            address_line=f"{100 + n} Example Avenue",
            city="Portland",
            state="OR",
            postal_code="97201",
        )
        codes = suggested_diagnoses(case.problems.values_list("problem__icd10cm", flat=True))
        diagnoses_set(actor=director, case=case, codes=codes or ["Z63.0"], now=now)
        sessions = list(
            Appointment.objects.filter(
                case=case,
                status=AppointmentStatus.ATTENDED,
                starts_at__gte=now - dt.timedelta(days=90),
                starts_at__lt=now,
            ).order_by("starts_at")
        )
        for appointment in sessions:
            charges_reconcile(actor=director, appointment_id=appointment.pk, now=now)
        individual = [a for a in sessions if a.kind in INDIVIDUAL_KINDS]
        if n == 1 and individual:
            session_flags_set(actor=director, appointment=individual[-1], interactive_complexity=True)
        charged += len(sessions)
    return charged
