"""What every part of the seed shares while it builds: the random source, the clock and the rows so far.

The seed is one object assembled from one class per area (staff, cases, sessions, clinical records);
this base holds the state they hand each other, so each area's module reads on its own.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from tandem.accounts.models import CoTherapyTeam, User
from tandem.demo.data import DEMO_CASES
from tandem.demo.grid import Calendar, Shift
from tandem.demo.plans import Booking, CasePlan
from tandem.practice.models import Location, Practice


class SeedState:
    practice: Practice
    locations: list[Location]
    rooms_by_location: dict[int, list[int]]
    shift_map: dict[int, dict[int, Shift]]
    calendar: Calendar
    director: User
    coordinator: User

    def __init__(self, *, seed: int, n_cases: int | None, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- synthetic data, determinism wanted
        self.seed = seed
        self.large = n_cases is not None
        self.n_cases = n_cases if n_cases is not None else DEMO_CASES
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now, self.zone)
        self.therapists: list[User] = []
        self.teams: list[CoTherapyTeam] = []
        self.bookings: list[Booking] = []

    def _clinicians(self, plan: CasePlan) -> tuple[int, ...]:
        if plan.team is not None:
            team = self.teams[plan.team]
            return (team.first_id, team.second_id)
        if plan.therapist is not None:
            return (self.therapists[plan.therapist].pk,)
        return ()
