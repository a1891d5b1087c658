"""The demo practice: complete, plausible, free of double bookings, and safe to seed twice."""

import datetime as dt
import itertools
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.db.models import Exists, OuterRef
from django.test import RequestFactory
from django.utils import timezone

from tandem.accounts.models import CoTherapyTeam, Gender, Role, TherapistProfile, User
from tandem.cases.models import AbsentPartner, Case, CaseProblem, Phase
from tandem.demo import build as demo
from tandem.demo import data
from tandem.demo.outcomes import COHORT_CASES
from tandem.lib.time import local_day_bounds, local_today
from tandem.practice.models import Location, Room
from tandem.scheduling.models import Appointment, AppointmentStatus

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def therapist_clashes() -> int:
    """Pairs of one therapist's appointments that overlap in time."""
    through = Appointment.therapists.through
    clash = through.objects.filter(
        user_id=OuterRef("user_id"),
        appointment__starts_at__lt=OuterRef("appointment__ends_at"),
        appointment__ends_at__gt=OuterRef("appointment__starts_at"),
    ).exclude(appointment_id=OuterRef("appointment_id"))
    return through.objects.filter(Exists(clash)).count()


def room_clashes() -> int:
    clash = Appointment.objects.filter(
        room_id=OuterRef("room_id"), starts_at__lt=OuterRef("ends_at"), ends_at__gt=OuterRef("starts_at")
    ).exclude(pk=OuterRef("pk"))
    return Appointment.objects.filter(room__isnull=False).filter(Exists(clash)).count()


@pytest.fixture
def seeded(demo_practice, db) -> str:
    # Seeded once for the module (tests/conftest.py); each test's changes are rolled back after it.
    return demo_practice


def test_second_run_changes_nothing_and_still_prints_the_log_ins(seeded):
    before = demo.counts()
    rows = set(Appointment.objects.values_list("pk", "starts_at", "status"))
    again = seed()
    assert demo.counts() == before
    assert set(Appointment.objects.values_list("pk", "starts_at", "status")) == rows
    for output in (seeded, again):
        assert data.DEMO_URL in output
        for _, username in data.DEMO_LOGINS:
            assert f"username {username} " in output
        assert data.DEMO_PASSWORD in output


def test_practice_places_and_staff(seeded):
    assert Location.objects.count() == 2
    assert Room.objects.count() == 3
    assert Room.objects.filter(accessible=True).exists()
    profiles = TherapistProfile.objects.all()
    assert profiles.count() >= 6
    assert {Gender.FEMALE, Gender.MALE} <= set(profiles.values_list("gender", flat=True))
    assert all(p.credentials and p.licence_number and p.working_hours.exists() for p in profiles)
    teams = CoTherapyTeam.objects.select_related("first__therapist_profile", "second__therapist_profile")
    assert teams.count() >= 2
    for team in teams:
        genders = {team.first.therapist_profile.gender, team.second.therapist_profile.gender}
        assert genders == {Gender.FEMALE, Gender.MALE}
    assert User.objects.filter(role=Role.DIRECTOR).count() == 1
    assert User.objects.filter(role=Role.COORDINATOR).count() == 1


def test_demo_log_ins_authenticate_with_their_role(seeded):
    for role, username in data.DEMO_LOGINS:
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=username, password=data.DEMO_PASSWORD)
        assert user is not None, username
        assert user.role == role
        validate_password(data.DEMO_PASSWORD, user)
    client_user = User.objects.get(username="client")
    assert client_user.client.cases_as_a.get().is_couple  # type: ignore[attr-defined]
    # Every other generated staff member cannot log in at all.
    others = User.objects.exclude(username__in=[u for _, u in data.DEMO_LOGINS])
    assert others.exists()
    assert not any(u.has_usable_password() for u in others)


def test_cases_cover_every_phase_and_both_kinds_of_care(seeded):
    cases = Case.objects.all()
    # The hand-picked cases, then the finished cohort that fills the outcomes page.
    assert cases.count() == data.DEMO_CASES + COHORT_CASES
    assert set(cases.values_list("phase", flat=True)) == set(Phase.values)
    individual = cases.filter(partner_b__isnull=True)
    assert individual.count() >= 3
    assert not individual.filter(absent_partner="").exists()
    assert set(individual.values_list("absent_partner", flat=True)) == set(AbsentPartner.values)
    couples = cases.filter(partner_b__isnull=False)
    assert couples.filter(team__isnull=False).exists()
    assert couples.filter(therapist__isnull=False).exists()
    assert not cases.filter(therapist__isnull=False, team__isnull=False).exists()
    assert CaseProblem.objects.values("case").distinct().count() >= 20
    references = list(cases.values_list("reference", flat=True))
    assert all(re.fullmatch(r"T-\d{4}-\d{5}", r or "") for r in references)
    assert not cases.filter(phase__in=[Phase.DISCHARGED, Phase.CLOSED], closed_on__isnull=True).exists()


def test_phase_history_leads_to_the_current_phase(seeded):
    for case in Case.objects.prefetch_related("phase_changes"):
        changes = list(case.phase_changes.all())
        assert changes[0].from_phase == ""
        assert changes[0].at.astimezone(timezone.get_current_timezone()).date() == case.opened_on
        assert changes[-1].to_phase == case.phase
        for earlier, later in itertools.pairwise(changes):
            assert later.from_phase == earlier.to_phase
            assert later.at > earlier.at
        assert changes[-1].at <= timezone.now()


def test_appointments_past_today_and_this_week_without_double_booking(seeded):
    now = timezone.now()
    today = local_today()
    start, end = local_day_bounds(today)
    appointments = Appointment.objects.all()
    assert appointments.filter(ends_at__lt=now, status=AppointmentStatus.ATTENDED).count() >= 50
    assert appointments.filter(starts_at__gte=now, status=AppointmentStatus.BOOKED).exists()
    therapist = User.objects.get(username="therapist")
    assert appointments.filter(therapists=therapist).between(start, end).count() >= 4
    week = appointments.between(start, end + dt.timedelta(days=6))
    assert week.values("therapists").distinct().count() >= 3
    assert not appointments.filter(therapists__isnull=True).exists()
    assert not appointments.filter(mode="in_person", room__isnull=True).exists()
    assert therapist_clashes() == 0
    assert room_clashes() == 0
    # Every session belongs to one of the case's own clinicians.
    for appointment in appointments.select_related("case__team").prefetch_related("therapists"):
        assert {t.pk for t in appointment.therapists.all()} <= {c.pk for c in appointment.case.clinicians}
