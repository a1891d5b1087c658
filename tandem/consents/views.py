"""Consent pages: the case's consents for staff, signing in the portal (each partner their own only), the
record release page, and the director's retention list."""

import json
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.clinical import can_export_record
from tandem.access.services import can_edit_case, deny, get_case_for, get_partner_of
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
from tandem.cases.models import Case
from tandem.consents import forms, selectors, services
from tandem.consents.client_export import client_data_export
from tandem.consents.models import Consent, ConsentKind
from tandem.consents.record_export import case_export_bundle, export_plan_for
from tandem.consents.record_pdf import case_export_pdf
from tandem.consents.retention import RETENTION_YEARS, retention_due
from tandem.lib.actions import form_action
from tandem.lib.errors import Refusal
from tandem.lib.parse import parse_id
from tandem.lib.time import local_today


def _posted(request: AuthedRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _ip(request: AuthedRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _editable_case(request: AuthedRequest, case_id: Any, what: str) -> Case:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what=what, object_id=case.pk, case_id=case.pk)
    return case


def _staff_consent(request: AuthedRequest, consent_id: int) -> tuple[Consent, Case]:
    consent = Consent.objects.select_related("document", "client").filter(pk=consent_id).first()
    if consent is None:
        raise deny(request.user, what="consent", object_id=consent_id)
    case = _editable_case(request, consent.case_id, "consent")
    consent.case = case
    return consent, case


def _back(case: Case) -> HttpResponse:
    return redirect("consents:case", case_id=case.pk)


# --- staff -----------------------------------------------------------------------------------------------


def case_consents(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    today = local_today()
    rows = [(c, c.status_on(today)) for c in selectors.case_consents(case=case)]
    policy = services.case_policy(case)
    context = {
        "nav": "cases",
        "case": case,
        "by_partner": [(p, [r for r in rows if r[0].client_id == p.pk]) for p in case.partners],
        "can_edit": can_edit_case(request.user, case),
        "may_export": can_export_record(request.user, case),
        "policy": policy,
    }
    return render(request, "consents/case_consents.html", context)


@require_http_methods(["GET", "POST"])
def consent_request_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _editable_case(request, case_id, "consent.request")
    form = forms.RequestForm(_posted(request), case=case)
    done = form_action(
        request,
        form,
        lambda data: services.consent_request(
            actor=request.user,
            case=case,
            client=get_partner_of(case, int(data["client"])),
            kind=data["kind"],
            confidentiality_mode=data["confidentiality_mode"],
        ),
        success="Consent requested. The client can sign it in the portal or here.",
        then=_back(case),
    )
    if done:
        return done
    return _form(request, case, form, "Ask for a consent", "Ask for signature")


@require_http_methods(["GET", "POST"])
def release_request_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _editable_case(request, case_id, "consent.release")
    form = forms.ReleaseForm(_posted(request), case=case)
    done = form_action(
        request,
        form,
        lambda data: services.release_create(
            actor=request.user,
            case=case,
            client=get_partner_of(case, int(data["client"])),
            recipient=data["recipient"],
            recipient_detail=data["recipient_detail"],
            categories=data["categories"],
            valid_until=data["valid_until"],
        ),
        success="Release of information prepared. It counts once the client signs it.",
        then=_back(case),
    )
    if done:
        return done
    intro = "Each partner signs a release for their own information only."
    return _form(request, case, form, "Prepare a release of information", "Prepare release", intro)


def _form(
    request: AuthedRequest, case: Case, form: Any, title: str, submit: str, intro: str = ""
) -> HttpResponse:
    context = {"nav": "cases", "case": case, "form": form, "title": title, "submit": submit, "intro": intro}
    return render(request, "consents/form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def sign_on_staff_device(request: AuthedRequest, consent_id: int) -> HttpResponse:
    consent, case = _staff_consent(request, consent_id)
    form = forms.SignForm(_posted(request), staff_device=True)
    done = form_action(
        request,
        form,
        lambda data: services.consent_sign(
            actor=request.user,
            consent=consent,
            typed_name=data["typed_name"],
            ip=_ip(request),
        ),
        success=lambda _: f"Signed by {consent.client.full_name}.",
        then=_back(case),
    )
    if done:
        return done
    context = {"nav": "cases", "case": case, "consent": consent, "form": form, "staff_device": True}
    return render(request, "consents/sign.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def revoke_page(request: AuthedRequest, consent_id: int) -> HttpResponse:
    consent, case = _staff_consent(request, consent_id)
    form = forms.RevokeForm(_posted(request), staff=True)
    done = form_action(
        request,
        form,
        lambda data: services.consent_revoke(actor=request.user, consent=consent, reason=data["reason"]),
        success="The consent is withdrawn from now on.",
        then=_back(case),
    )
    if done:
        return done
    title = f"Withdraw: {consent.document.title} of {consent.client.full_name}"
    return _form(request, case, form, title, "Withdraw consent")


# --- record release and export ---------------------------------------------------------------------------


def _export_case(request: AuthedRequest, case_id: int) -> Case:
    case = get_case_for(request.user, case_id, clinical=True)
    if not can_export_record(request.user, case):
        raise deny(request.user, what="record.export", object_id=case.pk, case_id=case.pk)
    return case


def _chosen_release(request: AuthedRequest, case: Case) -> tuple[Consent | None, list[Consent]]:
    releases = list(
        Consent.objects.valid_on(local_today())
        .filter(case=case, document__kind=ConsentKind.RELEASE)
        .select_related("client", "document")
        .order_by("-signed_at")
    )
    raw = request.GET.get("release", "")
    if not raw:
        return None, releases
    # An id, not the raw text: the refusal is audited, and text with a NUL cannot be stored there.
    wanted = parse_id(raw)
    chosen = next((r for r in releases if r.pk == wanted), None)
    if chosen is None:
        raise deny(request.user, what="release", object_id=str(wanted or "not-an-id"), case_id=case.pk)
    return chosen, releases


def export_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _export_case(request, case_id)
    release, releases = _chosen_release(request, case)
    plan = export_plan_for(actor=request.user, case=case, release=release)
    context = {"nav": "cases", "case": case, "plan": plan, "releases": releases, "release": release}
    return render(request, "records/export.html", context)


def _download(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def export_json(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _export_case(request, case_id)
    release, _ = _chosen_release(request, case)
    bundle = case_export_bundle(actor=request.user, case=case, release=release)
    return _download(json.dumps(bundle, indent=2), "application/fhir+json", f"record-{case.reference}.json")


def export_pdf(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _export_case(request, case_id)
    release, _ = _chosen_release(request, case)
    pdf = case_export_pdf(actor=request.user, case=case, release=release)
    return _download(pdf, "application/pdf", f"record-{case.reference}.pdf")


def client_data(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = _export_case(request, case_id)
    client = get_partner_of(case, client_id)
    body = client_data_export(actor=request.user, client=client)
    return _download(body, "application/json", f"client-{client.pk}-data.json")


def retention_page(request: AuthedRequest) -> HttpResponse:
    if request.user.role != Role.DIRECTOR:
        raise deny(request.user, what="retention", object_id="list")
    context = {"nav": "cases", "rows": retention_due(), "years": RETENTION_YEARS}
    return render(request, "consents/retention.html", context)


# --- portal: each partner signs and withdraws their own consents only ------------------------------------


def _client_only(request: AuthedRequest) -> None:
    if request.user.role != Role.CLIENT or not request.user.is_active:
        raise deny(request.user, what="portal.consents", object_id=request.path)


def my_consents(request: AuthedRequest) -> HttpResponse:
    _client_only(request)
    today = local_today()
    rows = [(c, c.status_on(today)) for c in selectors.client_consents(user=request.user)]
    return render(request, "consents/mine.html", {"nav": "portal", "rows": rows})


@require_http_methods(["GET", "POST"])
def my_consent(request: AuthedRequest, consent_id: int) -> HttpResponse:
    _client_only(request)
    consent = selectors.client_consent(user=request.user, consent_id=consent_id)
    if consent is None:
        raise deny(request.user, what="consent", object_id=consent_id)
    form = forms.SignForm(_posted(request))
    done = form_action(
        request,
        form,
        lambda data: services.consent_sign(
            actor=request.user,
            consent=consent,
            typed_name=data["typed_name"],
            ip=_ip(request),
        ),
        success="Thank you. Your signature is saved.",
        then=redirect("consents:mine"),
    )
    if done:
        return done
    context = {
        "nav": "portal",
        "consent": consent,
        "status": consent.status_on(local_today()),
        "form": form,
        "revoke_form": forms.RevokeForm(staff=False),
        "staff_device": False,
    }
    return render(request, "consents/sign.html", context, status=400 if form.errors else 200)


@require_POST
def my_revoke(request: AuthedRequest, consent_id: int) -> HttpResponse:
    _client_only(request)
    consent = selectors.client_consent(user=request.user, consent_id=consent_id)
    if consent is None:
        raise deny(request.user, what="consent", object_id=consent_id)
    form = forms.RevokeForm(request.POST, staff=False)
    try:
        form.is_valid()
        services.consent_revoke(
            actor=request.user, consent=consent, reason=form.cleaned_data.get("reason", "")
        )
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return redirect("consents:my_consent", consent_id=consent.pk)
    messages.success(request, "Your consent is withdrawn from now on.")
    return redirect("consents:mine")
