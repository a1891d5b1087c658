"""Video sessions (issue 17): who may join and when, seats and their Janus tokens, the room's life on a
real Janus, the waiting room, audit rows for joins and leaves, and the fallback when video is off."""

import datetime as dt

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from tandem.access.video import can_join_video, video_role, video_window_state
from tandem.accounts.models import Role
from tandem.audit.actors import NOTIFY_WORKER
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Client, Phase
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus, Mode
from tandem.video import janus as janus_api
from tandem.video import services
from tandem.video.models import SeatState, VideoRoom, VideoSeat
from tests.cast import login, make_user

# The `janus` fixture: a real Janus for the session, this test's settings pointing at it.
pytest_plugins = ["tests.video_support"]
pytestmark = pytest.mark.django_db


def video_appointment(cast, *, starts_in: dt.timedelta = dt.timedelta(0), minutes: int = 60) -> Appointment:
    start = timezone.now() + starts_in
    appointment = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        mode=Mode.VIDEO,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
    )
    appointment.therapists.set([cast.therapist_a, cast.cotherapist])
    appointment.attendees.set(Client.objects.filter(user__in=[cast.partner_a, cast.partner_b]))
    return appointment


def other_couple_partner():
    user = make_user("olive.other", Role.CLIENT, first="Olive", last="Other")
    client = Client.objects.create(first_name="Olive", last_name="Other", user=user)
    other = Client.objects.create(first_name="Owen", last_name="Other")
    Case.objects.create(
        reference="T-0099",
        partner_a=client,
        partner_b=other,
        phase=Phase.INTAKE,
        opened_on=dt.date(2026, 10, 1),
    )
    return user


def test_who_may_join(cast):
    appointment = video_appointment(cast)
    now = timezone.now()
    for user in (cast.therapist_a, cast.cotherapist, cast.partner_a, cast.partner_b):
        assert can_join_video(user, appointment, now), user.username
    assert video_role(cast.therapist_a, appointment) == "staff"
    assert video_role(cast.partner_b, appointment) == "client"
    # Not in the session: another therapist, the director and the front desk, another case's partner.
    for user in (cast.therapist_b, cast.director, cast.coordinator, other_couple_partner()):
        assert not can_join_video(user, appointment, now), user.username
    cast.partner_a.is_active = False
    assert not can_join_video(cast.partner_a, appointment, now)


def test_time_window_edges(cast):
    appointment = video_appointment(cast)
    start, end = appointment.starts_at, appointment.ends_at
    second = dt.timedelta(seconds=1)
    assert video_window_state(appointment, start - dt.timedelta(minutes=15) - second) == "early"
    assert video_window_state(appointment, start - dt.timedelta(minutes=15)) == "open"
    assert video_window_state(appointment, end + dt.timedelta(minutes=30) - second) == "open"
    assert video_window_state(appointment, end + dt.timedelta(minutes=30)) == "ended"
    appointment.status = AppointmentStatus.CANCELLED
    assert video_window_state(appointment, start) == "ended"


def test_pages_refuse_outsiders_with_audited_404(cast, client):
    appointment = video_appointment(cast)
    url = reverse("video:session", kwargs={"appointment_id": appointment.pk})
    assert client.get(url).status_code == 302  # anonymous: to the log-in page
    login(client, other_couple_partner())
    assert client.get(url).status_code == 404
    assert (
        client.post(reverse("video:seat_take", kwargs={"appointment_id": appointment.pk})).status_code == 404
    )
    login(client, cast.therapist_b)
    assert client.get(url).status_code == 404
    denied = AuditEvent.objects.filter(action="access.denied")
    assert denied.count() == 3
    assert all(event.detail["object"] == "video_session" for event in denied)


def test_client_outside_the_window_is_told_and_gets_no_seat(cast, client, janus):
    appointment = video_appointment(cast, starts_in=dt.timedelta(hours=2))
    login(client, cast.partner_a)
    page = client.get(reverse("video:session", kwargs={"appointment_id": appointment.pk}))
    assert page.status_code == 200
    assert "The room is not open yet" in page.content.decode()
    taken = client.post(reverse("video:seat_take", kwargs={"appointment_id": appointment.pk}))
    assert taken.status_code == 409
    assert taken.json()["message"] == "This session is not open now."
    assert not VideoRoom.objects.exists()


def test_fallback_when_video_is_off(cast, client, settings):
    settings.JANUS_URL = ""
    settings.VIDEO_FALLBACK_PHONE = "+31 20 555 0100"
    appointment = video_appointment(cast)
    url = reverse("video:session", kwargs={"appointment_id": appointment.pk})
    login(client, cast.partner_a)
    page = client.get(url).content.decode()
    assert "Video is not available for this session" in page
    assert "+31 20 555 0100" in page
    assert "video-session.js" not in page
    login(client, cast.therapist_a)
    assert "Video is off" in client.get(url).content.decode()
    taken = client.post(reverse("video:seat_take", kwargs={"appointment_id": appointment.pk}))
    assert taken.status_code == 409
    assert "switched off" in taken.json()["message"]


def test_page_allows_camera_and_names_janus_in_csp(cast, client, janus):
    appointment = video_appointment(cast)
    login(client, cast.partner_a)
    response = client.get(reverse("video:session", kwargs={"appointment_id": appointment.pk}))
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    connect = next(p for p in response.headers["Content-Security-Policy"].split(";") if "connect-src" in p)
    assert janus.url.removesuffix("/janus") in connect
    # Other pages keep the camera off.
    assert "camera=()" in client.get(reverse("portal:home")).headers["Permissions-Policy"]


def test_room_lifecycle_tokens_waiting_room_and_audit(cast, client, janus):
    appointment = video_appointment(cast)
    therapist_seat = services.video_seat_take(actor=cast.therapist_a, appointment=appointment)
    room = VideoRoom.objects.get(appointment=appointment)
    assert 0 < room.janus_room < 2**53
    assert janus_api.room_exists(room.janus_room)
    assert therapist_seat.state == SeatState.ADMITTED
    tokens = {t["token"] for t in janus_api.admin_call({"janus": "list_tokens"})["data"]["tokens"]}
    assert therapist_seat.token in tokens
    # Janus holds no name: its room description is generic, its only participants' names are refs.
    listed = janus_api.videoroom({"request": "list", "admin_key": janus.room_admin_key})["list"]
    assert [r["description"] for r in listed if r["room"] == room.janus_room] == ["Tandem session"]

    # A partner waits (no token on Janus) until a therapist admits them; the status poll says so.
    login(client, cast.partner_a)
    taken = client.post(reverse("video:seat_take", kwargs={"appointment_id": appointment.pk})).json()
    assert taken["state"] == "waiting"
    status_url = reverse("video:seat_status", kwargs={"ref": taken["seat"]})
    assert client.get(status_url).json() == {"state": "waiting"}
    seat = VideoSeat.objects.get(ref=taken["seat"])
    tokens = {t["token"] for t in janus_api.admin_call({"janus": "list_tokens"})["data"]["tokens"]}
    assert seat.token not in tokens
    # A partner cannot admit anyone; a therapist lets them in from the waiting list.
    assert (
        client.post(
            reverse("video:admit", kwargs={"appointment_id": appointment.pk}), {"all": "1"}
        ).status_code
        == 404
    )
    staff = login(client.__class__(), cast.cotherapist)
    waiting = staff.get(reverse("video:waiting", kwargs={"appointment_id": appointment.pk})).content.decode()
    assert "Alex Partner" in waiting
    admitted = staff.post(
        reverse("video:admit", kwargs={"appointment_id": appointment.pk}), {"seat": seat.ref}
    )
    assert "Let in: 1." in admitted.content.decode()
    answer = client.get(status_url).json()
    assert answer["state"] == "admitted"
    assert answer["room"] == room.janus_room
    assert answer["token"] == seat.token
    assert answer["display"] == seat.ref
    # Someone else's seat is not theirs to poll.
    assert client.get(reverse("video:seat_status", kwargs={"ref": therapist_seat.ref})).status_code == 404

    # Joins and leaves are audited (who, when), with no content.
    assert client.post(reverse("video:seat_joined", kwargs={"ref": seat.ref})).json() == {"state": "joined"}
    assert client.post(reverse("video:seat_left", kwargs={"ref": seat.ref})).json() == {"state": "left"}
    events = AuditEvent.objects.filter(target_type="video.videoseat", target_id=str(seat.pk)).order_by("seq")
    assert [(e.action, e.actor_id) for e in events] == [
        ("video.arrive", cast.partner_a.pk),
        ("video.admit", cast.cotherapist.pk),
        ("video.join", cast.partner_a.pk),
        ("video.leave", cast.partner_a.pk),
    ]
    assert seat.connections.get().left_at is not None

    # After the session (30 minutes past its end) the room is destroyed on Janus; whoever stayed leaves.
    assert services.video_rooms_close(actor=NOTIFY_WORKER) == 0
    later = appointment.ends_at + dt.timedelta(minutes=30)
    assert services.video_rooms_close(actor=NOTIFY_WORKER, now=later) == 1
    assert not janus_api.room_exists(room.janus_room)
    therapist_seat.refresh_from_db()
    assert therapist_seat.state == SeatState.LEFT
    assert (
        AuditEvent.objects.filter(action="video.room_close", actor_label="system:notify-worker").count() == 1
    )
    tokens = {t["token"] for t in janus_api.admin_call({"janus": "list_tokens"})["data"]["tokens"]}
    assert therapist_seat.token not in tokens
    assert services.video_rooms_close(actor=NOTIFY_WORKER, now=later) == 0


def test_notify_worker_and_command_close_rooms_after_the_session(cast, janus):
    from io import StringIO

    from django.core.management import call_command

    from tandem.video.later import video_rooms_close_due

    appointment = video_appointment(cast, starts_in=dt.timedelta(minutes=-100), minutes=60)
    room = VideoRoom.objects.create(
        appointment=appointment, janus_room=janus_api.new_room_number(), created_at=timezone.now()
    )
    janus_api.room_create(room.janus_room)
    out = StringIO()
    call_command("video_close_rooms", stdout=out)
    assert out.getvalue().strip() == "Closed 1 video room."
    assert not janus_api.room_exists(room.janus_room)
    assert video_rooms_close_due() == 0


def test_the_worker_leaves_video_alone_when_it_is_off(cast, settings):
    from tandem.video.later import video_rooms_close_due

    settings.JANUS_URL = ""
    assert video_rooms_close_due() == 0


def test_demo_video_session_is_booked_through_the_booking_service(cast):
    from io import StringIO

    import time_machine
    from django.core.management import call_command

    from tandem.cases.models import Client as CaseClient

    solo = cast.solo_case.partner_a
    solo.user = make_user("client", Role.CLIENT, first="Sam", last="Solo")
    solo.save()
    noon = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(12)))
    with time_machine.travel(noon, tick=False):
        out = StringIO()
        call_command("demo_video_session", stdout=out)
    appointment = Appointment.objects.get()
    assert appointment.mode == Mode.VIDEO
    assert appointment.starts_at == noon + dt.timedelta(minutes=1)
    assert list(appointment.attendees.all()) == [CaseClient.objects.get(user__username="client")]
    assert AuditEvent.objects.filter(action="appointment.book").count() == 1
    assert f"/video/{appointment.pk}/" in out.getvalue()


def services_book(cast, start: dt.datetime) -> Appointment:
    """An ordinary in-person session of the solo case, booked through the booking service."""
    from tandem.scheduling.services import appointment_book

    case = cast.solo_case
    return appointment_book(
        actor=cast.director,
        case=case,
        kind=AppointmentKind.STANDARD,
        mode=Mode.IN_PERSON,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=50),
        therapists=[case.therapist],
        room=cast.room,
    )


def test_demo_video_session_starts_when_the_therapist_is_free_again(cast):
    from io import StringIO

    import time_machine
    from django.core.management import call_command

    solo = cast.solo_case.partner_a
    solo.user = make_user("client", Role.CLIENT, first="Sam", last="Solo")
    solo.save()
    noon = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(12)))
    busy = services_book(cast, noon - dt.timedelta(minutes=20))
    with time_machine.travel(noon, tick=False):
        out = StringIO()
        call_command("demo_video_session", stdout=out)
    demo = Appointment.objects.exclude(pk=busy.pk).get()
    assert demo.mode == Mode.VIDEO and demo.starts_at == busy.ends_at
    assert "the room opens at 12:15" in out.getvalue()  # a quarter of an hour before its start
    assert f"/video/{demo.pk}/" in out.getvalue()


def test_reminders_say_join_from_the_portal_with_no_room_detail():
    from django.template.loader import render_to_string

    text = render_to_string(
        "notify/email/appointment_reminder.txt", {"link": "https://clinic.example/portal/"}
    )
    assert "join it from your page" in text
    assert "/video/" not in text


def test_demo_video_session_outside_working_hours_is_booked_by_the_seed(cast):
    from io import StringIO

    import time_machine
    from django.core.management import call_command

    from tandem.scheduling.models import Occupancy

    solo = cast.solo_case.partner_a
    solo.user = make_user("client", Role.CLIENT, first="Sam", last="Solo")
    solo.save()
    late = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(22)))
    with time_machine.travel(late, tick=False):
        out = StringIO()
        call_command("demo_video_session", stdout=out)
    appointment = Appointment.objects.get()
    assert appointment.mode == Mode.VIDEO
    assert "Booking the demo session anyway" in out.getvalue()
    assert Occupancy.objects.filter(appointment=appointment).count() == 2  # the therapist and the client
    event = AuditEvent.objects.get(action="appointment.book")
    assert event.actor_label == "system:seed"


def test_waiting_list_reads_a_fixed_number_of_queries(cast, janus, django_assert_max_num_queries):
    appointment = video_appointment(cast)
    services.video_seat_take(actor=cast.therapist_a, appointment=appointment)
    for user in (cast.partner_a, cast.partner_b, cast.partner_a):
        services.video_seat_take(actor=user, appointment=appointment)
    staff = login(HttpClient(), cast.therapist_a)
    url = reverse("video:waiting", kwargs={"appointment_id": appointment.pk})
    with django_assert_max_num_queries(16):
        page = staff.get(url).content.decode()
    assert page.count("Let Alex in") == 2 and page.count("Let Blair in") == 1


def test_the_calendar_links_a_booked_video_session_to_its_page(cast, client):
    appointment = video_appointment(cast, starts_in=dt.timedelta(hours=1))
    in_person = video_appointment(cast, starts_in=dt.timedelta(hours=3))
    Appointment.objects.filter(pk=in_person.pk).update(mode=Mode.IN_PERSON)
    # What a booking holds: the practice week finds its page of therapists' sessions by occupancy.
    for row in (appointment, in_person):
        row.occupancies.create(
            resource_kind="therapist",
            resource_id=cast.therapist_a.pk,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )
    login(client, cast.therapist_a)
    day = timezone.localdate(appointment.starts_at).isoformat()
    page = client.get(reverse("scheduling:calendar_practice"), {"date": day, "span": "week"})
    html = page.content.decode()
    session = reverse("video:session", kwargs={"appointment_id": appointment.pk})
    assert f'href="{session}"' in html
    assert reverse("video:session", kwargs={"appointment_id": in_person.pk}) not in html
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
    html = client.get(reverse("scheduling:calendar_practice"), {"date": day, "span": "week"}).content.decode()
    assert f'href="{session}"' not in html
