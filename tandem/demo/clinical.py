"""The small demo's clinical record, written through the real services so the audit trail holds it.

Signed and co-signed session notes, both partners' questionnaires over time, signed consents and
homework with each partner's logs. The services stamp their rows with the time they run; afterwards the
rows' own dates are moved back to when each thing would have happened (the session, the intake), so the
record reads as a history. The audit events keep the moment of seeding: the chain signs what happened.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from django.db.models import Prefetch

from tandem.accounts.models import User
from tandem.cases.models import Case, Phase
from tandem.consents import services as consents
from tandem.consents.models import Consent, ConsentKind
from tandem.demo.logins import portal_account
from tandem.homework import services as homework
from tandem.homework.models import Assignment, AssignmentLog, Exercise
from tandem.measures import engine
from tandem.measures.models import Instrument
from tandem.measures.services import response_record
from tandem.records import services as records
from tandem.records.models import NoteTemplate, SessionNote
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

COUPLE_KINDS = {AppointmentKind.JOINT_ASSESSMENT, AppointmentKind.STANDARD, AppointmentKind.INTENSIVE}
NOTE_TEXT = "Synthetic demo note: no real person. Worked on {topic}; both engaged; homework reviewed."
TOPICS = ("sensate focus", "communication about wishes", "avoidance patterns", "arousal awareness")
MEASURED_PHASES = (Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP, Phase.DISCHARGED)
COUPLE_INSTRUMENT = "CSI16"
ALONE_INSTRUMENT = "GAD7"


class ClinicalStory:
    def __init__(self, *, now: dt.datetime, demo_therapist: User, coordinator: User, seed: int) -> None:
        self.now = now
        self.demo_therapist = demo_therapist
        self.coordinator = coordinator
        self.rng = random.Random(seed + 7)  # noqa: S311 -- synthetic data

    def write(self, cases: Sequence[Case]) -> None:
        in_care = [c for c in cases if c.phase in MEASURED_PHASES and c.clinicians]
        self.notes(in_care)
        self.consents(in_care)
        self.measures(in_care)
        self.homework([c for c in in_care if c.is_couple and c.phase in (Phase.TREATMENT, Phase.FOLLOW_UP)])

    # --- notes -----------------------------------------------------------------------------------
    def notes(self, cases: Sequence[Case]) -> None:
        templates = {t.slug: t for t in NoteTemplate.objects.filter(active=True)}
        sessions = list(
            Appointment.objects.filter(
                case__in=cases, status=AppointmentStatus.ATTENDED, ends_at__lte=self.now
            )
            .exclude(kind=AppointmentKind.CONSULTATION)
            .select_related("case__partner_a", "case__partner_b", "case__team")
            .prefetch_related(Prefetch("therapists", queryset=User.objects.order_by("pk")))
            .order_by("starts_at", "pk")
        )
        # The demo therapist's two newest notes stay drafts (Today lists unsigned notes), and the newest
        # co-therapy note is signed but waits for the co-therapist's signature.
        mine = [a for a in sessions if self.demo_therapist in a.therapists.all()]
        drafts = {a.pk for a in mine[-2:]}
        team = [a for a in sessions if len(a.therapists.all()) == 2 and a.pk not in drafts]
        uncosigned = {team[-1].pk} if team else set()
        dates: list[SessionNote] = []
        for appointment in sessions:
            note = self._note(appointment, templates, draft=appointment.pk in drafts)
            therapists = list(appointment.therapists.all())
            if note.is_signed and len(therapists) == 2 and appointment.pk not in uncosigned:
                note = records.note_cosign(actor=therapists[1], note=note)
            dates.append(self._backdate(note, appointment))
        SessionNote.objects.bulk_update(
            dates, ["created_at", "updated_at", "signed_at", "cosigned_at"], batch_size=500
        )

    def _note(
        self, appointment: Appointment, templates: dict[str, NoteTemplate], *, draft: bool
    ) -> SessionNote:
        case = appointment.case
        slug = "couple-session" if case.is_couple and appointment.kind in COUPLE_KINDS else "soap"
        template = templates.get(slug) or templates["dap"]
        author = appointment.therapists.all()[0]
        text = NOTE_TEXT.format(topic=self.rng.choice(TOPICS))
        sections = {slot.name: records.SectionInput(text) for slot in records.section_slots(template, case)}
        note = records.note_create(
            actor=author, appointment=appointment, template=template, sections=sections
        )
        return note if draft else records.note_sign(actor=author, note=note)

    def _backdate(self, note: SessionNote, appointment: Appointment) -> SessionNote:
        written = min(appointment.ends_at + dt.timedelta(minutes=15), self.now)
        note.created_at = note.updated_at = written
        if note.signed_at is not None:
            note.signed_at = note.updated_at = min(written + dt.timedelta(hours=2), self.now)
        if note.cosigned_at is not None:
            note.cosigned_at = min(written + dt.timedelta(days=1), self.now)
        return note

    # --- consents --------------------------------------------------------------------------------
    def consents(self, cases: Sequence[Case]) -> None:
        """Each partner signs the telehealth consent: in the portal when they have an account, else on
        the front desk's device."""
        signed: list[Consent] = []
        for case in cases:
            for client in case.partners:
                consent = consents.consent_request(
                    actor=self.coordinator, case=case, client=client, kind=ConsentKind.TELEHEALTH
                )
                signer = client.user if client.user is not None else self.coordinator
                consent = consents.consent_sign(actor=signer, consent=consent, typed_name=client.full_name)
                opened = dt.datetime.combine(case.opened_on, dt.time(12), tzinfo=self.now.tzinfo)
                consent.requested_at = min(opened + dt.timedelta(days=10), self.now)
                consent.signed_at = min(opened + dt.timedelta(days=11), self.now)
                signed.append(consent)
        Consent.objects.bulk_update(signed, ["requested_at", "signed_at"], batch_size=500)

    # --- questionnaires --------------------------------------------------------------------------
    def measures(self, cases: Sequence[Case]) -> None:
        """Both partners answer before sessions through the case, scores improving with noise, so the
        results page's charts show change (and reliable change) rather than one dot."""
        instruments = {
            i.code: i for i in Instrument.objects.filter(code__in=[COUPLE_INSTRUMENT, ALONE_INSTRUMENT])
        }
        for case in cases:
            code = COUPLE_INSTRUMENT if case.is_couple else ALONE_INSTRUMENT
            instrument = instruments.get(code)
            if instrument is None:
                continue
            ranges = engine.item_ranges(instrument.definition)
            better = 1 if code == COUPLE_INSTRUMENT else -1  # higher is better on the CSI, lower on the GAD-7
            sessions = list(
                Appointment.objects.filter(
                    case=case, status=AppointmentStatus.ATTENDED, ends_at__lte=self.now
                )
                .exclude(kind=AppointmentKind.CONSULTATION)
                .order_by("starts_at")
                .values_list("starts_at", flat=True)
            )
            points = sessions[::3] or sessions[:1]
            for index, moment in enumerate(points):
                progress = index / max(len(points) - 1, 1)
                for client in case.partners:
                    level = 0.3 + 0.5 * progress if better > 0 else 0.7 - 0.5 * progress
                    answers = {
                        link_id: max(
                            low, min(high, round(low + (high - low) * level + self.rng.uniform(-0.6, 0.6)))
                        )
                        for link_id, low, high in ranges
                    }
                    actor = client.user if client.user is not None else case.clinicians[0]
                    response_record(
                        actor=actor,
                        case=case,
                        client=client,
                        instrument_code=code,
                        answers=answers,
                        answered_at=moment - dt.timedelta(hours=1),
                    )

    # --- homework --------------------------------------------------------------------------------
    def homework(self, couples: Sequence[Case]) -> None:
        """Sensate focus for each couple in care; each partner logs it from their own portal account."""
        exercise = Exercise.objects.filter(slug="sensate-focus-1", active=True).first()
        if exercise is None:
            return
        logs: list[AssignmentLog] = []
        for case in couples:
            for client in case.partners:
                if client.user is None:
                    # As if invited and signed up; nobody knows the password.
                    portal_account(client, username=f"portal-{client.pk}", password=None)
            assignment = homework.assignment_create(
                actor=case.clinicians[0],
                case=case,
                exercise=exercise,
                times_expected=3,
                due_on=self.now.date() + dt.timedelta(days=7),
            )
            for day in (9, 6, 2):
                for client in case.partners:
                    assert client.user is not None
                    done = self.rng.random() < 0.8
                    entry = homework.assignment_log(
                        actor=client.user,
                        assignment=assignment,
                        done=done,
                        rating=self.rng.randint(4, 9) if done else None,
                        obstacles="" if done else "Tired after work. (Synthetic.)",
                        shared=True,
                    )
                    entry.logged_at = self.now - dt.timedelta(days=day, hours=self.rng.randint(1, 10))
                    logs.append(entry)
            Assignment.objects.filter(pk=assignment.pk).update(assigned_at=self.now - dt.timedelta(days=12))
        AssignmentLog.objects.bulk_update(logs, ["logged_at"], batch_size=500)


def seed_clinical(
    *, cases: Sequence[Case], now: dt.datetime, demo_therapist: User, coordinator: User, seed: int
) -> None:
    ClinicalStory(now=now, demo_therapist=demo_therapist, coordinator=coordinator, seed=seed).write(cases)
