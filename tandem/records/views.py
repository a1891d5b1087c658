"""Staff pages of the clinical record: a case's notes; write, sign, co-sign, amend; process notes."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.clinical import can_set_confidentiality, can_write_note
from tandem.access.services import deny, get_case_for, is_assigned
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
from tandem.audit.services import audit_record
from tandem.lib.actions import form_action, post_action
from tandem.lib.errors import Refusal
from tandem.records import selectors, services
from tandem.records.forms import AmendForm, NoteForm, PolicyForm, ProcessNoteForm, TemplateChoiceForm
from tandem.records.models import NoteTemplate, SessionNote
from tandem.scheduling.models import Appointment, AppointmentStatus


def case_notes(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True)
    user = request.user
    to_write = (
        Appointment.objects.filter(
            case=case, therapists=user, starts_at__lte=timezone.now(), session_note__isnull=True
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("-starts_at")[:10]
    )
    policy = services.policy_of(case)
    context = {
        "nav": "cases",
        "case": case,
        "notes": selectors.case_notes(case=case),
        "to_write": to_write if user.role == Role.THERAPIST else [],
        "policy": policy,
        "may_set_policy": can_set_confidentiality(user, case),
        "policy_form": PolicyForm(initial={"kind": policy.kind} if policy else None),
        "is_therapist": user.role == Role.THERAPIST and is_assigned(user, case),
    }
    return render(request, "records/case_notes.html", context)


@require_POST
def confidentiality(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True, audit_view=False)
    try:
        if "agreed" in request.POST:
            client = next((c for c in case.partners if str(c.pk) == request.POST["agreed"]), None)
            if client is None:
                raise Refusal("That person is not a partner in this case.")
            services.confidentiality_record_agreement(actor=request.user, case=case, client=client)
            messages.success(request, f"Agreement of {client.first_name} recorded.")
        else:
            form = PolicyForm(request.POST)
            if not form.is_valid():
                raise Refusal("Choose one of the two policies.")
            services.confidentiality_set(actor=request.user, case=case, kind=form.cleaned_data["kind"])
            messages.success(request, "Confidentiality policy saved.")
    except Refusal as refusal:
        messages.error(request, str(refusal))
    return redirect("records:case_notes", case_id=case.pk)


def _appointment_for_writing(request: AuthedRequest, appointment_id: int) -> Appointment:
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        raise deny(request.user, what="appointment", object_id=appointment_id)
    # 404 (audited) for anyone who may not see the case's clinical content, before anything else.
    appointment.case = get_case_for(request.user, appointment.case_id, clinical=True, audit_view=False)
    if not can_write_note(request.user, appointment):
        raise deny(request.user, what="note.write", object_id=appointment_id, case_id=appointment.case_id)
    return appointment


@require_http_methods(["GET", "POST"])
def note_new(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for_writing(request, appointment_id)
    case = appointment.case
    if hasattr(appointment, "session_note"):
        return redirect("records:note", note_id=appointment.session_note.pk)
    choice = TemplateChoiceForm(request.GET or None, case=case)
    if not choice.is_valid():
        context = {"nav": "cases", "case": case, "appointment": appointment, "choice": choice}
        return render(request, "records/note_choose.html", context)
    template: NoteTemplate = choice.cleaned_data["template"]
    policy = services.policy_of(case)
    initial = {}
    individual = services.default_individual_with(appointment)
    if individual is not None:
        initial["session"] = str(individual.pk)
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        case=case,
        template=template,
        policy=policy,
        initial=initial,
    )
    if individual is not None and form.may_keep_private:
        # Under limited secrets, what a partner says alone starts out private to them (the safer default).
        form.initial.update({f"{slot.name}_private": True for slot in form.slots if slot.client is None})
    done = form_action(
        request,
        form,
        lambda _: services.note_create(
            actor=request.user,
            appointment=appointment,
            template=template,
            sections=form.section_inputs(),
            individual_with=form.individual_with(),
        ),
        success="Draft saved. Sign it when it is complete.",
        then=lambda note: redirect("records:note", note_id=note.pk),
    )
    if done:
        return done
    context = {
        "nav": "cases",
        "case": case,
        "appointment": appointment,
        "template": template,
        "form": form,
        "policy": policy,
    }
    return render(request, "records/note_form.html", context, status=400 if form.errors else 200)


def _history(note: SessionNote, amendments: list) -> list[tuple[Any, str, Any]]:
    events: list[tuple[Any, str, Any]] = [(note.created_at, "Draft started", note.author)]
    if note.signed_at:
        events.append((note.signed_at, "Signed", note.signed_by))
    if note.cosigned_at:
        events.append((note.cosigned_at, "Co-signed", note.cosigned_by))
    events += [(a.at, f"Amendment {i}", a.author) for i, a in enumerate(amendments, start=1)]
    return sorted(events, key=lambda e: e[0])


def _detail(request: AuthedRequest, note: SessionNote, amend_form: AmendForm | None = None) -> HttpResponse:
    user = request.user
    amendments = selectors.note_amendments(note)
    may_write = can_write_note(user, note.appointment)
    two_therapists = note.appointment.therapists.count() > 1
    context = {
        "nav": "cases",
        "case": note.case,
        "note": note,
        "sections": selectors.note_sections(note),
        "amendments": amendments,
        "history": _history(note, amendments),
        "may_edit": may_write and not note.is_signed,
        "may_sign": may_write and not note.is_signed,
        "may_cosign": may_write
        and two_therapists
        and note.is_signed
        and note.cosigned_by_id is None
        and note.signed_by_id != user.pk,
        "awaiting_cosign": two_therapists and note.is_signed and note.cosigned_by_id is None,
        "may_amend": may_write and note.is_signed,
        "amend_form": amend_form or AmendForm(),
    }
    status = 400 if amend_form is not None and amend_form.errors else 200
    return render(request, "records/note_detail.html", context, status=status)


def note_detail(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_note_for(request.user, note_id)
    audit_record(actor=request.user, action="note.view", target=note, case=note.case_id)
    return _detail(request, note)


@require_http_methods(["GET", "POST"])
def note_edit(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_note_for(request.user, note_id)
    if not can_write_note(request.user, note.appointment):
        raise deny(request.user, what="note.write", object_id=note_id, case_id=note.case_id)
    if note.is_signed:
        # There is no edit form for a signed note: the only way to change it is an amendment.
        messages.error(request, "This note is signed and locked: add an amendment instead.")
        return redirect("records:note", note_id=note.pk)
    policy = services.policy_of(note.case)
    sections = selectors.note_sections(note)
    initial: dict[str, Any] = {
        "session": str(note.individual_with_id) if note.individual_with_id else "joint"
    }
    for section in sections:
        initial[f"s{section.position}"] = section.text
        initial[f"s{section.position}_private"] = section.private_to_id is not None
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        case=note.case,
        template=note.template,
        policy=policy,
        initial=initial,
    )
    done = form_action(
        request,
        form,
        lambda _: services.note_update_draft(
            actor=request.user,
            note=note,
            sections=form.section_inputs(),
            individual_with=form.individual_with(),
        ),
        success="Draft saved.",
        then=redirect("records:note", note_id=note.pk),
    )
    if done:
        return done
    context = {
        "nav": "cases",
        "case": note.case,
        "appointment": note.appointment,
        "template": note.template,
        "form": form,
        "note": note,
        "policy": policy,
    }
    return render(request, "records/note_form.html", context, status=400 if form.errors else 200)


@require_POST
def note_sign(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_note_for(request.user, note_id)
    return post_action(
        request,
        lambda: services.note_sign(actor=request.user, note=note),
        success="Note signed. It is now locked; later changes are amendments.",
        then=redirect("records:note", note_id=note.pk),
    )


@require_POST
def note_cosign(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_note_for(request.user, note_id)
    return post_action(
        request,
        lambda: services.note_cosign(actor=request.user, note=note),
        success="Note co-signed.",
        then=redirect("records:note", note_id=note.pk),
    )


@require_POST
def note_amend(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_note_for(request.user, note_id)
    form = AmendForm(request.POST)
    done = form_action(
        request,
        form,
        lambda data: services.note_amend(
            actor=request.user,
            note=note,
            text=data["text"],
            reason=data["reason"],
            private=data["private"],
        ),
        success="Amendment added.",
        then=redirect("records:note", note_id=note.pk),
    )
    if done:
        return done
    return _detail(request, note, amend_form=form)


@require_http_methods(["GET", "POST"])
def process_notes(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True, audit_view=request.method == "GET")
    user = request.user
    may_write = user.role == Role.THERAPIST and is_assigned(user, case)
    form = ProcessNoteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not may_write:
        raise deny(user, what="process_note.create", object_id=case.pk, case_id=case.pk)
    done = form_action(
        request,
        form,
        lambda data: services.process_note_create(actor=user, case=case, text=data["text"]),
        success="Process note saved. Only you can read it.",
        then=redirect("records:process_notes", case_id=case.pk),
    )
    if done:
        return done
    context = {
        "nav": "cases",
        "case": case,
        "notes": selectors.process_notes_of(user=user, case=case),
        "form": form,
        "may_write": may_write,
    }
    return render(request, "records/process_notes.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def process_note(request: AuthedRequest, note_id: int) -> HttpResponse:
    note = selectors.get_process_note_for(request.user, note_id)
    form = ProcessNoteForm(request.POST if request.method == "POST" else None, initial={"text": note.text})
    done = form_action(
        request,
        form,
        lambda data: services.process_note_update(actor=request.user, note=note, text=data["text"]),
        success="Process note saved.",
        then=redirect("records:process_note", note_id=note.pk),
    )
    if done:
        return done
    if request.method == "GET":
        audit_record(actor=request.user, action="process_note.view", target=note, case=note.case_id)
    context = {"nav": "cases", "case": note.case, "note": note, "form": form}
    return render(request, "records/process_note.html", context, status=400 if form.errors else 200)
