"""The practice, its places and its staff: locations, rooms, therapists, working hours, teams."""

from __future__ import annotations

import datetime as dt
import math
import random

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password

from tandem.accounts.models import CoTherapyTeam, Gender, Role, TherapistProfile, User, WorkingHours
from tandem.demo.data import (
    CASES_PER_THERAPIST,
    CREDENTIALS,
    DEMO_PASSWORD,
    FEMALE_FIRST,
    LAST_NAMES,
    LICENCE_BODY,
    MALE_FIRST,
    MIN_LARGE_THERAPISTS,
    SLOTS,
    STAFF_DOMAIN,
    TEAM_SHARE,
)
from tandem.demo.grid import Shift, slot_time
from tandem.demo.plans import bulk
from tandem.demo.state import SeedState
from tandem.practice.models import Location, Room


class StaffSeed(SeedState):
    def _places(self) -> None:
        north = Location.objects.create(
            practice=self.practice, name="Larkspur House", address="1 Larkspur Lane\nExampleton (fictional)"
        )
        south = Location.objects.create(
            practice=self.practice, name="Riverside Annex", address="22 Towpath Row\nExampleton (fictional)"
        )
        self.locations = [north, south]
        if self.large:
            per_location = max(2, math.ceil(len(self._therapist_specs()) / 4))
            rooms = [
                Room(location=loc, name=f"Room {loc_index * per_location + n + 1}", accessible=n % 3 == 0)
                for loc_index, loc in enumerate(self.locations)
                for n in range(per_location)
            ]
        else:
            rooms = [
                Room(location=north, name="Garden Room", accessible=True, capacity=4),
                Room(location=north, name="Study", accessible=False, capacity=3),
                Room(location=south, name="River Room", accessible=True, capacity=4),
            ]
        bulk(Room, rooms)
        self.rooms_by_location: dict[int, list[int]] = {}
        for room in Room.objects.filter(location__practice=self.practice).order_by("id"):
            self.rooms_by_location.setdefault(room.location_id, []).append(room.pk)

    def _therapist_specs(self) -> list[tuple[str, str, str]]:
        """(first, last, sex) per therapist; the first is the demo log-in."""
        if not self.large:
            return [
                ("Maren", "Ashgrove", "F"),
                ("Joris", "Calloway", "M"),
                ("Freya", "Dunmere", "F"),
                ("Anders", "Holloway", "M"),
                ("Carys", "Northcott", "F"),
                ("Tobias", "Oakhurst", "M"),
                ("Liesbet", "Pennywell", "F"),
                ("Idris", "Rookwood", "M"),
            ]
        specs = [("Maren", "Ashgrove", "F")]
        names_rng = random.Random(self.seed + 1)  # noqa: S311 -- synthetic data
        seen = {"Maren Ashgrove"}
        n_therapists = max(MIN_LARGE_THERAPISTS, round(self.n_cases / CASES_PER_THERAPIST))
        while len(specs) < n_therapists:
            sex = "F" if len(specs) % 2 == 0 else "M"
            first = names_rng.choice(FEMALE_FIRST if sex == "F" else MALE_FIRST)
            last = names_rng.choice(LAST_NAMES)
            if f"{first} {last}" not in seen:
                seen.add(f"{first} {last}")
                specs.append((first, last, sex))
        return specs

    def _user(self, username: str, role: str, first: str, last: str, password: str | None) -> User:
        user = User(
            username=username,
            role=role,
            first_name=first,
            last_name=last,
            email=f"{username}@{STAFF_DOMAIN}",
            is_staff=role == Role.DIRECTOR,
            is_superuser=role == Role.DIRECTOR,
        )
        if password is not None:
            validate_password(password, user)
        user.password = make_password(password)
        user.save()
        return user

    def _staff(self) -> None:
        self.director = self._user("director", Role.DIRECTOR, "Dorothea", "Fairwood", DEMO_PASSWORD)
        self.coordinator = self._user("coordinator", Role.COORDINATOR, "Jules", "Brookmere", DEMO_PASSWORD)
        profiles: list[TherapistProfile] = []
        hours: list[WorkingHours] = []
        self.shift_map: dict[int, dict[int, Shift]] = {}
        north, south = self.locations
        # The specs alternate female and male, so teams pair therapists 0+1, 2+3, ...
        n_teams = 3 if not self.large else int(len(self._therapist_specs()) * TEAM_SHARE)
        for index, (first, last, sex) in enumerate(self._therapist_specs()):
            # The demo therapist (0) and their co-therapist in the first team (1) can log in.
            username = {0: "therapist", 1: "cotherapist"}.get(index, f"{first}.{last}".lower())
            password = DEMO_PASSWORD if index in (0, 1) else None
            user = self._user(username, Role.THERAPIST, first, last, password)
            self.therapists.append(user)
            profiles.append(
                TherapistProfile(
                    user=user,
                    gender=Gender.FEMALE if sex == "F" else Gender.MALE,
                    credentials=CREDENTIALS[index % len(CREDENTIALS)],
                    licence_number=f"DEMO-{1000 + index}",
                    licence_body=LICENCE_BODY,
                    licence_expires=self.today + dt.timedelta(days=200 + 37 * index),
                    bio="A fictional therapist in the Tandem demo practice.",
                    # A few take the public site's free consultations, so its booking page has times.
                    offers_consultation=index < 3,
                )
            )
            # Staggered hours, yet a team's two members still overlap for most of the day. Both members
            # of a team share one home location and the same weekdays, so the team can hold an intensive
            # block (ten clinic days running, in one room); the variety (a day at the other location,
            # part-time) goes to therapists who work alone.
            start, end = ((0, 16), (2, 20), (4, 22))[index % 3]
            on_team = index // 2 < n_teams
            home, other = (north, south) if (index // 2) % 2 == 0 else (south, north)
            weekdays = {day: (start, end, home) for day in range(5)}
            if not on_team and index % 4 == 3:
                weekdays[2] = (start, end, other)  # one day a week at the other location
            if not on_team and index % 5 == 4:
                del weekdays[4]  # part-time: no Fridays
            if index in (0, 1):
                # A weekend clinic, so the demo therapist has sessions today whichever day the demo starts.
                weekdays[5] = (6, 22, north)
                weekdays[6] = (6, 22, north)
            for weekday, (s, e, loc) in weekdays.items():
                hours.append(
                    WorkingHours(
                        therapist=profiles[-1],
                        location=loc,
                        weekday=weekday,
                        starts=slot_time(self.today, s, self.zone).time(),
                        ends=slot_time(self.today, e, self.zone).time() if e < SLOTS else dt.time(20, 0),
                    )
                )
                self.shift_map.setdefault(user.pk, {})[weekday] = Shift(s, e, loc.pk)
        bulk(TherapistProfile, profiles)
        for row in hours:
            row.therapist_id = row.therapist.pk
        bulk(WorkingHours, hours)
        women = [
            t for t, spec in zip(self.therapists, self._therapist_specs(), strict=True) if spec[2] == "F"
        ]
        men = [t for t, spec in zip(self.therapists, self._therapist_specs(), strict=True) if spec[2] == "M"]
        self.teams = bulk(
            CoTherapyTeam,
            [CoTherapyTeam(first=w, second=m) for w, m in list(zip(women, men, strict=False))[:n_teams]],
        )
