"""The pathway's pages: each gets the case through the permission layer, calls one service, redirects."""

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.services import (
    can_create_case,
    can_edit_case,
    can_move_case,
    deny,
    get_case_for,
    get_partner_of,
    is_case_clinician,
)
from tandem.accounts.http import AuthedRequest
from tandem.audit.services import audit_record
from tandem.cases import forms as case_forms
from tandem.cases.models import OPEN_PHASES, Case, Phase
from tandem.lib.actions import add_refusal, form_action, post_action
from tandem.lib.errors import Refusal
from tandem.lib.parse import parse_id
from tandem.lib.time import local_today
from tandem.pathway import forms, letters, selectors, services
from tandem.pathway.models import AssessmentFindings, FollowUpTask, IntakeRecord, Referral, TreatmentPlan
from tandem.pathway.rules import blockers, transition_for
from tandem.practice.models import Practice
from tandem.scheduling.models import Appointment, AppointmentKind
from tandem.scheduling.selectors import future_bookings
from tandem.scheduling.services import appointment_set_attendee


def _posted(request: AuthedRequest) -> Any:
    # Not `request.POST or None`: a form with only optional fields may be posted empty, and is still posted.
    return request.POST if request.method == "POST" else None


def _back(case: Case) -> HttpResponse:
    return redirect("cases:detail", case_id=case.pk)


@require_http_methods(["GET", "POST"])
def case_create(request: AuthedRequest) -> HttpResponse:
    """Open a case (cases:create): a page of the case list, served here because opening a case starts it
    on the pathway, which records its first phase."""
    user: Any = request.user
    if not can_create_case(user):
        raise deny(user, what="case.create", object_id="-")
    case_form = case_forms.CaseOpenForm(request.POST or None)
    form_a = case_forms.ClientForm(request.POST or None, prefix="a")
    couple = request.POST.get("kind") != "individual"
    # An individual case has no second client: its fields are shown again as typed, never validated.
    posted_b = (request.POST or None) if couple else None
    initial_b = {k.removeprefix("b-"): v for k, v in request.POST.items() if k.startswith("b-")}
    form_b = case_forms.ClientForm(posted_b, prefix="b", initial=initial_b, use_required_attribute=False)
    if request.method == "POST":
        valid = all([case_form.is_valid(), form_a.is_valid(), form_b.is_valid() if couple else True])
        if valid:
            data = case_form.cleaned_data
            try:
                case = services.case_open(
                    actor=user,
                    partner_a=form_a.details(),
                    partner_b=form_b.details() if couple else None,
                    absent_partner="" if couple else data["absent_partner"],
                    absent_partner_note="" if couple else data["absent_partner_note"],
                    therapist=data["therapist"],
                    team=data["team"],
                    phase=data["phase"],
                )
            except Refusal as refusal:
                add_refusal(case_form, refusal)
            else:
                messages.success(request, f"Case {case.reference} opened.")
                return redirect("cases:detail", case_id=case.pk)
    context = {"nav": "cases", "case_form": case_form, "form_a": form_a, "form_b": form_b}
    return render(request, "cases/case_form.html", context, status=400 if request.method == "POST" else 200)


def _clinician_case(request: AuthedRequest, case_id: int, what: str) -> Case:
    """The case for a clinical write: readable clinically, and the user one of its clinicians."""
    case = get_case_for(request.user, case_id, clinical=True)
    if not is_case_clinician(request.user, case):
        raise deny(request.user, what=what, object_id=case.pk, case_id=case.pk)
    return case


def _form_page(
    request: AuthedRequest,
    *,
    case: Case,
    form: django_forms.BaseForm,
    title: str,
    intro: str = "",
    submit: str = "Save",
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"nav": "cases", "case": case, "form": form, "title": title, "intro": intro, "submit": submit}
    return render(request, "pathway/form.html", context, status=status)


def _confirmed_bookings(request: AuthedRequest) -> list[int]:
    """The bookings the person saw and confirmed cancelling with the case (none unless they ticked)."""
    if request.POST.get("confirm_cancel") != "on":
        return []
    return [pk for pk in (parse_id(v) for v in request.POST.getlist("booking")) if pk is not None]


@require_http_methods(["GET", "POST"])
def transition(request: AuthedRequest, case_id: int, to_phase: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    step = transition_for(case.phase, to_phase)
    if step is None or not can_move_case(request.user, case, step):
        raise deny(request.user, what=f"case.transition.{to_phase}", object_id=case.pk, case_id=case.pk)
    hard, soft = blockers(case, step)
    clinician = is_case_clinician(request.user, case)
    form = forms.TransitionForm(
        _posted(request),
        needs_reason=step.needs_reason,
        overridable=bool(soft) and clinician,
        follow_up=to_phase == Phase.FOLLOW_UP,
    )
    done = form_action(
        request,
        form,
        lambda data: services.case_transition(
            actor=request.user,
            case=case,
            to_phase=to_phase,
            reason=data.get("reason", ""),
            override_reason=data.get("override_reason", ""),
            follow_up_mode=data.get("follow_up_mode") or "visit",
            cancel_bookings=_confirmed_bookings(request),
        ),
        success=lambda _: f"The case is now in {Phase(to_phase).label.lower()}.",
        then=_back(case),
    )
    if done:
        return done
    context = {
        "nav": "cases",
        "case": case,
        "step": step,
        "form": form,
        "hard": hard,
        "soft": soft,
        "clinician": clinician,
        # Ending care cancels these with the case; the person confirms exactly the list shown.
        "bookings": future_bookings(case, now=timezone.now())
        if to_phase in (Phase.DISCHARGED, Phase.CLOSED)
        else [],
    }
    return render(
        request, "pathway/transition.html", context, status=400 if request.method == "POST" else 200
    )


@require_http_methods(["GET", "POST"])
def partner_leave(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    """A partner leaves a couple case: the page lists their future bookings (theirs alone and joint), which
    are cancelled in the same step once the clinician ticks that they are."""
    case = _clinician_case(request, case_id, "case.partner_leave")
    if not case.is_couple or case.phase not in OPEN_PHASES:
        raise deny(request.user, what="case.partner_leave", object_id=case.pk, case_id=case.pk)
    client = get_partner_of(case, client_id)
    form = forms.PartnerLeaveForm(_posted(request))
    done = form_action(
        request,
        form,
        lambda data: services.case_partner_leave(
            actor=request.user,
            case=case,
            client=client,
            absent_partner=data["absent_partner"],
            reason=data["reason"],
            cancel_bookings=_confirmed_bookings(request),
        ),
        success=f"{client.full_name} has left the case.",
        then=_back(case),
    )
    if done:
        return done
    context = {
        "nav": "cases",
        "case": case,
        "client": client,
        "form": form,
        "bookings": future_bookings(case, now=timezone.now(), clients=[client]),
    }
    return render(
        request, "pathway/partner_leave.html", context, status=400 if request.method == "POST" else 200
    )


@require_http_methods(["GET", "POST"])
def intake_edit(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "intake")
    client = get_partner_of(case, client_id)
    record = IntakeRecord.objects.filter(case=case, client=client).first()
    form = forms.IntakeForm(_posted(request), instance=record)
    done = form_action(
        request,
        form,
        lambda _: services.intake_save(actor=request.user, case=case, client=client, details=form.details()),
        success=lambda _: f"Intake of {client.full_name} saved.",
        then=_back(case),
    )
    if done:
        return done
    return _form_page(
        request,
        case=case,
        form=form,
        title=f"Intake of {client.full_name}",
        intro="Only this partner's answers: the other partner's intake is kept apart.",
    )


@require_POST
def intake_reviewed(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "intake.safety_review")
    client = get_partner_of(case, client_id)
    record = IntakeRecord.objects.filter(case=case, client=client).first()
    if record is None:
        raise deny(request.user, what="intake", object_id=client_id, case_id=case.pk)
    record.case = case
    return post_action(
        request,
        lambda: services.intake_safety_review(actor=request.user, record=record),
        success=lambda _: f"Safety answers of {client.full_name} marked as reviewed.",
        then=_back(case),
    )


@require_http_methods(["GET", "POST"])
def consent_add(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what="consent", object_id=case.pk, case_id=case.pk)
    client = get_partner_of(case, client_id)
    form = forms.ConsentForm(_posted(request))
    done = form_action(
        request,
        form,
        lambda _: services.consent_record(
            actor=request.user, case=case, client=client, version=form.cleaned_data["version"]
        ),
        success=lambda _: f"Consent to treatment of {client.full_name} recorded.",
        then=_back(case),
    )
    if done:
        return done
    return _form_page(
        request,
        case=case,
        form=form,
        title=f"Consent to treatment: {client.full_name}",
        submit="Record consent",
    )


@require_http_methods(["GET", "POST"])
def findings_edit(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "findings")
    client = get_partner_of(case, client_id)
    current = AssessmentFindings.objects.filter(case=case).filter(client=client).first()
    initial = {"psychological": current.psychological, "physical": current.physical} if current else None
    form = forms.FindingsForm(_posted(request), initial=initial)
    done = form_action(
        request,
        form,
        lambda _: services.findings_save(actor=request.user, case=case, client=client, **form.cleaned_data),
        success=lambda _: f"Assessment findings for {client.full_name} saved.",
        then=_back(case),
    )
    if done:
        return done
    return _form_page(request, case=case, form=form, title=f"Assessment findings: {client.full_name}")


@require_http_methods(["POST"])
def session_for(request: AuthedRequest, case_id: int, appointment_id: int) -> HttpResponse:
    """Say which partner attends an individual assessment session booked for both (before bookings
    named who attends). Who attends is the booking's fact: scheduling writes it and moves the hold."""
    case = _clinician_case(request, case_id, "assessment.session_for")
    appointment = Appointment.objects.filter(case=case, pk=appointment_id).first()
    if appointment is None or appointment.kind != AppointmentKind.INDIVIDUAL_ASSESSMENT:
        raise deny(request.user, what="appointment", object_id=appointment_id, case_id=case.pk)
    form = forms.SessionForForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(request, "Choose a partner.")
        return _back(case)
    client = forms.partner_from(case, form.cleaned_data["client"])
    return post_action(
        request,
        lambda: appointment_set_attendee(actor=request.user, appointment=appointment, client=client),
        success=lambda _: f"Session of {appointment.starts_at:%d %b} noted as for {client.full_name}.",
        then=_back(case),
    )


@require_http_methods(["GET", "POST"])
def referral_new(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "referral.create")
    form = forms.ReferralForm(_posted(request), case=case)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def create() -> None:
            services.referral_create(
                actor=request.user,
                case=case,
                client=forms.partner_from(case, data["client"]),
                specialist_type=data["specialist_type"],
                reason=data["reason"],
                urgency=data["urgency"],
            )

        done = form_action(
            request,
            form,
            lambda _: create(),
            success="Referral recorded. Print the letter from the case page.",
            then=_back(case),
        )
        if done:
            return done
    return _form_page(request, case=case, form=form, title="Refer to a specialist", submit="Make referral")


def _referral(request: AuthedRequest, case_id: int, referral_id: int, *, write: bool) -> Referral:
    case = (
        _clinician_case(request, case_id, "referral")
        if write
        else get_case_for(request.user, case_id, clinical=True)
    )
    referral = (
        Referral.objects.filter(case=case, pk=referral_id)
        .select_related("client", "specialist_type", "referred_by")
        .first()
    )
    if referral is None:
        raise deny(request.user, what="referral", object_id=referral_id, case_id=case.pk)
    referral.case = case
    return referral


@require_http_methods(["GET", "POST"])
def referral_appointment(request: AuthedRequest, case_id: int, referral_id: int) -> HttpResponse:
    referral = _referral(request, case_id, referral_id, write=True)
    form = forms.ReferralAppointmentForm(_posted(request))
    done = form_action(
        request,
        form,
        lambda _: services.referral_mark_appointment(
            actor=request.user, referral=referral, appointment_on=form.cleaned_data["appointment_on"]
        ),
        success="Specialist appointment recorded.",
        then=_back(referral.case),
    )
    if done:
        return done
    title = f"Appointment with the {referral.specialist_type.label.lower()} for {referral.client.full_name}"
    return _form_page(request, case=referral.case, form=form, title=title)


@require_http_methods(["GET", "POST"])
def referral_result(request: AuthedRequest, case_id: int, referral_id: int) -> HttpResponse:
    referral = _referral(request, case_id, referral_id, write=True)
    form = forms.ReferralResultForm(_posted(request))
    done = form_action(
        request,
        form,
        lambda _: services.referral_record_result(actor=request.user, referral=referral, **form.cleaned_data),
        success="Referral result recorded.",
        then=_back(referral.case),
    )
    if done:
        return done
    title = f"Result from the {referral.specialist_type.label.lower()} for {referral.client.full_name}"
    return _form_page(request, case=referral.case, form=form, title=title, submit="Record result")


def referral_letter(request: AuthedRequest, case_id: int, referral_id: int) -> HttpResponse:
    """The printable letter: the referred client, the reason and who refers — nothing about the partner or
    other problems."""
    referral = _referral(request, case_id, referral_id, write=False)
    context = {
        "referral": referral,
        "client": referral.client,
        "practice": Practice.objects.order_by("pk").first(),
    }
    return render(request, "pathway/referral_letter.html", context)


def referral_letter_pdf(request: AuthedRequest, case_id: int, referral_id: int) -> HttpResponse:
    """The same letter as a PDF download; the file name names nobody."""
    referral = _referral(request, case_id, referral_id, write=False)
    practice = Practice.objects.order_by("pk").first()
    audit_record(
        actor=request.user,
        action="referral.letter",
        target=referral,
        case=referral.case,
        detail={"format": "pdf"},
    )
    response = HttpResponse(
        letters.referral_letter_pdf(referral, practice=practice), content_type="application/pdf"
    )
    response["Content-Disposition"] = 'attachment; filename="referral-letter.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def plan_edit(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "plan")
    current = TreatmentPlan.objects.filter(case=case).order_by("-version").first()
    initial = None
    if current is not None:
        initial = {
            "format": current.format,
            "sessions_per_week": current.sessions_per_week,
            "conjunctive_client": str(current.conjunctive_client_id or ""),
            "goals": current.goals,
            "focus_areas": current.focus_areas,
        }
    form = forms.PlanForm(_posted(request), case=case, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        conjunctive = data.get("conjunctive_client")

        def save() -> None:
            services.plan_save(
                actor=request.user,
                case=case,
                format=data["format"],
                sessions_per_week=data["sessions_per_week"],
                conjunctive_client=forms.partner_from(case, conjunctive) if conjunctive else None,
                goals=data["goals"],
                focus_areas=data["focus_areas"],
                change_note=data["change_note"],
            )

        done = form_action(
            request,
            form,
            lambda _: save(),
            success="Treatment plan saved as a new version.",
            then=_back(case),
        )
        if done:
            return done
    intro = "Saving writes a new version; earlier versions stay in the history." if current else ""
    return _form_page(request, case=case, form=form, title="Treatment plan", intro=intro)


def _follow_up(request: AuthedRequest, case: Case, task_id: int) -> FollowUpTask:
    task = FollowUpTask.objects.filter(case=case, pk=task_id).first()
    if task is None:
        raise deny(request.user, what="follow_up", object_id=task_id, case_id=case.pk)
    task.case = case
    return task


@require_http_methods(["GET", "POST"])
def follow_up_done(request: AuthedRequest, case_id: int, task_id: int) -> HttpResponse:
    case = _clinician_case(request, case_id, "follow_up.done")
    task = _follow_up(request, case, task_id)
    early = local_today() < task.opens_on
    form = forms.FollowUpDoneForm(_posted(request), early=early)
    done = form_action(
        request,
        form,
        lambda _: services.followup_complete(actor=request.user, task=task, **form.cleaned_data),
        success=lambda _: f"{task.label} recorded as done.",
        then=_back(case),
    )
    if done:
        return done
    intro = (
        f"Due on {task.due_on:%d %B %Y}; its window opens on {task.opens_on:%d %B %Y}. Recording it "
        "earlier needs a reason."
        if early
        else ""
    )
    return _form_page(
        request, case=case, form=form, title=f"{task.label} done", submit="Record as done", intro=intro
    )


@require_http_methods(["GET", "POST"])
def follow_up_reschedule(request: AuthedRequest, case_id: int, task_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what="follow_up.reschedule", object_id=task_id, case_id=case.pk)
    task = _follow_up(request, case, task_id)
    form = forms.FollowUpRescheduleForm(_posted(request), initial={"due_on": task.due_on})
    done = form_action(
        request,
        form,
        lambda _: services.followup_reschedule(actor=request.user, task=task, **form.cleaned_data),
        success=lambda _: f"{task.label} moved to {task.due_on:%d %B %Y}.",
        then=_back(case),
    )
    if done:
        return done
    return _form_page(request, case=case, form=form, title=f"Reschedule the {task.label.lower()}")


def discharge_summary(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True)
    if case.phase != Phase.DISCHARGED:
        raise deny(request.user, what="discharge_summary", object_id=case.pk, case_id=case.pk)
    context = {"nav": "cases", "case": case, **selectors.discharge_summary(case=case)}
    return render(request, "pathway/discharge_summary.html", context)
