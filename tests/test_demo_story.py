"""The demo shows the whole program working with no set-up edits: an intensive books for a waiting
couple, the clinical record is full and in the audit trail, and every printed log-in works."""

import datetime as dt
import re
import subprocess
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.audit.models import AuditEvent
from tandem.audit.services import verify_audit_chain
from tandem.cases.models import Case, Phase
from tandem.consents.models import Consent
from tandem.homework.models import AssignmentLog
from tandem.lib.time import local_today
from tandem.measures.models import Response
from tandem.pathway.models import Referral
from tandem.practice.models import PracticeClosure, PracticePolicy
from tandem.records.models import SessionNote
from tandem.scheduling.availability import intensive_options
from tandem.scheduling.models import Appointment, AppointmentKind
from tandem.scheduling.services import intensive_book
from tests.cast import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def printed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def waiting_for_an_intensive() -> Case | None:
    """A seeded couple with a co-therapy team and no intensive booked yet."""
    return (
        Case.objects.filter(team__isnull=False, partner_b__isnull=False, phase=Phase.ASSESSMENT)
        .exclude(appointments__kind=AppointmentKind.INTENSIVE)
        .order_by("pk")
        .first()
    )


def test_an_intensive_can_be_found_and_booked_for_a_waiting_couple(printed):
    case = waiting_for_an_intensive()
    assert case is not None
    options = intensive_options(case=case, first_day=local_today() + dt.timedelta(days=1))
    assert options, "the demo team can hold no intensive block"
    option = options[0]
    assert option.team == case.team
    therapist = User.objects.get(username="therapist")
    series = intensive_book(
        actor=therapist,
        case=case,
        room=option.room,
        first_day=option.first_day,
        start_time=option.start_time,
        team=option.team,
        minutes=option.minutes,
    )
    assert series.appointments.count() == PracticePolicy.current().intensive_days
    assert AuditEvent.objects.filter(action="intensive.book", case=case).exists()
    # From the case page: the link to the search, and the search itself offers the block.
    http = login(HttpClient(), therapist)
    other = waiting_for_an_intensive() or case
    page = http.get(reverse("cases:detail", kwargs={"case_id": other.pk})).content.decode()
    assert reverse("scheduling:availability", kwargs={"case_id": other.pk}) in page
    search = http.get(reverse("scheduling:availability", kwargs={"case_id": other.pk}))
    assert search.status_code == 200
    assert 'name="room" value="' in search.content.decode()


def test_the_record_is_full_and_the_audit_trail_holds_it(printed):
    signed = SessionNote.objects.filter(signed_at__isnull=False)
    assert signed.count() >= 20
    assert signed.filter(cosigned_at__isnull=False).exists()
    assert SessionNote.objects.filter(signed_at__isnull=True).exists()  # drafts to finish on Today
    assert all(n.signed_at is not None and n.signed_at <= dt.datetime.now(dt.UTC) for n in signed)
    couple = next(
        c
        for c in Case.objects.filter(partner_b__isnull=False)
        if Response.objects.filter(case=c).count() >= 4
    )
    for client in couple.partners:
        answers = Response.objects.filter(case=couple, client=client).order_by("answered_at")
        assert answers.count() >= 2 and answers.first().total != answers.last().total  # change shows
    assert Consent.objects.filter(signed_at__isnull=False).count() >= 10
    assert AssignmentLog.objects.values("client").distinct().count() >= 2
    assert Referral.objects.filter(status="result_received").exists()
    assert PracticePolicy.objects.exists()
    assert PracticeClosure.objects.filter(reason__startswith="Public holiday").count() >= 8
    # Nobody is booked on a public holiday (today is never closed: the demo starts on a working day).
    closed = set(PracticeClosure.objects.values_list("date", flat=True))
    zone = ZoneInfo(settings.TIME_ZONE)
    assert not [a for a in Appointment.objects.all() if a.starts_at.astimezone(zone).date() in closed]
    for action in (
        "case.open",
        "case.phase_change",
        "appointment.book",
        "note.sign",
        "note.cosign",
        "measures.response_recorded",
        "consent.sign",
        "homework.log",
        "referral.result",
        "intake.create",
        "consent.treatment",
        "followup.done",
    ):
        assert AuditEvent.objects.filter(action=action).exists(), action
    assert verify_audit_chain().ok
    call_command("audit_verify", stdout=StringIO())
    page = login(HttpClient(), User.objects.get(username="director")).get(reverse("audit:events"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "note.sign" in html or "Note signed" in html


def test_every_printed_log_in_works_including_both_partners(printed):
    logins = re.findall(r"username (\S+) +password (\S+)", printed)
    usernames = {u for u, _ in logins}
    assert {"director", "therapist", "cotherapist", "coordinator", "client", "partner"} <= usernames
    for username, password in logins:
        user = User.objects.get(username=username)
        http = HttpClient()
        response = http.post(reverse("accounts:login"), {"username": username, "password": password})
        assert response.status_code == 302, username
        if user.role == Role.CLIENT:
            assert "_auth_user_id" in http.session, username
            assert http.get(reverse("portal:home")).status_code == 200
    a, b = User.objects.get(username="client").client, User.objects.get(username="partner").client
    assert Case.objects.filter(partner_a=a, partner_b=b).exists()
    team = CoTherapyTeam.objects.order_by("pk").first()
    assert team is not None and Case.objects.filter(team=team).exists()
    assert {team.first.username, team.second.username} == {"therapist", "cotherapist"}


def test_the_printed_address_and_e_mailed_links_use_the_address_served(settings):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8123"
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    assert "Demo log-ins at http://127.0.0.1:8123/" in out.getvalue()
    assert mail.outbox == [] or all(":8000" not in m.body for m in mail.outbox)


def test_make_run_gives_the_server_the_workers_and_the_seed_the_address_served():
    root = Path(__file__).resolve().parent.parent
    plan = subprocess.run(
        ["make", "-n", "run", "HOST=127.0.0.1", "PORT=8123"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("seed_demo", "notify_worker", "planning_worker", "runserver 127.0.0.1:8123"):
        line = next(line for line in plan.splitlines() if f"manage.py {command}" in line)
        assert "PORTAL_BASE_URL=http://127.0.0.1:8123 " in line, command
