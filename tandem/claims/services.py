"""Every insurance-paperwork write: one function each, in one transaction with its audit row.

Bad input raises `ClaimsInvalid` (a message fit to show; nothing changed); a refused actor `AccessDenied`.
The insurer and the identified patient are written by billing's `arrangement_set` (billing keeps who
pays); `coverage_set` calls it inside its own transaction, so both commit or neither does.
"""

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.claims import (
    can_set_coverage,
    can_set_diagnoses,
    can_set_provider_numbers,
    can_set_session_flags,
)
from tandem.access.services import AccessDenied
from tandem.accounts.models import CLINICAL_ROLES
from tandem.audit.services import audit_record
from tandem.billing.models import PayerKind
from tandem.billing.services import BillingInvalid, arrangement_set
from tandem.cases.models import Case, Client
from tandem.claims.codes import ICD10CM, npi_is_valid
from tandem.claims.models import Coverage, Diagnosis, ProviderNumber, SessionFlags, Sex
from tandem.lib.errors import Refusal
from tandem.scheduling.models import Appointment

MAX_DIAGNOSES = 12  # an 837P claim carries at most twelve
_ID = re.compile(r"^[A-Z0-9-]{2,30}$")
_STATE = re.compile(r"^[A-Z]{2}$")
_ZIP = re.compile(r"^\d{5}(\d{4})?$")
_TAXONOMY = re.compile(r"^[0-9]{3}[A-Z0-9]{6}X$")


class ClaimsInvalid(Refusal):
    """Input the paperwork refuses; the message is fit to show, and nothing was changed."""


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise AccessDenied(message)


def _identifier(value: str, what: str, longest: int) -> str:
    value = (value or "").strip().upper()
    if not _ID.match(value) or len(value) > longest:
        raise ClaimsInvalid(f"{what}: 2 to {longest} letters, digits or hyphens, as on the insurance card.")
    return value


def _text(value: str, what: str, longest: int) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ClaimsInvalid(f"Give the {what}.")
    if len(value) > longest:
        raise ClaimsInvalid(f"Keep the {what} under {longest + 1} characters.")
    if any(ch in value for ch in "*~:^"):
        raise ClaimsInvalid(f"The {what} cannot hold the characters * ~ : ^.")
    return value


def coverage_set(
    *,
    actor: Any,
    case: Case,
    insurer_name: str,
    identified_patient: Client | None,
    payer_id: str,
    member_id: str,
    group_number: str = "",
    sex: str = Sex.UNKNOWN,
    address_line: str,
    city: str,
    state: str,
    postal_code: str,
) -> Coverage:
    """The case is billed to an insurer for its identified patient, with the card's details."""
    _require(can_set_coverage(actor, case), "Only the director and the front desk set a case's insurance.")
    values = {
        "payer_id": _identifier(payer_id, "The payer id", 20),
        "member_id": _identifier(member_id, "The member id", 30),
        "group_number": _identifier(group_number, "The group number", 30) if group_number.strip() else "",
        "sex": sex if sex in Sex.values else None,
        "address_line": _text(address_line, "street address", 55),
        "city": _text(city, "city", 30),
        "state": (state or "").strip().upper(),
        "postal_code": (postal_code or "").strip().replace("-", ""),
        "updated_at": timezone.now(),
        "updated_by": actor,
    }
    if values["sex"] is None:
        raise ClaimsInvalid("Choose the sex as on the insurance card (or unknown).")
    if not _STATE.match(values["state"]):
        raise ClaimsInvalid("The state is its two-letter code, e.g. OR.")
    if not _ZIP.match(values["postal_code"]):
        raise ClaimsInvalid("The ZIP code has 5 or 9 digits.")
    with transaction.atomic():
        try:
            arrangement_set(
                actor=actor,
                case=case,
                payer_kind=PayerKind.INSURER,
                insurer_name=_text(insurer_name, "insurer's name", 60),
                identified_patient=identified_patient,
            )
        except BillingInvalid as problem:
            raise ClaimsInvalid(str(problem)) from None
        coverage, created = Coverage.objects.update_or_create(case=case, defaults=values)
        audit_record(
            actor=actor,
            action="claims.coverage_set",
            target=coverage,
            case=case,
            detail={"payer_id": values["payer_id"], "created": created},
        )
    return coverage


def diagnoses_set(*, actor: Any, case: Case, codes: list[str], now: dt.datetime | None = None) -> list[str]:
    """The case's diagnoses from now on, principal first (the previous list is ended, not deleted)."""
    _require(can_set_diagnoses(actor, case), "Only the director or the case's therapists set diagnoses.")
    cleaned = [c.strip().upper() for c in codes if c and c.strip()]
    unknown = [c for c in cleaned if c not in ICD10CM]
    if unknown:
        raise ClaimsInvalid(f"Not in the practice's code list: {', '.join(unknown)}.")
    if len(set(cleaned)) != len(cleaned):
        raise ClaimsInvalid("Give each diagnosis once.")
    if len(cleaned) > MAX_DIAGNOSES:
        raise ClaimsInvalid(f"A claim carries at most {MAX_DIAGNOSES} diagnoses.")
    now = now or timezone.now()
    with transaction.atomic():
        current = Diagnosis.objects.select_for_update().filter(case=case, ended_at__isnull=True)
        before = list(current.order_by("position").values_list("code", flat=True))
        if before == cleaned:
            return cleaned
        current.update(ended_at=now)
        Diagnosis.objects.bulk_create(
            Diagnosis(case=case, code=code, position=i, set_at=now, set_by=actor)
            for i, code in enumerate(cleaned, start=1)
        )
        audit_record(
            actor=actor, action="claims.diagnoses_set", case=case, detail={"from": before, "to": cleaned}
        )
    return cleaned


def session_flags_set(
    *, actor: Any, appointment: Appointment, interactive_complexity: bool, patient_at_home: bool = True
) -> SessionFlags:
    """Mark what the CPT code needs beyond the appointment (interactive complexity; telehealth place)."""
    _require(
        can_set_session_flags(actor, appointment.case),
        "Only the director or the case's therapists mark a session.",
    )
    with transaction.atomic():
        flags, _ = SessionFlags.objects.update_or_create(
            appointment=appointment,
            defaults={
                "interactive_complexity": bool(interactive_complexity),
                "patient_at_home": bool(patient_at_home),
                "updated_at": timezone.now(),
                "updated_by": actor,
            },
        )
        audit_record(
            actor=actor,
            action="claims.session_flags_set",
            target=flags,
            case=appointment.case_id,
            detail={"interactive": flags.interactive_complexity, "at_home": flags.patient_at_home},
        )
    return flags


def provider_number_set(*, actor: Any, therapist: Any, npi: str, taxonomy: str = "") -> ProviderNumber:
    """Record a therapist's NPI (the check digit is verified) and taxonomy code."""
    _require(can_set_provider_numbers(actor), "Only the director records provider numbers.")
    npi = (npi or "").strip()
    if not npi_is_valid(npi):
        raise ClaimsInvalid("That is not a valid NPI (ten digits, starting 1 or 2, with its check digit).")
    taxonomy = (taxonomy or "").strip().upper()
    if taxonomy and not _TAXONOMY.match(taxonomy):
        raise ClaimsInvalid("A taxonomy code is ten characters ending in X, e.g. 106H00000X.")
    if getattr(therapist, "role", "") not in CLINICAL_ROLES:
        raise ClaimsInvalid("Only a clinician has a provider number.")
    with transaction.atomic():
        if ProviderNumber.objects.filter(npi=npi).exclude(therapist=therapist).exists():
            raise ClaimsInvalid("Another clinician already has this NPI.")
        number, _ = ProviderNumber.objects.update_or_create(
            therapist=therapist, defaults={"npi": npi, "taxonomy": taxonomy, "updated_at": timezone.now()}
        )
        audit_record(
            actor=actor,
            action="claims.provider_number_set",
            target=number,
            detail={"therapist": therapist.pk},
        )
    return number
