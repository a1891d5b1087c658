"""Questionnaire pages: the client fills in their own in the portal; clinicians read results per case."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.services import deny, get_case_for, get_partner_of, is_assigned
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
from tandem.lib.actions import add_refusal, post_action
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today
from tandem.measures import charts, policy, selectors, services
from tandem.measures.forms import AcknowledgeForm, QuestionnaireForm, option_label, option_value
from tandem.measures.models import Instrument, Response


def _client_only(request: AuthedRequest) -> None:
    if request.user.role != Role.CLIENT or not request.user.is_active:
        raise deny(request.user, what="measures.portal", object_id=request.path)


# --- The client's portal pages ------------------------------------------------------------------------


@never_cache
def my_due(request: AuthedRequest) -> HttpResponse:
    _client_only(request)
    context = {
        "nav": "portal",
        "due": selectors.client_due(user=request.user),
        "shared": selectors.shared_couple_cases(user=request.user),
    }
    return render(request, "measures/my_due.html", context)


def _record(request: AuthedRequest, form: QuestionnaireForm, **target: Any) -> Response | None:
    try:
        return services.response_record(
            actor=request.user,
            answers=form.answers(),
            enforce_required=True,
            # The alert e-mail links to the address this request came in on.
            link_base=request.build_absolute_uri("/"),
            **target,
        )
    except Refusal as refusal:
        add_refusal(form, refusal)
        return None
    except ValueError as invalid:
        form.add_error(None, str(invalid))
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def my_fill(request: AuthedRequest, request_id: int) -> HttpResponse:
    _client_only(request)
    if selectors.client_request_answered(user=request.user, request_id=request_id):
        # Back (or a second submit) after answering: say so on the list rather than a bare 404.
        messages.info(request, "You have already filled in this questionnaire. Thank you.")
        return redirect("measures:my_due")
    due = selectors.client_request(user=request.user, request_id=request_id)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, instrument=due.instrument)
    if request.method == "POST" and form.is_valid():
        response = _record(
            request, form, case=due.case, client=due.client, instrument_code=due.instrument.code
        )
        if response is not None:
            if set(response.flags) & set(policy.SAFETY_FLAGS):
                # Said to everyone who answers so, before anything else: the therapists are told too.
                return render(
                    request, "measures/my_thanks.html", {"nav": "portal", "crisis": policy.CRISIS_TEXT}
                )
            messages.success(request, "Thank you. Your answers are saved and only your therapists see them.")
            return redirect("measures:my_due")
    context = {"nav": "portal", "due": due, "form": form}
    return render(request, "measures/my_fill.html", context, status=400 if form.errors else 200)


@never_cache
def my_couple_report(request: AuthedRequest, case_id: int) -> HttpResponse:
    _client_only(request)
    case, rows = selectors.couple_report(user=request.user, case_id=case_id)
    return render(request, "measures/couple_report.html", {"nav": "portal", "case": case, "rows": rows})


# --- Clinicians ----------------------------------------------------------------------------------------


@never_cache
def case_results(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True)
    results = selectors.case_results(case=case)
    context = {
        "nav": "cases",
        "case": case,
        "results": results,
        "today": local_today(),
        "overdue_days": policy.OVERDUE_AFTER_DAYS,
        "instruments": Instrument.objects.only("code", "title"),
        "may_share": case.is_couple
        and (is_assigned(request.user, case) or request.user.role == Role.DIRECTOR),
        "ack_form": AcknowledgeForm(),
    }
    return render(request, "measures/case_results.html", context)


def _item_rows(response: Response) -> list[dict[str, Any]]:
    rows = []
    number = 0
    for item in response.instrument.definition["questionnaire"]["item"]:
        if item.get("type") == "display":
            continue
        number += 1
        value = response.answers.get(item["linkId"])
        label = next((option_label(o) for o in item.get("answerOption", []) if option_value(o) == value), "")
        rows.append({"number": number, "text": item.get("text", ""), "value": value, "label": label})
    return rows


@never_cache
def response_detail(request: AuthedRequest, case_id: int, response_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True)
    response = selectors.response_for_staff(case=case, response_id=response_id, user=request.user)
    context = {
        "nav": "cases",
        "case": case,
        "response": response,
        "items": _item_rows(response),
        "band": charts.band_label(response.band),
    }
    return render(request, "measures/response_detail.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def staff_enter(request: AuthedRequest, case_id: int) -> HttpResponse:
    """A clinician enters a client's answers on their behalf (paper form, phone call)."""
    case = get_case_for(request.user, case_id, clinical=True, audit_view=request.method == "GET")
    data = request.POST if request.method == "POST" else request.GET
    try:
        client = get_partner_of(case, int(data.get("client", "")))
    except ValueError:
        raise Http404("Not found") from None
    instrument = Instrument.objects.filter(code=data.get("code", "")).first()
    if instrument is None:
        raise Http404("Not found")
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, instrument=instrument)
    if request.method == "POST" and form.is_valid():
        response = _record(request, form, case=case, client=client, instrument_code=instrument.code)
        if response is not None:
            messages.success(request, f"{instrument.title} saved for {client.first_name}.")
            return redirect("measures:case", case_id=case.pk)
    context = {"nav": "cases", "case": case, "client": client, "instrument": instrument, "form": form}
    return render(request, "measures/staff_enter.html", context, status=400 if form.errors else 200)


@require_POST
def alert_acknowledge(request: AuthedRequest, case_id: int, alert_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True, audit_view=False)
    alert = selectors.alert_for_staff(case=case, alert_id=alert_id, user=request.user)
    form = AcknowledgeForm(request.POST)
    back = redirect("measures:case", case_id=case.pk)
    if not form.is_valid():
        messages.error(request, "Write what you did about the alert.")
        return back
    return post_action(
        request,
        lambda: services.safety_alert_acknowledge(
            actor=request.user, alert=alert, note=form.cleaned_data["note"]
        ),
        success="Alert acknowledged.",
        then=back,
    )


@require_POST
def couple_report_share(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True, audit_view=False)
    back = redirect("measures:case", case_id=case.pk)
    if request.POST.get("action") == "revoke":
        return post_action(
            request,
            lambda: services.couple_report_revoke(actor=request.user, case=case),
            success="The couple report is no longer shown in the portal.",
            then=back,
        )
    return post_action(
        request,
        lambda: services.couple_report_share(actor=request.user, case=case),
        success="Both partners now see the couple report in their portal.",
        then=back,
    )
