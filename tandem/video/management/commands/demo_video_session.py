"""Book a demo video session starting in a minute, for the demo therapist and the demo couple whose
partners log in as `client` and `partner` (`make run` prints these log-ins), so that it can be joined
from two browser windows at once. Booked through the ordinary booking service, so the usual rules hold:
when the therapist is busy or outside working hours now, it says why and books nothing."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from tandem.cases.models import Case, Client
from tandem.scheduling.errors import BookingError
from tandem.scheduling.models import AppointmentKind, Mode
from tandem.scheduling.services import appointment_book


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
            raise CommandError(f"The demo video session could not be booked: {refusal}") from refusal
        path = reverse("video:session", kwargs={"appointment_id": appointment.pk})
        self.stdout.write(
            f"Demo video session booked at {timezone.localtime(start):%H:%M} for case {case.reference}: "
            f"log in as {case.therapist.username} and as {options['client']} "
            "(portal: 'Join the video session'); "
            f"the session page is {path}"
        )
