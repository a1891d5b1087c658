"""Book a demo video session starting in a minute (or as soon as the people in it are free), for the
demo therapist and the demo couple whose partners log in as `client` and `partner` (`make run` prints
these log-ins), so that it can be joined from two browser windows at once. Booked through the ordinary
booking service where its rules allow; a demo started outside the demo therapist's working hours (an
evening, a weekend) is still booked, by the seed (audited as such, holding the same calendar rows),
since the point is to try video now. A clash with another booking is never overridden."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from tandem.audit.actors import SEED
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.scheduling.errors import BookingError
from tandem.scheduling.models import Appointment, AppointmentKind, Mode, Occupancy, ResourceKind
from tandem.scheduling.services import appointment_book


def _held(case: Case) -> list[tuple[str, int]]:
    """The calendar rows the demo session holds: the case's therapist and each partner."""
    assert case.therapist is not None
    clients: list[tuple[str, int]] = [(ResourceKind.CLIENT, c.pk) for c in case.partners]
    return [(ResourceKind.THERAPIST, case.therapist.pk), *clients]


def _demo_book(case: Case, start: dt.datetime, end: dt.datetime, reason: str) -> Appointment:
    """The seed's booking of the demo session outside working hours: the appointment, its people and
    their calendar rows (so that nothing else can be booked over it), with its audit row."""
    assert case.therapist is not None
    clients = case.partners
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                case=case, kind=AppointmentKind.STANDARD, mode=Mode.VIDEO, starts_at=start, ends_at=end
            )
            appointment.therapists.set([case.therapist])
            appointment.attendees.set(clients)
            for kind, pk in _held(case):
                if Occupancy.objects.filter(
                    resource_kind=kind, resource_id=pk, starts_at__lt=end, ends_at__gt=start
                ).exists():
                    raise CommandError("The demo therapist or couple already has a session now: try later.")
                Occupancy.objects.create(
                    appointment=appointment, resource_kind=kind, resource_id=pk, starts_at=start, ends_at=end
                )
            audit_record(
                actor=SEED,
                action="appointment.book",
                target=appointment,
                case=case,
                detail={"demo_video_session": True, "rule_not_applied": reason[:200]},
            )
    except IntegrityError as clash:
        raise CommandError("The demo therapist or couple already has a session now: try later.") from clash
    return appointment


def _first_free_start(case: Case, start: dt.datetime, length: dt.timedelta) -> dt.datetime:
    """`start`, or the end of whatever the demo therapist or couple is booked for then (its room opens 15
    minutes before, so a demo right after a session is joinable at once): a clash is never overridden,
    and a new user trying video should not be told to come back later."""
    either = Q(pk__in=[])
    for kind, pk in _held(case):
        either |= Q(resource_kind=kind, resource_id=pk)
    held = Occupancy.objects.filter(either)
    for _ in range(8):
        busy = held.filter(starts_at__lt=start + length, ends_at__gt=start).order_by("-ends_at").first()
        if busy is None:
            return start
        start = busy.ends_at
    return start


class Command(BaseCommand):
    help = "Book a demo video session starting now for the demo therapist and the demo couple."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", default="client", help="User name of one partner of the couple.")
        parser.add_argument("--minutes", type=int, default=50, help="How long the session lasts.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client.objects.filter(user__username=options["client"]).first()
        case = (
            Case.objects.filter(partner_a=client).first() or Case.objects.filter(partner_b=client).first()
            if client
            else None
        )
        if case is None or case.therapist is None:
            raise CommandError(
                f"No case with a therapist for the portal user {options['client']!r}: run seed_demo."
            )
        start = (timezone.now() + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        start = _first_free_start(case, start, dt.timedelta(minutes=options["minutes"]))
        try:
            appointment = appointment_book(
                actor=case.therapist,
                case=case,
                kind=AppointmentKind.STANDARD,
                mode=Mode.VIDEO,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=options["minutes"]),
                therapists=[case.therapist],
            )
        except BookingError as refusal:
            self.stdout.write(f"The booking rules say: {refusal} Booking the demo session anyway.")
            appointment = _demo_book(
                case, start, start + dt.timedelta(minutes=options["minutes"]), str(refusal)
            )
        path = reverse("video:session", kwargs={"appointment_id": appointment.pk})
        if start > timezone.now() + dt.timedelta(minutes=15):
            opens = timezone.localtime(start - dt.timedelta(minutes=15))
            self.stdout.write(
                f"The demo therapist or couple is booked until then: the room opens at {opens:%H:%M}."
            )
        self.stdout.write(
            f"Demo video session booked at {timezone.localtime(start):%H:%M} for case {case.reference}: "
            f"log in as {case.therapist.username} and as {options['client']} "
            "(portal: 'Join the video session'); "
            f"the session page is {path}"
        )
