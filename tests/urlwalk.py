"""Every URL the application serves, found in the URL conf, and a small world of filled-in objects that
gives each URL parameter a value.

The edit-form round trip, the bad-input fuzz test and the accessibility walk all start here, so a URL
added to any app is covered by them without anyone adding it to a list. A parameter name this module
cannot fill makes `World.kwargs` raise, which fails those tests loudly: add the new kind of object to
the world (one line in `_by_param` or `_by_route`) rather than skipping the URL.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tandem.accounts.models import User
from tandem.cases.models import Case, CaseProblem, Client, PresentingProblem
from tandem.consents.models import ConsentKind
from tandem.consents.services import consent_request
from tandem.homework.models import Exercise
from tandem.homework.services import assignment_create
from tandem.measures.loader import load_instruments
from tandem.measures.models import Instrument, MeasureRequest
from tandem.notify.services import preference_set
from tandem.pathway.models import (
    FollowUpMode,
    FollowUpTask,
    SafetyAnswer,
    SpecialistType,
    TreatmentFormat,
)
from tandem.pathway.services import IntakeDetails, findings_save, intake_save, plan_save, referral_create
from tandem.planning.models import PlanningRun
from tandem.public.models import ConsultationRequest, ContactMessage, RequestStatus
from tandem.public.services import link_token
from tandem.records.models import SecretsPolicy
from tandem.records.services import (
    SectionInput,
    confidentiality_record_agreement,
    confidentiality_set,
    note_create,
    process_note_create,
    section_slots,
)
from tandem.scheduling.feeds import calendar_feed_issue
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from tests.billing_support import billing_world
from tests.cast import Cast, build_cast, login
from tests.measures_support import PHQ9_CALM, record
from tests.records_support import signed_dap, team_session, template

# Django's own admin is checked by Django; the set-up pages the product owns are walked like the rest.
SKIPPED_PREFIXES = ("setup/",)

ROLES = ("director", "therapist_a", "cotherapist", "therapist_b", "coordinator", "partner_a", "partner_b")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its namespaced name, the route text and the names of its parameters."""

    name: str
    route: str
    params: tuple[str, ...]
    converters: tuple[tuple[str, str], ...]

    def url(self, kwargs: dict[str, Any]) -> str:
        return reverse(self.name, kwargs=kwargs)

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            route = prefix + str(entry.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            converters = getattr(entry.pattern, "converters", {})
            yield Route(
                name=namespace + entry.name,
                route=route,
                params=tuple(converters),
                converters=tuple((key, type(value).__name__) for key, value in converters.items()),
            )


def routes() -> list[Route]:
    """Every named URL pattern of the application, in URL-conf order (one entry per name)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns, "", ""):
        seen.setdefault(route.name, route)
    return list(seen.values())


def client_for(cast: Cast, role: str | None) -> HttpClient:
    """A test client logged in as one role of the cast (None: an anonymous visitor)."""
    http = HttpClient(raise_request_exception=False)
    if role is not None:
        login(http, getattr(cast, role))
    return http


class World:
    """The cast plus one filled-in object of every kind a URL can name, on the cast's couple case.

    Every optional field is filled in (dates of birth, phones, pronouns, intake answers, findings,
    reminder preferences, a confidentiality policy...), so that a form that drops a value shows it.
    """

    def __init__(self) -> None:
        load_instruments()
        self.cast = build_cast()
        cast, case = self.cast, self.cast.couple_case
        self.case: Case = case
        self.partner_a: Client = case.partner_a
        self.partner_b: Client = case.partner_b  # type: ignore[assignment]
        self._fill_people()
        self._fill_case()
        self.signed_note = signed_dap(cast)
        self.appointment: Appointment = self.signed_note.appointment
        self.draft_note = self._draft_note()
        self.upcoming = self._upcoming_session()
        self.process_note = process_note_create(
            actor=cast.therapist_a, case=case, text="Synthetic process note for the walk."
        )
        plan_save(
            actor=cast.therapist_a,
            case=case,
            format=TreatmentFormat.STANDARD,
            goals="Rebuild closeness; weekly sensate focus.",
            focus_areas="Communication",
            sessions_per_week=1,
            conjunctive_client=self.partner_b,
            change_note="First plan after the assessment.",
        )
        self.referral = referral_create(
            actor=cast.therapist_a,
            case=case,
            client=self.partner_a,
            specialist_type=SpecialistType.objects.filter(active=True).first(),  # type: ignore[arg-type]
            reason="Rule out a physical contribution to pain.",
        )
        self.follow_up = self._follow_up()
        self.assignment = assignment_create(
            actor=cast.therapist_a,
            case=case,
            exercise=Exercise.objects.filter(active=True).order_by("pk").first(),  # type: ignore[arg-type]
            client=None,
            times_expected=3,
            due_on=None,
            therapist_note="Three times before the next session.",
        )
        self.response = record(cast.therapist_a, case, self.partner_a, "PHQ9", dict(PHQ9_CALM))
        self.alert_response = record(
            cast.therapist_a, case, self.partner_a, "PHQ9", {**PHQ9_CALM, "9": 1}, days_ago=1
        )
        self.measure_request = self._measure_request()
        self.consent = consent_request(
            actor=cast.therapist_a, case=case, client=self.partner_a, kind=ConsentKind.TREATMENT
        )
        self.run = self._planning_run()
        self.consultation = self._consultation()
        self.message = ContactMessage.objects.create(
            name="Quinn Visitor", email="quinn@visitor.tandem.invalid", message="A question about fees."
        )
        self.feed_token = calendar_feed_issue(actor=cast.therapist_a)[1]
        self.billing = billing_world(cast)

    def _fill_people(self) -> None:
        """Every optional detail of the clients (synthetic), with days and months that cannot swap."""
        details = [
            (self.partner_a, dt.date(1965, 11, 16), "she/her", "Lex", "+31 20 555 0101"),
            (self.partner_b, dt.date(1988, 3, 27), "they/them", "Bee", "+31 20 555 0102"),
            (self.cast.solo_case.partner_a, dt.date(1979, 12, 31), "he/him", "Sammy", "020-555 0103"),
        ]
        for client, born, pronouns, preferred, phone in details:
            client.date_of_birth, client.pronouns, client.preferred_name = born, pronouns, preferred
            client.phone = phone
            client.email = f"{client.first_name.lower()}@client.tandem.invalid"
            client.save()
        solo = self.cast.solo_case
        solo.absent_partner_note = "The partner works abroad for most of the year."
        solo.save()
        for user, start in ((self.cast.partner_a, dt.time(22)), (self.cast.partner_b, dt.time(21, 30))):
            preference_set(
                actor=user,
                email=True,
                appointment_reminders=False,
                homework_nudges=True,
                quiet_start=start,
                quiet_end=dt.time(7, 45),
            )

    def _fill_case(self) -> None:
        """The couple case's presenting problems, both intakes and findings, and its policy."""
        cast, case = self.cast, self.case
        problems = list(PresentingProblem.objects.order_by("pk")[:2])
        CaseProblem.objects.create(
            case=case, problem=problems[0], client=self.partner_a, note="Since the second child."
        )
        CaseProblem.objects.create(case=case, problem=problems[1], client=None, note="Both describe it.")
        answers = [SafetyAnswer.NO, SafetyAnswer.UNSURE, SafetyAnswer.YES]
        for number, client in enumerate(case.partners):
            details = IntakeDetails(
                details_confirmed=True,
                relationship_history=f"Together twelve years (partner {number}).",
                presenting_concerns="Less desire since the second child.",
                medications="Sertraline 50 mg",
                conditions="None known",
                safety_afraid_of_partner=answers[number],
                safety_pressured_into_sex=answers[number + 1],
                safety_self_harm_thoughts=SafetyAnswer.NO,
                safety_notes="Safety plan discussed; no current risk.",
            )
            intake_save(actor=cast.therapist_a, case=case, client=client, details=details)
            findings_save(
                actor=cast.therapist_a,
                case=case,
                client=client,
                psychological="Performance anxiety.",
                physical="Possible medication side effect.",
            )
        assessment = team_session(cast, hours_ago=54, kind=AppointmentKind.INDIVIDUAL_ASSESSMENT)
        assessment.attendees.set([self.partner_b])
        confidentiality_set(actor=cast.therapist_a, case=case, kind=SecretsPolicy.LIMITED_SECRETS)
        for client in case.partners:
            confidentiality_record_agreement(actor=cast.therapist_a, case=case, client=client)

    def _draft_note(self) -> Any:
        """A draft with every section written, one of them kept private to the partner it is about."""
        tmpl = template("soap")
        appointment = team_session(self.cast, hours_ago=30)
        sections: dict[str, SectionInput] = {}
        for slot in section_slots(tmpl, self.case):
            private = slot.client is not None and not any(s.private for s in sections.values())
            sections[slot.name] = SectionInput(f"Draft {slot.label}", private=private)
        return note_create(
            actor=self.cast.therapist_a, appointment=appointment, template=tmpl, sections=sections
        )

    def _upcoming_session(self) -> Appointment:
        start = timezone.now() + dt.timedelta(days=2)
        appointment = Appointment.objects.create(
            case=self.case,
            kind=AppointmentKind.STANDARD,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=50),
            status=AppointmentStatus.BOOKED,
            room=self.cast.room,
        )
        appointment.therapists.set([self.cast.therapist_a])
        return appointment

    def _follow_up(self) -> FollowUpTask:
        today = timezone.localdate()
        return FollowUpTask.objects.create(
            case=self.case,
            label="1 month",
            mode=FollowUpMode.PHONE,
            due_on=today,
            planned_on=today,
            created_at=timezone.now(),
        )

    def _measure_request(self) -> MeasureRequest:
        return MeasureRequest.objects.create(
            case=self.case,
            client=self.partner_a,
            instrument=Instrument.objects.get(code="CSI16"),
            occasion="walk",
            reason="Walk of every URL",
            due_on=timezone.localdate(),
        )

    def _planning_run(self) -> PlanningRun:
        today = timezone.localdate()
        return PlanningRun.objects.create(
            requested_by=self.cast.coordinator,
            requested_at=timezone.now(),
            first_day=today,
            last_day=today + dt.timedelta(days=28),
            instance={"couples": []},
        )

    def _consultation(self) -> ConsultationRequest:
        start = timezone.now() + dt.timedelta(days=3)
        return ConsultationRequest.objects.create(
            idempotency_key=uuid.uuid4(),
            name="Robin Visitor",
            email="robin@visitor.tandem.invalid",
            reason="We would like to talk.",
            mode="in_person",
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=20),
            therapist=self.cast.therapist_a,
            status=RequestStatus.NEW,
            link_nonce=uuid.uuid4().hex,
        )

    # --- parameter values -------------------------------------------------------------------------

    def _by_param(self) -> dict[str, Callable[[], Any]]:
        return {
            "case_id": lambda: self.case.pk,
            "client_id": lambda: self.partner_a.pk,
            "appointment_id": lambda: self.appointment.pk,
            "therapist_id": lambda: self.cast.therapist_a.pk,
            "room_id": lambda: self.cast.room.pk,
            "to_phase": lambda: "treatment",
            "referral_id": lambda: self.referral.pk,
            "task_id": lambda: self.follow_up.pk,
            "assignment_id": lambda: self.assignment.pk,
            "request_id": lambda: self.measure_request.pk,
            "response_id": lambda: self.response.pk,
            "alert_id": lambda: self.alert_response.safety_alert.pk,
            "note_id": lambda: self.signed_note.pk,
            "run_id": lambda: self.run.pk,
            "consent_id": lambda: self.consent.pk,
            # A video seat exists only while its page is open (tests/test_video.py walks real ones).
            "ref": lambda: "not-a-real-video-seat",
            "invoice_id": lambda: self.billing.invoice.pk,
            "credit_note_id": lambda: self.billing.credit_note.pk,
            "payer_id": lambda: self.billing.invoice.payer_id,
            "charge_id": lambda: self.billing.fee_charge.pk,
            "package_id": lambda: self.billing.package.pk,
        }

    def _by_route(self) -> dict[tuple[str, str], Callable[[], Any]]:
        """Parameters whose meaning depends on the URL (a note to edit is a draft, not a signed one)."""
        return {
            ("cases:partner_add", "case_id"): lambda: self.cast.solo_case.pk,
            ("records:note_edit", "note_id"): lambda: self.draft_note.pk,
            ("records:note_sign", "note_id"): lambda: self.draft_note.pk,
            ("records:process_note", "note_id"): lambda: self.process_note.pk,
            ("records:note_new", "appointment_id"): lambda: self.upcoming.pk,
            ("scheduling:api_move", "appointment_id"): lambda: self.upcoming.pk,
            ("scheduling:api_cancel", "appointment_id"): lambda: self.upcoming.pk,
            ("portal:calendar", "appointment_id"): lambda: self.upcoming.pk,
            ("public:inbox_request", "pk"): lambda: self.consultation.pk,
            ("public:inbox_message", "pk"): lambda: self.message.pk,
            ("public:consultation_booked", "token"): lambda: link_token(self.consultation),
            ("public:consultation_manage", "token"): lambda: link_token(self.consultation),
            ("scheduling:feed_ics", "token"): lambda: self.feed_token,
            ("portal:accept", "token"): lambda: "not-a-real-invitation-token",
            ("accounts:staff_link", "token"): lambda: "not-a-real-staff-link-token",
            ("accounts:password_reset_confirm", "uidb64"): lambda: "MQ",
            ("accounts:password_reset_confirm", "token"): lambda: "set-password",
        }

    def kwargs(self, route: Route) -> dict[str, Any]:
        """Values for every parameter of the route, from the world; unknown parameters fail loudly."""
        by_route, by_param = self._by_route(), self._by_param()
        values = {}
        for param in route.params:
            maker = by_route.get((route.name, param)) or by_param.get(param)
            if maker is None:
                raise LookupError(
                    f"{route.name} ({route.route}) has a parameter {param!r} that tests/urlwalk.py "
                    "cannot fill: add the object it names to World"
                )
            values[param] = maker()
        return values

    def url(self, route: Route) -> str:
        return route.url(self.kwargs(route))

    def user(self, role: str) -> User:
        return getattr(self.cast, role)
