"""Reads of the insurance paperwork: the coded sessions of a payer and period, the claims to export.

A fixed number of queries whatever the number of sessions (prefetched), so the superbill, the export and
the insurance page do not grow a query per session.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from tandem.billing.models import BillingArrangement, Charge, ChargeKind, ChargeStatus, Payer
from tandem.cases.models import Case, Client
from tandem.claims.codes import Coding, Session, cpt_for
from tandem.claims.models import Coverage, Diagnosis, ExportedClaim, ProviderNumber, SessionFlags
from tandem.scheduling.models import Appointment

LIVE = (ChargeStatus.OPEN, ChargeStatus.INVOICED)


@dataclass(frozen=True)
class CodedSession:
    charge: Charge
    appointment: Appointment
    case: Case
    patient: Client | None
    coding: Coding | None
    diagnoses: tuple[str, ...]
    npi: str
    taxonomy: str
    rendering: object  # the therapist (a User)

    @property
    def amount(self) -> Decimal:
        return self.charge.amount


def current_diagnoses(case: Case) -> list[str]:
    return list(
        Diagnosis.objects.filter(case=case, ended_at__isnull=True)
        .order_by("position")
        .values_list("code", flat=True)
    )


def coding_of(appointment: Appointment, patient_id: int | None) -> Coding | None:
    """The CPT coding of an attended appointment (its attendees and flags prefetched or read here)."""
    if patient_id is None:
        return None
    attendees = frozenset(c.pk for c in appointment.attendees.all()) or frozenset(
        c.pk for c in appointment.case.partners
    )
    flags = getattr(appointment, "claim_flags", None)
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return cpt_for(
        Session(
            kind=appointment.kind,
            mode=appointment.mode,
            minutes=minutes,
            attendee_ids=attendees,
            identified_patient_id=patient_id,
            interactive=bool(flags and flags.interactive_complexity),
            patient_at_home=bool(flags.patient_at_home) if flags else True,
        )
    )


def _session_charges() -> QuerySet[Charge]:
    return (
        Charge.objects.filter(kind=ChargeKind.SESSION, status__in=LIVE, appointment__isnull=False)
        .select_related(
            "payer",
            "appointment__claim_flags",
            "case__partner_a",
            "case__partner_b",
            "case__billing_arrangement__identified_patient",
            "case__coverage",
        )
        .prefetch_related(
            "appointment__attendees",
            Prefetch("appointment__therapists"),
            Prefetch(
                "case__diagnoses",
                queryset=Diagnosis.objects.filter(ended_at__isnull=True).order_by("position"),
                to_attr="current_dx",
            ),
        )
        .order_by("service_date", "appointment__starts_at", "id")
    )


def _coded(charges: list[Charge]) -> list[CodedSession]:
    therapist_ids = {t.pk for c in charges for t in c.appointment.therapists.all()}  # type: ignore[union-attr]
    numbers = {p.therapist_id: p for p in ProviderNumber.objects.filter(therapist_id__in=therapist_ids)}
    out = []
    for charge in charges:
        appointment = charge.appointment
        assert appointment is not None
        case = charge.case
        arrangement: BillingArrangement | None = getattr(case, "billing_arrangement", None)
        patient = arrangement.identified_patient if arrangement is not None else None
        therapists = sorted(appointment.therapists.all(), key=lambda t: t.pk)
        numbered = [t for t in therapists if t.pk in numbers] or therapists
        rendering = numbered[0] if numbered else None
        number = numbers.get(rendering.pk) if rendering is not None else None
        out.append(
            CodedSession(
                charge=charge,
                appointment=appointment,
                case=case,
                patient=patient,
                coding=coding_of(appointment, patient.pk if patient is not None else None),
                diagnoses=tuple(d.code for d in getattr(case, "current_dx", [])),
                npi=number.npi if number is not None else "",
                taxonomy=number.taxonomy if number is not None else "",
                rendering=rendering,
            )
        )
    return out


def coded_sessions(
    *, payer: Payer, case: Case | None, date_from: dt.date, date_to: dt.date
) -> list[CodedSession]:
    """The live session charges of one payer (of one case, if given) in the period, coded."""
    charges = _session_charges().filter(payer=payer, service_date__range=(date_from, date_to))
    if case is not None:
        charges = charges.filter(case=case)
    return _coded(list(charges))


def claims_to_export(*, date_from: dt.date, date_to: dt.date, resend: bool) -> list[CodedSession]:
    """The insurer-billed sessions of the period not yet exported (all of them with `resend`)."""
    charges = _session_charges().filter(payer__kind="insurer", service_date__range=(date_from, date_to))
    if not resend:
        exported = ExportedClaim.objects.values("charge_id")
        charges = charges.exclude(pk__in=exported)
    return _coded(list(charges))


def coverage_of(case: Case) -> Coverage | None:
    return Coverage.objects.filter(case=case).first()


def flags_of(appointment_ids: list[int]) -> dict[int, SessionFlags]:
    return {f.appointment_id: f for f in SessionFlags.objects.filter(appointment_id__in=appointment_ids)}


def case_payers(case: Case) -> list[Payer]:
    """Everyone this case's sessions were charged to (for the superbill's choice of payer)."""
    ids = Charge.objects.filter(case=case).values("payer_id")
    return list(Payer.objects.filter(pk__in=ids).select_related("client").order_by("kind", "pk"))


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def case_sessions(case: Case, *, since: dt.date) -> list[tuple[Appointment, Coding | None]]:
    """The case's attended sessions since a day, newest first, with the code each would be billed as
    (for the identified patient; None without one). Three queries whatever the number of sessions."""
    arrangement = BillingArrangement.objects.filter(case=case).only("identified_patient_id").first()
    patient_id = arrangement.identified_patient_id if arrangement is not None else None
    appointments = (
        Appointment.objects.filter(case=case, status="attended", starts_at__date__gte=since)
        .exclude(kind="consultation")
        .select_related("claim_flags", "case__partner_a", "case__partner_b")
        .prefetch_related("attendees")
        .order_by("-starts_at")
    )
    return [(a, coding_of(a, patient_id)) for a in appointments]


def provider_numbers(clinicians: list) -> list[tuple[object, str]]:
    """Each clinician with their NPI (or "")."""
    numbers = dict(
        ProviderNumber.objects.filter(therapist__in=[u.pk for u in clinicians]).values_list(
            "therapist_id", "npi"
        )
    )
    return [(u, numbers.get(u.pk, "")) for u in clinicians]
