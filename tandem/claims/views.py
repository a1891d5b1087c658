"""A case's insurance page (staff): coverage, diagnoses, each session's code and flags, and superbills.

Thin: access through tandem/access (the case or a 404 with an audited denial), writes through
claims.services, reads through claims.selectors.
"""

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from tandem.access.claims import (
    can_see_case_insurance,
    can_set_coverage,
    can_set_diagnoses,
    can_set_provider_numbers,
)
from tandem.access.services import AccessDenied, deny, get_case_for
from tandem.accounts.http import AuthedRequest
from tandem.audit.services import audit_record
from tandem.billing.models import BillingArrangement, Payer
from tandem.billing.money import currency
from tandem.cases.models import Case
from tandem.claims import selectors, services
from tandem.claims.codes import ICD10CM, suggested_diagnoses
from tandem.claims.forms import (
    DX_FIELDS,
    CoverageForm,
    DiagnosesForm,
    FlagsForm,
    ProviderNumberForm,
    SuperbillForm,
)
from tandem.claims.superbill import superbill_pdf
from tandem.lib.time import local_today
from tandem.scheduling.models import Appointment


def _case(request: AuthedRequest, case_id: int) -> Case:
    case = get_case_for(request.user, case_id, audit_view=False)
    if not can_see_case_insurance(request.user, case):
        raise deny(request.user, what="case_insurance", object_id=case.pk, case_id=case.pk)
    return case


def _payer_names(case: Case, payers: list[Payer]) -> dict[int, str]:
    people = {c.pk: c.full_name for c in case.partners}
    return {
        p.pk: p.insurer_name if p.kind == "insurer" else people.get(p.client_id or 0, "Client")
        for p in payers
    }


def _initial_coverage(case: Case) -> dict:
    coverage = selectors.coverage_of(case)
    arrangement = BillingArrangement.objects.filter(case=case).first()
    initial: dict = {"identified_patient": case.partner_a_id, "sex": "U"}
    if arrangement is not None and arrangement.payer_kind == "insurer":
        initial.update(
            insurer_name=arrangement.insurer_name, identified_patient=arrangement.identified_patient_id
        )
    if coverage is not None:
        for name in (
            "payer_id",
            "member_id",
            "group_number",
            "sex",
            "address_line",
            "city",
            "state",
            "postal_code",
        ):
            initial[name] = getattr(coverage, name)
    return initial


def _page(request: AuthedRequest, case: Case, status: int = 200, **forms: object) -> HttpResponse:
    current = selectors.current_diagnoses(case)
    payers = selectors.case_payers(case)
    today = local_today()
    presenting = case.problems.values_list("problem__icd10cm", flat=True)
    context = {
        "nav": "cases",
        "case": case,
        "coverage_form": forms.get("coverage_form")
        or CoverageForm(case=case, initial=_initial_coverage(case)),
        "diagnoses_form": forms.get("diagnoses_form")
        or DiagnosesForm(initial=dict(zip(DX_FIELDS, current, strict=False))),
        "current": [(code, ICD10CM.get(code, "")) for code in current],
        "suggested": [
            (code, ICD10CM[code]) for code in suggested_diagnoses(presenting) if code not in current
        ],
        "sessions": selectors.case_sessions(case, since=today - dt.timedelta(days=180)),
        "superbill_form": forms.get("superbill_form")
        or SuperbillForm(
            payers=payers,
            names=_payer_names(case, payers),
            initial={"date_from": today.replace(day=1), "date_to": today},
        ),
        "has_payers": bool(payers),
        "provider_form": forms.get("provider_form") or ProviderNumberForm(clinicians=case.clinicians),
        "numbers": selectors.provider_numbers(case.clinicians),
        "may_set_numbers": can_set_provider_numbers(request.user),
        "may_set_coverage": can_set_coverage(request.user, case),
        "may_set_diagnoses": can_set_diagnoses(request.user, case),
    }
    return render(request, "claims/case_insurance.html", context, status=status)


@require_safe
def case_insurance(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    audit_record(actor=request.user, action="claims.view_insurance", case=case)
    return _page(request, case)


@require_POST
def coverage_save(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = CoverageForm(request.POST, case=case)
    if form.is_valid():
        data = dict(form.cleaned_data)
        chosen = data.pop("identified_patient")
        patient = next((c for c in case.partners if c.pk == chosen), None)
        try:
            services.coverage_set(actor=request.user, case=case, identified_patient=patient, **data)
        except services.ClaimsInvalid as problem:
            form.add_error(None, str(problem))
        except AccessDenied as refusal:
            messages.error(request, str(refusal))
            return redirect("claims:case_insurance", case_id=case.pk)
        else:
            messages.success(
                request, "Insurance saved: the case's sessions are billed to the insurer from now on."
            )
            return redirect("claims:case_insurance", case_id=case.pk)
    return _page(request, case, status=400, coverage_form=form)


@require_POST
def diagnoses_save(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = DiagnosesForm(request.POST)
    if form.is_valid():
        try:
            services.diagnoses_set(actor=request.user, case=case, codes=form.codes())
        except services.ClaimsInvalid as problem:
            form.add_error(None, str(problem))
        except AccessDenied as refusal:
            messages.error(request, str(refusal))
            return redirect("claims:case_insurance", case_id=case.pk)
        else:
            messages.success(request, "Diagnoses saved.")
            return redirect("claims:case_insurance", case_id=case.pk)
    return _page(request, case, status=400, diagnoses_form=form)


@require_POST
def flags_save(request: AuthedRequest, case_id: int, appointment_id: int) -> HttpResponse:
    case = _case(request, case_id)
    appointment = Appointment.objects.filter(pk=appointment_id, case=case).first()
    if appointment is None:
        raise deny(request.user, what="appointment", object_id=appointment_id, case_id=case.pk)
    form = FlagsForm(request.POST)
    form.is_valid()  # two check boxes: anything not "on" is off
    try:
        services.session_flags_set(
            actor=request.user,
            appointment=appointment,
            interactive_complexity=bool(form.cleaned_data.get("interactive_complexity")),
            patient_at_home=bool(form.cleaned_data.get("patient_at_home")),
        )
        messages.success(request, "Session marked.")
    except AccessDenied as refusal:
        messages.error(request, str(refusal))
    return redirect("claims:case_insurance", case_id=case.pk)


@require_safe
def superbill(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    payers = selectors.case_payers(case)
    names = _payer_names(case, payers)
    form = SuperbillForm(request.GET, payers=payers, names=names)
    if not form.is_valid():
        return _page(request, case, status=400, superbill_form=form)
    payer = next(p for p in payers if p.pk == form.cleaned_data["payer"])
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    sessions = selectors.coded_sessions(payer=payer, case=case, date_from=start, date_to=end)
    arrangement = BillingArrangement.objects.filter(case=case).select_related("identified_patient").first()
    patient = (arrangement.identified_patient if arrangement else None) or (
        payer.client if payer.client_id else case.partner_a
    )
    pdf = superbill_pdf(
        payer=payer,
        patient_name=patient.full_name if patient else "",
        birth_date=patient.date_of_birth if patient else None,
        coverage=selectors.coverage_of(case) if payer.kind == "insurer" else None,
        sessions=sessions,
        date_from=start,
        date_to=end,
        currency=currency(),
    )
    audit_record(
        actor=request.user,
        action="claims.superbill",
        case=case,
        detail={
            "payer": payer.pk,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "sessions": len(sessions),
        },
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="superbill-{case.reference}-{start:%Y%m}.pdf"'
    return response


@require_POST
def provider_number_save(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The director records the NPI of one of the case's clinicians (from their case, where it is used)."""
    case = _case(request, case_id)
    form = ProviderNumberForm(request.POST, clinicians=case.clinicians)
    if form.is_valid():
        therapist = next(u for u in case.clinicians if u.pk == form.cleaned_data["therapist"])
        try:
            services.provider_number_set(
                actor=request.user,
                therapist=therapist,
                npi=form.cleaned_data["npi"],
                taxonomy=form.cleaned_data["taxonomy"],
            )
        except services.ClaimsInvalid as problem:
            form.add_error("npi", str(problem))
        except AccessDenied as refusal:
            messages.error(request, str(refusal))
            return redirect("claims:case_insurance", case_id=case.pk)
        else:
            messages.success(request, "Provider number saved.")
            return redirect("claims:case_insurance", case_id=case.pk)
    return _page(request, case, status=400, provider_form=form)
