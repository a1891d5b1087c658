"""The client portal (each partner on their own account) and the invitation that creates the account."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.clinical import can_answer_messages
from tandem.access.services import can_edit_case, deny, get_case_for
from tandem.accounts import services as account_services
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
from tandem.homework import selectors as homework_selectors
from tandem.homework.forms import LogForm
from tandem.homework.services import assignment_log
from tandem.lib.actions import form_action, post_action
from tandem.lib.tokens import SessionLinkToken
from tandem.notify.forms import PreferenceForm
from tandem.notify.models import Preference
from tandem.notify.services import preference_set
from tandem.pathway.models import IntakeRecord
from tandem.pathway.rules import CLIENT_INTAKE_PHASES
from tandem.pathway.services import (
    ContactDetails,
    IntakeDetails,
    intake_client_save,
)
from tandem.portal import messaging, selectors, services
from tandem.portal.calendar import appointment_ics
from tandem.portal.forms import ChoosePasswordForm, ClientIntakeForm, MessageForm


def _client_only(request: AuthedRequest) -> None:
    # Staff have their own pages; the portal (and its log form) is for clients only.
    if request.user.role != Role.CLIENT or not request.user.is_active:
        raise deny(request.user, what="portal", object_id=request.path)


def home(request: AuthedRequest) -> HttpResponse:
    _client_only(request)
    context = {"nav": "portal", **selectors.portal_home(user=request.user, now=timezone.now())}
    services.portal_read(user=request.user, page="home")
    return render(request, "portal/home.html", context)


INTAKE_CONTACT = ("preferred_name", "pronouns", "date_of_birth", "phone")
INTAKE_ANSWERS = (
    "details_confirmed",
    "relationship_history",
    "presenting_concerns",
    "medications",
    "conditions",
    *IntakeRecord.SAFETY_FIELDS,
)


@require_http_methods(["GET", "POST"])
def intake(request: AuthedRequest, case_id: int) -> HttpResponse:
    """One partner's own part of the intake: the case is found through the client's own partnership, so
    there is no address at which the other partner's part could be asked for."""
    _client_only(request)
    try:
        case, client = messaging.client_conversation(user=request.user, case_id=case_id)
    except Http404:
        raise deny(request.user, what="intake", object_id=case_id) from None
    record = IntakeRecord.objects.filter(case=case, client=client).first()
    editable = case.phase in CLIENT_INTAKE_PHASES
    initial = {name: getattr(client, name) for name in INTAKE_CONTACT}
    if record is not None:
        initial |= {name: getattr(record, name) for name in INTAKE_ANSWERS}
    form = ClientIntakeForm(request.POST if request.method == "POST" else None, initial=initial)
    if editable:
        done = form_action(
            request,
            form,
            lambda data: intake_client_save(
                actor=request.user,
                case=case,
                contact=ContactDetails(**{name: data[name] for name in INTAKE_CONTACT}),
                details=IntakeDetails(**{name: data[name] for name in INTAKE_ANSWERS}),
            ),
            success="Thank you. Your answers are saved; only your therapist reads them.",
            then=redirect("portal:home"),
        )
        if done:
            return done
    if request.method == "GET":
        services.portal_read(user=request.user, page="intake", case=case, target=record)
    context = {"nav": "portal", "case": case, "form": form, "editable": editable, "record": record}
    status = 400 if form.errors or (request.method == "POST" and not editable) else 200
    return render(request, "portal/intake.html", context, status=status)


@require_http_methods(["GET", "POST"])
def assignment(request: AuthedRequest, assignment_id: int) -> HttpResponse:
    _client_only(request)
    item = homework_selectors.client_assignment(user=request.user, assignment_id=assignment_id)
    current = item.assignment
    can_share = current.for_couple and current.case.is_couple
    form = LogForm(request.POST if request.method == "POST" else None, can_share=can_share)
    done = form_action(
        request,
        form,
        lambda data: assignment_log(
            actor=request.user,
            assignment=current,
            done=data["done"],
            rating=data["rating"],
            obstacles=data["obstacles"],
            note=data["note"],
            shared=data.get("shared", False),
        ),
        success="Saved. Thank you for writing it down.",
        then=redirect("portal:home"),
    )
    if done:
        return done
    if request.method == "GET":
        services.portal_read(user=request.user, page="assignment", case=current.case, target=current)
    context = {"nav": "portal", "item": item, "form": form, "can_share": can_share}
    return render(request, "portal/assignment.html", context, status=400 if form.errors else 200)


def appointment_calendar(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    _client_only(request)
    appointment = selectors.client_appointment(user=request.user, appointment_id=appointment_id)
    if appointment is None:
        raise deny(request.user, what="appointment", object_id=appointment_id)
    response = HttpResponse(
        appointment_ics(appointment, now=timezone.now()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def client_messages(request: AuthedRequest, case_id: int) -> HttpResponse:
    """A client's own conversation with their therapist(s) about one case."""
    _client_only(request)
    try:
        case, client = messaging.client_conversation(user=request.user, case_id=case_id)
    except Http404:
        raise deny(request.user, what="messages", object_id=case_id) from None
    if request.method == "GET":
        services.portal_read(user=request.user, page="messages", case=case)
    return _conversation(request, case, client, template="portal/messages.html")


@require_http_methods(["GET", "POST"])
def staff_messages(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    """The clinicians' side of one partner's conversation (clinical: not for the front desk)."""
    case = get_case_for(request.user, case_id, clinical=True, audit_view=request.method == "GET")
    client = next((c for c in case.partners if c.pk == client_id), None)
    if client is None:
        raise deny(request.user, what="messages", object_id=client_id, case_id=case.pk)
    return _conversation(request, case, client, template="portal/staff_messages.html")


def _conversation(request: AuthedRequest, case: Any, client: Any, *, template: str) -> HttpResponse:
    form = MessageForm(request.POST if request.method == "POST" else None)
    done = form_action(
        request,
        form,
        lambda data: messaging.message_send(actor=request.user, case=case, client=client, body=data["body"]),
        success="Message sent.",
        then=redirect(request.path),
    )
    if done:
        return done
    context = {
        "nav": "cases" if request.user.role != Role.CLIENT else "portal",
        "case": case,
        "client": client,
        "form": form,
        "may_write": request.user.role == Role.CLIENT or can_answer_messages(request.user, case),
        "conversation": messaging.conversation_read(reader=request.user, case=case, client=client),
    }
    return render(request, template, context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def reminders(request: AuthedRequest) -> HttpResponse:
    _client_only(request)
    current = Preference.objects.filter(user=request.user).first() or Preference(user=request.user)
    form = PreferenceForm(request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST" and form.is_valid():
        # Where texts are not offered the form has no such field: an earlier choice is kept as it was.
        preference_set(actor=request.user, **{"sms": current.sms, **form.cleaned_data})
        messages.success(request, "Your reminder settings are saved.")
        return redirect("portal:home")
    context = {"nav": "portal", "form": form}
    return render(request, "portal/reminders.html", context, status=400 if form.errors else 200)


@require_POST
def invite(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, audit_view=False)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what="portal.invite", object_id=client_id, case_id=case.pk)
    client = next((c for c in case.partners if c.pk == client_id), None)
    if client is None:
        raise Http404("Not found")

    def link_for(token: str) -> str:
        return request.build_absolute_uri(reverse("portal:accept", kwargs={"token": token}))

    return post_action(
        request,
        lambda: services.client_invite(actor=request.user, case=case, client=client, link_for=link_for),
        success=lambda _: f"Invitation sent to {client.full_name}. The link works for 7 days.",
        then=redirect("cases:detail", case_id=case.pk),
    )


# The e-mailed token moves into the session at once (as the staff set-up link does).
LINK_TOKEN = SessionLinkToken(session_key="_portal_invitation_token", placeholder="set-password")


def _invalid(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "portal/invitation_invalid.html", {"problem": problem}, status=410)


@login_not_required
@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    if LINK_TOKEN.arrived(token):
        try:
            services.invitation_by_token(token)
        except services.InvitationInvalid as problem:
            return _invalid(request, str(problem))
        return LINK_TOKEN.swap(request, token, url_name="portal:accept")
    token = LINK_TOKEN.held(request)
    if not token:
        return _invalid(
            request, "Open the link in your e-mail again, in this browser, to set up your account."
        )
    try:
        invitation = services.invitation_by_token(token)
    except services.InvitationInvalid as problem:
        return _invalid(request, str(problem))
    form: Any = ChoosePasswordForm(
        services.new_portal_user(invitation), request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except services.InvitationInvalid as problem:
            return _invalid(request, str(problem))
        except ValidationError as problem:
            form.add_error("new_password1", problem)
        else:
            LINK_TOKEN.forget(request)
            # They just proved the e-mailed link and chose the password: asking for it again helps no one.
            account_services.complete_login(
                request=request,
                user=user,
                backend=settings.AUTHENTICATION_BACKENDS[-1],
                device=None,
                method="none",
            )
            messages.success(
                request, f"Your account is ready. Next time, log in with the user name {user.username}."
            )
            return redirect("portal:home")
    context = {"form": form, "email": invitation.email}
    return render(request, "portal/accept.html", context, status=400 if form.errors else 200)
