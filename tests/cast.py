"""The fixed cast every permission test uses, built through plain model calls (no services, no audit)."""

import datetime as dt
import time
from dataclasses import dataclass

from django.test import Client as HttpClient
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts.models import CoTherapyTeam, Gender, Role, TherapistProfile, User, WorkingHours
from tandem.accounts.services import LAST_SEEN_KEY, LOGIN_AT_KEY
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.practice.models import Location, Practice, Room

PASSWORD = "violet-harbour-lantern-42"


def make_user(
    username: str, role: str, *, first: str = "", last: str = "", gender: str | None = None
) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        first_name=first or username.title(),
        last_name=last or "Example",
        email=f"{username}@staff.tandem.invalid",
    )
    if gender:
        TherapistProfile.objects.create(user=user, gender=gender, credentials="MSc, registered therapist")
    return user


@dataclass
class Cast:
    director: User
    therapist_a: User
    therapist_b: User
    cotherapist: User
    coordinator: User
    partner_a: User
    partner_b: User
    couple_case: Case
    solo_case: Case
    room: Room


def build_cast() -> Cast:
    practice = Practice.objects.create(name="Harbourview Relationship Clinic")
    location = Location.objects.create(practice=practice, name="Canal Street")
    room = Room.objects.create(location=location, name="Room 1", accessible=True)
    director = make_user("dana.director", Role.DIRECTOR, first="Dana", last="Director")
    therapist_a = make_user(
        "tess.assigned", Role.THERAPIST, first="Tess", last="Assigned", gender=Gender.FEMALE
    )
    therapist_b = make_user("theo.other", Role.THERAPIST, first="Theo", last="Other", gender=Gender.MALE)
    cotherapist = make_user(
        "colin.cotherapist", Role.THERAPIST, first="Colin", last="Cotherapist", gender=Gender.MALE
    )
    coordinator = make_user("cora.coordinator", Role.COORDINATOR, first="Cora", last="Coordinator")
    partner_a = make_user("alex.partner", Role.CLIENT, first="Alex", last="Partner")
    partner_b = make_user("blair.partner", Role.CLIENT, first="Blair", last="Partner")
    client_a = Client.objects.create(first_name="Alex", last_name="Partner", user=partner_a)
    client_b = Client.objects.create(first_name="Blair", last_name="Partner", user=partner_b)
    # Bookings must fall in working hours: the cast works 07:00-21:00 every day, so tests about other
    # rules can book freely; tests of the hours themselves replace these rows.
    WorkingHours.objects.bulk_create(
        WorkingHours(
            therapist=therapist.therapist_profile,
            location=location,
            weekday=weekday,
            starts=dt.time(7),
            ends=dt.time(21),
        )
        for therapist in (therapist_a, therapist_b, cotherapist)
        for weekday in range(7)
    )
    team = CoTherapyTeam.objects.create(first=therapist_a, second=cotherapist)
    couple_case = Case.objects.create(
        reference="T-0001",
        partner_a=client_a,
        partner_b=client_b,
        phase=Phase.ASSESSMENT,
        team=team,
        opened_on=dt.date(2026, 9, 1),
        presenting_notes="Synthetic presenting notes for the couple.",
    )
    solo = Client.objects.create(first_name="Sam", last_name="Solo")
    solo_case = Case.objects.create(
        reference="T-0002",
        partner_a=solo,
        absent_partner=AbsentPartner.UNWILLING,
        phase=Phase.INTAKE,
        therapist=therapist_a,
        opened_on=dt.date(2026, 10, 1),
    )
    return Cast(
        director,
        therapist_a,
        therapist_b,
        cotherapist,
        coordinator,
        partner_a,
        partner_b,
        couple_case,
        solo_case,
        room,
    )


def login(client: HttpClient, user: User) -> HttpClient:
    """Log in as a fully verified user: password done and, for staff, a confirmed TOTP device used."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    # As the log-in page does: both session clocks start now.
    session[LOGIN_AT_KEY] = session[LAST_SEEN_KEY] = int(time.time())
    session.save()
    return client


def individual_case(reference: str, first: str, last: str, *, phase: str, opened_on: dt.date) -> Case:
    """A case of one client (the partner unwilling to come) with no therapist yet."""
    return Case.objects.create(
        reference=reference,
        partner_a=Client.objects.create(first_name=first, last_name=last),
        absent_partner=AbsentPartner.UNWILLING,
        phase=phase,
        opened_on=opened_on,
    )
