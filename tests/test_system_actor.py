"""System parts act through the same services as people, as a SystemActor: named in the audit row,
granted only what a rule names for them, never treated as staff."""

import uuid

import pytest
import time_machine
from django.core.cache import cache

from tandem.access.services import (
    AccessDenied,
    can_book_free_consultation,
    can_create_case,
    can_edit_case,
    can_move_case,
    can_see_clinical,
    can_use_inbox,
    cases_visible_to,
    is_case_clinician,
)
from tandem.audit.actors import NOTIFY_WORKER, PLANNING_WORKER, PUBLIC_SITE, SEED, SystemActor
from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_record, verify_audit_chain
from tandem.cases.models import AbsentPartner, Case, Client, Phase, PhaseChange, PresentingProblem
from tandem.cases.services import ClientDetails
from tandem.pathway.rules import transition_for
from tandem.pathway.services import case_open, case_transition
from tandem.public import services as public
from tests.public_support import NOW, SLOT, offers

SYSTEM_PARTS = [PUBLIC_SITE, NOTIFY_WORKER, PLANNING_WORKER, SEED]
ROBIN = ClientDetails(first_name="Robin", last_name="Visitor", email="robin@example.invalid")


def open_by(actor: SystemActor, **overrides) -> Case:
    values = {
        "actor": actor,
        "partner_a": ROBIN,
        "partner_b": None,
        "absent_partner": AbsentPartner.UNAVAILABLE,
        "reason": "Booked online.",
    }
    return case_open(**{**values, **overrides})


def test_an_unknown_system_part_is_refused():
    with pytest.raises(ValueError, match="Unknown system part"):
        SystemActor("cron")


@pytest.mark.django_db
def test_the_audit_row_names_the_system_part_without_a_user_and_the_chain_holds():
    for actor in SYSTEM_PARTS:
        audit_record(actor=actor, action="test.system")
    events = AuditEvent.objects.filter(action="test.system").order_by("seq")
    assert [(e.actor_id, e.actor_label) for e in events] == [
        (None, "system:public-site"),
        (None, "system:notify-worker"),
        (None, "system:planning-worker"),
        (None, "system:seed"),
    ]
    assert verify_audit_chain().ok


@pytest.mark.parametrize("actor", SYSTEM_PARTS, ids=str)
def test_no_system_part_passes_a_check_written_for_people(cast, actor):
    case = cast.couple_case
    assert not can_see_clinical(actor, case)
    assert not can_edit_case(actor, case)
    assert not is_case_clinician(actor, case)
    assert not can_use_inbox(actor)
    assert not cases_visible_to(actor).exists()


def test_staff_do_not_book_free_consultations_on_the_visitors_behalf(cast):
    assert not any(
        can_book_free_consultation(user) for user in (cast.director, cast.coordinator, cast.therapist_a)
    )


@pytest.mark.parametrize("actor", SYSTEM_PARTS, ids=str)
def test_only_the_public_site_opens_a_case_and_only_a_consultation_case_it_may_close(actor):
    assert can_create_case(actor) == (actor == PUBLIC_SITE)
    assert can_book_free_consultation(actor) == (actor == PUBLIC_SITE)
    consultation = Case(phase=Phase.CONSULTATION)
    intake = Case(phase=Phase.INTAKE)
    close_early, start_intake = (
        transition_for(Phase.CONSULTATION, Phase.CLOSED),
        transition_for(Phase.CONSULTATION, Phase.INTAKE),
    )
    assert close_early is not None and start_intake is not None
    assert can_move_case(actor, consultation, close_early) == (actor == PUBLIC_SITE)
    assert not can_move_case(actor, consultation, start_intake)
    close_intake = transition_for(Phase.INTAKE, Phase.CLOSED)
    assert close_intake is not None and not can_move_case(actor, intake, close_intake)


@pytest.mark.django_db
def test_a_worker_cannot_open_a_case_and_nothing_is_written():
    before = (Client.objects.count(), Case.objects.count(), PhaseChange.objects.count())
    with pytest.raises(AccessDenied, match="cannot open cases"):
        open_by(NOTIFY_WORKER)
    assert (Client.objects.count(), Case.objects.count(), PhaseChange.objects.count()) == before


def test_the_public_site_records_no_clinical_content_and_makes_no_clinical_move(cast):
    problem = PresentingProblem.objects.get(slug="low-desire")
    with pytest.raises(AccessDenied, match="clinical"):
        open_by(PUBLIC_SITE, problems=[problem])
    case = open_by(PUBLIC_SITE)
    assert case.therapist is None and case.team is None
    with pytest.raises(AccessDenied):
        case_transition(actor=PUBLIC_SITE, case=case, to_phase=Phase.INTAKE)
    assert Case.objects.get(pk=case.pk).phase == Phase.CONSULTATION


def test_a_case_opened_and_closed_online_has_the_history_a_staff_one_has(cast, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        offers(cast.therapist_a)
        booked = public.consultation_request_book(
            visitor=public.Visitor(name="Robin Visitor", email="Robin@Example.invalid"),
            reason="We argue about intimacy.",
            therapist=cast.therapist_a,
            starts_at=SLOT,
            mode="video",
            idempotency_key=uuid.uuid4(),
            manage_path=lambda token: f"/consultation/{token}/",
        )
        public.consultation_request_cancel(token=public.link_token(booked))
    case = Case.objects.get(pk=booked.case_id)
    assert case.partner_a.email == "robin@example.invalid" and case.phase == Phase.CLOSED
    changes = list(
        case.phase_changes.order_by("at", "id").values_list("from_phase", "to_phase", "by", "reason")
    )
    assert changes == [
        ("", Phase.CONSULTATION, None, "Booked online."),
        (Phase.CONSULTATION, Phase.CLOSED, None, "The visitor cancelled the free consultation online."),
    ]
    events = AuditEvent.objects.filter(case_id=case.pk).order_by("seq")
    assert [(e.action, e.actor_id, e.actor_label) for e in events] == [
        ("case.open", None, "system:public-site"),
        ("appointment.book_consultation", None, "system:public-site"),
        ("consultation.book", None, "system:public-site"),
        ("appointment.cancel", None, "system:public-site"),
        ("case.phase_change", None, "system:public-site"),
        ("consultation.cancel", None, "system:public-site"),
    ]
    assert verify_audit_chain().ok
