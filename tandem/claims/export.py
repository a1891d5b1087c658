"""`claims_export`: the 837P batch of the insurer-billed sessions of a period, recorded so each claim goes
once (unless resent). The one write of an export: its rows, its audit row and the file, all or nothing.

A session that cannot be claimed yet (no coverage, no date of birth, no diagnosis, no NPI, not a billable
code) is left out and named by case reference and date in the result; nothing about it is written, so a
later export picks it up once fixed.
"""

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tandem.audit.actors import CLAIMS_EXPORT
from tandem.audit.services import audit_record
from tandem.claims.codes import npi_is_valid
from tandem.claims.models import ClaimExport, Coverage, ExportedClaim
from tandem.claims.selectors import CodedSession, claims_to_export
from tandem.claims.services import ClaimsInvalid
from tandem.claims.x12 import Claim, Header, Party, build_837p

LONGEST_PERIOD = dt.timedelta(days=366)


@dataclass
class ExportResult:
    export: ClaimExport | None
    claims: int
    skipped: list[str] = field(default_factory=list)


def _header(control_number: int, now: dt.datetime) -> Header:
    needed = {
        "CLAIMS_PRACTICE_NPI": settings.CLAIMS_PRACTICE_NPI,
        "CLAIMS_PRACTICE_STREET": settings.CLAIMS_PRACTICE_STREET,
        "CLAIMS_PRACTICE_CITY": settings.CLAIMS_PRACTICE_CITY,
        "CLAIMS_PRACTICE_STATE": settings.CLAIMS_PRACTICE_STATE,
        "CLAIMS_PRACTICE_ZIP": settings.CLAIMS_PRACTICE_ZIP,
        "CLAIMS_CONTACT_PHONE": settings.CLAIMS_CONTACT_PHONE,
        "CLAIMS_SUBMITTER_ID": settings.CLAIMS_SUBMITTER_ID,
        "CLAIMS_RECEIVER_ID": settings.CLAIMS_RECEIVER_ID,
        "CLAIMS_RECEIVER_NAME": settings.CLAIMS_RECEIVER_NAME,
        "PRACTICE_TAX_ID": settings.PRACTICE_TAX_ID,
    }
    missing = [name for name, value in needed.items() if not str(value).strip()]
    if missing:
        raise ClaimsInvalid(f"Set these settings before exporting claims: {', '.join(missing)}.")
    ein = settings.PRACTICE_TAX_ID.replace("-", "").strip()
    if not (len(ein) == 9 and ein.isdigit()):
        raise ClaimsInvalid("PRACTICE_TAX_ID must be the practice's EIN (nine digits) for claims.")
    if not npi_is_valid(settings.CLAIMS_PRACTICE_NPI):
        raise ClaimsInvalid("CLAIMS_PRACTICE_NPI is not a valid NPI.")
    zip9 = settings.CLAIMS_PRACTICE_ZIP.replace("-", "")
    if not (len(zip9) == 9 and zip9.isdigit()):
        raise ClaimsInvalid("CLAIMS_PRACTICE_ZIP must be the nine-digit ZIP+4.")
    return Header(
        control_number=control_number,
        created=timezone.localtime(now),
        submitter_id=settings.CLAIMS_SUBMITTER_ID,
        submitter_name=settings.PRACTICE_NAME,
        contact_phone="".join(ch for ch in settings.CLAIMS_CONTACT_PHONE if ch.isdigit()),
        receiver_id=settings.CLAIMS_RECEIVER_ID,
        receiver_name=settings.CLAIMS_RECEIVER_NAME,
        provider=Party(
            settings.PRACTICE_NAME,
            npi=settings.CLAIMS_PRACTICE_NPI,
            taxonomy=settings.CLAIMS_PRACTICE_TAXONOMY,
        ),
        provider_street=settings.CLAIMS_PRACTICE_STREET,
        provider_city=settings.CLAIMS_PRACTICE_CITY,
        provider_state=settings.CLAIMS_PRACTICE_STATE.upper(),
        provider_zip=zip9,
        provider_ein=ein,
        usage="P" if settings.CLAIMS_USAGE.upper() == "P" else "T",
    )


def _why_not(item: CodedSession, coverage: Coverage | None) -> str | None:
    if item.patient is None or coverage is None:
        return "no insurance coverage recorded"
    if item.patient.date_of_birth is None:
        return "the identified patient's date of birth is missing"
    if not item.diagnoses:
        return "no diagnosis"
    if item.coding is None:
        return "not a billable session for an insurer (length or attendance)"
    if not item.npi:
        return "the therapist has no NPI"
    return None


def _claim(item: CodedSession, coverage: Coverage) -> Claim:
    assert item.patient is not None and item.coding is not None and item.patient.date_of_birth
    therapist: Any = item.rendering
    return Claim(
        patient_control=f"{item.case.reference}-{item.appointment.pk}",
        amount=item.amount,
        service_date=item.charge.service_date,
        cpt=item.coding.cpt,
        modifiers=item.coding.modifiers,
        add_ons=item.coding.add_ons,
        place_of_service=item.coding.place_of_service,
        diagnoses=item.diagnoses,
        subscriber_last=item.patient.last_name,
        subscriber_first=item.patient.first_name,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        birth_date=item.patient.date_of_birth,
        sex=coverage.sex,
        street=coverage.address_line,
        city=coverage.city,
        state=coverage.state,
        postal_code=coverage.postal_code,
        payer_name=item.charge.payer.insurer_name,
        payer_id=coverage.payer_id,
        rendering=Party(therapist.last_name, therapist.first_name, item.npi, item.taxonomy),
    )


def _write_atomically(out: Path, text: str) -> None:
    """The whole file or none: written beside the target and renamed over it."""
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=".claims-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_period(date_from: dt.date, date_to: dt.date) -> None:
    if date_from > date_to:
        raise ClaimsInvalid("The period starts after it ends: --from must be on or before --to.")
    if date_to - date_from > LONGEST_PERIOD:
        raise ClaimsInvalid("Export at most a year at a time.")


def claims_export(
    *, date_from: dt.date, date_to: dt.date, out: Path, resend: bool = False, now: dt.datetime | None = None
) -> ExportResult:
    """Write the period's unexported (or, resending, all) insurer-billed sessions as one 837P file and
    record them as exported. Nothing to claim: no file and no record."""
    _check_period(date_from, date_to)
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK) or out.is_dir():
        raise ClaimsInvalid(f"Cannot write {out}: its folder does not exist or is not writable.")
    now = now or timezone.now()
    with transaction.atomic():
        # The latest batch row, locked: a concurrent export waits here (PostgreSQL refuses FOR UPDATE with
        # an aggregate); the unique control number refuses the rare one that still collides.
        latest = ClaimExport.objects.select_for_update().order_by("-control_number").first()
        last = latest.control_number if latest is not None else 0
        header = _header(last + 1, now)
        items = claims_to_export(date_from=date_from, date_to=date_to, resend=resend)
        coverages = {c.case_id: c for c in Coverage.objects.filter(case_id__in={i.case.pk for i in items})}
        claims, charges, skipped = [], [], []
        for item in items:
            coverage = coverages.get(item.case.pk)
            reason = _why_not(item, coverage)
            if reason is not None:
                skipped.append(f"{item.case.reference} {item.charge.service_date:%Y-%m-%d}: {reason}")
                continue
            assert coverage is not None
            claims.append(_claim(item, coverage))
            charges.append(item.charge)
        if not claims:
            return ExportResult(None, 0, skipped)
        export = ClaimExport.objects.create(
            control_number=header.control_number,
            period_from=date_from,
            period_to=date_to,
            created_at=now,
            resend=resend,
            claims=len(claims),
        )
        ExportedClaim.objects.bulk_create(ExportedClaim(export=export, charge=c) for c in charges)
        audit_record(
            actor=CLAIMS_EXPORT,
            action="claims.export",
            target=export,
            detail={"claims": len(claims), "skipped": len(skipped), "resend": resend},
        )
        try:
            _write_atomically(out, build_837p(header, claims))
        except OSError as problem:  # the export's rows roll back with it
            raise ClaimsInvalid(f"Cannot write {out}: {problem.strerror or problem}.") from None
    return ExportResult(export, len(claims), skipped)
