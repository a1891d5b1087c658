"""The public site (no log-in), the visitor's booking links, and the coordinators' inbox."""

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from tandem.access.services import can_use_inbox, deny
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import CLINICAL_ROLES, User
from tandem.lib import parse
from tandem.lib.actions import post_action
from tandem.lib.errors import Refusal
from tandem.public import forms, selectors, services
from tandem.public.models import ConsultationRequest, ContactMessage, PublicPage
from tandem.scheduling.models import Mode


def _manage_path(token: str) -> str:
    return reverse("public:consultation_manage", kwargs={"token": token})


def _manage_link(request: HttpRequest) -> Callable[[str], str]:
    """The e-mailed link, on the host and port this request came in on (ALLOWED_HOSTS vets the host)."""
    return lambda token: request.build_absolute_uri(_manage_path(token))


def _page(slug: str) -> PublicPage:
    page = PublicPage.objects.filter(slug=slug).first()
    if page is None:
        raise Http404("Not found")
    return page


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"nav_pages": selectors.nav_pages(), **context}, status=status)


def _limited(request: HttpRequest, group: str, rate: str) -> HttpResponse | None:
    """A plain 429 page once this address has sent too many forms (counted in the shared cache)."""
    if request.method != "POST":
        return None
    if not is_ratelimited(request, group=group, key="ip", rate=rate, method="POST", increment=True):
        return None
    response = _render(request, "public/limited.html", {}, status=429)
    response["Retry-After"] = "3600"
    return response


# --- pages ----------------------------------------------------------------------------------------
@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    return _render(request, "public/home.html", {"page": _page("home"), "nav": "home"})


@login_not_required
def page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render(request, "public/page.html", {"page": _page(slug), "nav": slug})


@login_not_required
def therapists(request: HttpRequest) -> HttpResponse:
    context = {"page": _page("therapists"), "nav": "therapists", "therapists": selectors.therapists()}
    return _render(request, "public/therapists.html", context)


# --- contact --------------------------------------------------------------------------------------
@login_not_required
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    limited = _limited(request, "public.contact", settings.PUBLIC_CONTACT_RATE)
    if limited is not None:
        return limited
    form = forms.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.is_bot:
            return redirect("public:contact_sent")  # looks accepted; nothing is stored
        try:
            services.contact_message_send(visitor=form.visitor(), message=form.cleaned_data["message"])
        except services.Refused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("public:contact_sent")
    status = 400 if request.method == "POST" else 200
    return _render(
        request, "public/contact.html", {"page": _page("contact"), "nav": "contact", "form": form}, status
    )


@login_not_required
def contact_sent(request: HttpRequest) -> HttpResponse:
    return _render(request, "public/contact_sent.html", {"nav": "contact"})


# --- the free consultation ------------------------------------------------------------------------
def _mode(raw: str | None) -> str:
    return raw if raw in (Mode.PHONE, Mode.VIDEO) else Mode.VIDEO


def _therapist(pk: int) -> User | None:
    return User.objects.filter(pk=pk, is_active=True, role__in=CLINICAL_ROLES).first()


def _slot_context(source: Any, form: forms.SlotForm) -> dict[str, Any]:
    mode = _mode(source.get("mode"))
    chosen = source.get("slot", "")
    return {
        "form": form,
        "mode": mode,
        "availability": selectors.availability(mode=mode, day=parse.parse_day(source.get("day"))),
        "chosen": chosen,
    }


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def consultation(request: HttpRequest) -> HttpResponse:
    limited = _limited(request, "public.booking", settings.PUBLIC_BOOKING_RATE)
    if limited is not None:
        return limited
    source = request.POST if request.method == "POST" else request.GET
    form = forms.BookingForm(
        request.POST or None, initial={"key": uuid.uuid4(), "mode": _mode(request.GET.get("mode"))}
    )
    if request.method == "POST" and form.is_valid():
        if form.is_bot:
            return _render(request, "public/consultation_received.html", {"nav": "consultation"})
        therapist_id, starts_at = form.cleaned_data["slot"]
        therapist = _therapist(therapist_id)
        if therapist is None:
            form.add_error(None, "Choose one of the times shown.")
        else:
            try:
                booked = services.consultation_request_book(
                    visitor=form.visitor(),
                    reason=form.cleaned_data["reason"],
                    therapist=therapist,
                    starts_at=starts_at,
                    mode=form.cleaned_data["mode"],
                    idempotency_key=form.cleaned_data["key"],
                    manage_path=_manage_link(request),
                )
            except services.AlreadyBooked:
                # The same page as any request taken in: only the address's owner learns why (by e-mail).
                return _render(request, "public/consultation_received.html", {"nav": "consultation"})
            except services.Refused as refusal:
                form.add_error(None, str(refusal))
            else:
                return redirect("public:consultation_booked", token=services.link_token(booked))
    context = {"page": _page("consultation"), "nav": "consultation", **_slot_context(source, form)}
    return _render(request, "public/consultation.html", context, 400 if request.method == "POST" else 200)


def _link_refused(request: HttpRequest, problem: services.LinkInvalid) -> HttpResponse:
    return _render(request, "public/link_invalid.html", {"problem": str(problem)}, status=410)


@login_not_required
@never_cache
def consultation_booked(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = services.request_by_token(token)
    except services.LinkInvalid as problem:
        return _link_refused(request, problem)
    context = {
        "booking": booking,
        "token": token,
        "manage_url": request.build_absolute_uri(_manage_path(token)),
    }
    return _render(request, "public/consultation_booked.html", context)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def consultation_manage(request: HttpRequest, token: str) -> HttpResponse:
    limited = _limited(request, "public.booking", settings.PUBLIC_BOOKING_RATE)
    if limited is not None:
        return limited
    try:
        booking = services.request_by_token(token)
    except services.LinkInvalid as problem:
        return _link_refused(request, problem)
    action = request.POST.get("action")
    source: Any = request.POST if request.method == "POST" else request.GET
    form = forms.RescheduleForm(
        request.POST if action == "reschedule" else None, initial={"mode": booking.mode}
    )
    if action == "cancel":
        try:
            services.consultation_request_cancel(token=token)
        except services.LinkInvalid as problem:
            return _link_refused(request, problem)
        return _render(request, "public/consultation_cancelled.html", {})
    if action == "reschedule" and form.is_valid():
        therapist_id, starts_at = form.cleaned_data["slot"]
        therapist = _therapist(therapist_id)
        try:
            if therapist is None:
                raise services.Refused("Choose one of the times shown.")
            moved = services.consultation_request_reschedule(
                token=token,
                therapist=therapist,
                starts_at=starts_at,
                mode=form.cleaned_data["mode"],
                manage_path=_manage_link(request),
            )
        except services.LinkInvalid as problem:
            return _link_refused(request, problem)
        except services.Refused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("public:consultation_booked", token=services.link_token(moved))
    if request.method == "GET" and "mode" not in source:
        source = {"mode": booking.mode}
    context = {"booking": booking, "token": token, **_slot_context(source, form)}
    return _render(request, "public/consultation_manage.html", context, 400 if form.errors else 200)


# --- the coordinators' inbox ----------------------------------------------------------------------
def _inbox_user(request: AuthedRequest) -> None:
    if not can_use_inbox(request.user):
        raise deny(request.user, what="public.inbox", object_id="-")


@require_http_methods(["GET"])
def inbox(request: AuthedRequest) -> HttpResponse:
    _inbox_user(request)
    form = forms.InboxFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    context = {
        "nav": "inbox",
        "form": form,
        "requests": selectors.inbox_requests(data.get("requests") or "open"),
        "contact_messages": selectors.inbox_messages(data.get("messages") or "new"),
    }
    return render(request, "public/inbox.html", context)


def _request_for(request: AuthedRequest, pk: int) -> ConsultationRequest:
    _inbox_user(request)
    return get_object_or_404(
        ConsultationRequest.objects.select_related(
            "therapist", "case__partner_a", "case__partner_b", "appointment"
        ),
        pk=pk,
    )


@require_http_methods(["GET", "POST"])
def inbox_request(request: AuthedRequest, pk: int) -> HttpResponse:
    consult = _request_for(request, pk)
    action = request.POST.get("action")
    convert_form = forms.ConvertForm(request.POST if action == "convert" else None)
    decline_form = forms.DeclineForm(request.POST if action == "decline" else None)
    try:
        if action == "confirm":
            services.consultation_request_confirm(actor=request.user, request=consult)
            messages.success(request, "Marked as confirmed.")
            return redirect("public:inbox_request", pk=pk)
        if action == "convert" and convert_form.is_valid():

            def link_for(token: str) -> str:
                return request.build_absolute_uri(reverse("portal:accept", kwargs={"token": token}))

            done = services.consultation_request_convert(
                actor=request.user,
                request=consult,
                partner=convert_form.partner(),
                invite=convert_form.cleaned_data["invite"],
                link_for=link_for,
            )
            invited = f" Invited to the portal: {', '.join(done.invited)}." if done.invited else ""
            messages.success(request, f"Case {consult.case} moved to intake.{invited}")
            for problem in done.not_invited:
                messages.warning(request, f"Not invited: {problem}")
            return redirect("public:inbox")
        if action == "decline" and decline_form.is_valid():
            services.consultation_request_decline(
                actor=request.user, request=consult, reason=decline_form.cleaned_data["reason"]
            )
            messages.success(request, f"Declined; case {consult.case} closed without treatment.")
            return redirect("public:inbox")
    except Refusal as refusal:
        # Shown at the top of the page: a handled request no longer shows its action forms.
        messages.error(request, str(refusal))
    context = {"nav": "inbox", "consult": consult, "convert_form": convert_form, "decline_form": decline_form}
    return render(
        request, "public/inbox_request.html", context, status=400 if request.method == "POST" else 200
    )


@require_POST
def inbox_message(request: AuthedRequest, pk: int) -> HttpResponse:
    _inbox_user(request)
    message = get_object_or_404(ContactMessage, pk=pk)
    return post_action(
        request,
        lambda: services.contact_message_set_status(
            actor=request.user, message=message, status=request.POST.get("status", "")
        ),
        success=lambda _: f"Message from {message.name} marked {message.get_status_display().lower()}.",
        then="public:inbox",
    )
