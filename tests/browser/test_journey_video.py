"""Issue 17's acceptance: the therapist and both partners hold a video session on the practice's own Janus
from three browser contexts of Debian's chromium with its fake camera and microphone. The partners wait
until admitted; then each page plays two remote videos. A partner of another case, a client outside the
time window and an anonymous visitor are refused; after the session the room is gone from Janus.

The join times are printed (run with -s): page load to local video playing, and admission to both remote
videos playing on every page."""

import datetime as dt
import re
import time
from collections.abc import Iterator

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tandem.accounts.models import Role
from tandem.audit.actors import NOTIFY_WORKER
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Client, Phase
from tandem.scheduling.models import Appointment, AppointmentKind, Mode
from tandem.video import janus as janus_api
from tandem.video import services
from tandem.video.models import VideoRoom
from tests.browser.axe_support import axe_problems
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS
from tests.browser.test_journey_homework import staff_log_in
from tests.cast import PASSWORD, build_cast, make_user

pytest_plugins = ["tests.video_support"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
TWO_REMOTE_VIDEOS = (
    "[...document.querySelectorAll('#video-remotes video')].filter(v => v.videoWidth > 0).length === 2"
)


@pytest.fixture(scope="module")
def media_browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
    )
    yield launched
    launched.close()


def new_page(browser: Browser, base: str, *, phone: bool = False) -> tuple[BrowserContext, Page]:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=size, locale="en-GB", is_mobile=phone, has_touch=phone)
    context.grant_permissions(["camera", "microphone"], origin=base)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    # The page's own warnings (a dropped connection, a refused camera) show in the test's output.
    page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
    return context, page


def client_log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/portal/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def book_video(case: Case, therapists: list, clients: list, start: dt.datetime) -> Appointment:
    appointment = Appointment.objects.create(
        case=case,
        kind=AppointmentKind.STANDARD,
        mode=Mode.VIDEO,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=50),
    )
    appointment.therapists.set(therapists)
    appointment.attendees.set(clients)
    return appointment


def local_playing_ms(page: Page) -> int:
    """Milliseconds from the page's navigation start until its own camera played."""
    expect(page.locator("#video-session")).to_have_attribute("data-local-playing", re.compile(r"^\d+$"))
    return int(page.locator("#video-session").get_attribute("data-local-playing") or 0)


def wait_until(page: Page, script: str, timeout: float = 60) -> None:
    """Polls a script from the test's side: the page's CSP (rightly) refuses wait_for_function's eval."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.1)


def test_video_session_journey(live_server, migration_data, media_browser: Browser, janus):
    cast = build_cast()
    base = live_server.url
    couple = list(Client.objects.filter(user__in=[cast.partner_a, cast.partner_b]))
    start = timezone.now() - dt.timedelta(minutes=5)
    session = book_video(cast.couple_case, [cast.therapist_a], couple, start)
    later = book_video(cast.couple_case, [cast.therapist_a], couple, start + dt.timedelta(hours=3))
    outsider = make_user("olive.other", Role.CLIENT, first="Olive", last="Other")
    Case.objects.create(
        reference="T-0099",
        partner_a=Client.objects.create(first_name="Olive", last_name="Other", user=outsider),
        partner_b=Client.objects.create(first_name="Owen", last_name="Other"),
        phase=Phase.INTAKE,
        opened_on=dt.date(2026, 10, 1),
    )
    session_url = f"{base}/video/{session.pk}/"
    contexts = []
    try:
        # The therapist opens the session from the case page; the room is created on Janus.
        context, therapist = new_page(media_browser, base)
        contexts.append(context)
        device = TOTPDevice.objects.create(user=cast.therapist_a, name="phone", confirmed=True)
        staff_log_in(therapist, base, cast.therapist_a.username, device)
        therapist.goto(f"{base}/cases/{cast.couple_case.pk}/")
        therapist.locator(f"a[href='/video/{session.pk}/']", has_text="Video session").click()
        expect(therapist.get_by_role("heading", level=1)).to_have_text("Video session")
        expect(therapist.locator("#video-status")).to_have_text("You are in the session.")
        load_times = {"therapist": local_playing_ms(therapist)}
        room = VideoRoom.objects.get(appointment=session)
        assert janus_api.room_exists(room.janus_room)

        # Both partners, each from their own portal (one on a phone), wait to be let in.
        partners = []
        for user, phone in ((cast.partner_a, False), (cast.partner_b, True)):
            context, page = new_page(media_browser, base, phone=phone)
            contexts.append(context)
            client_log_in(page, base, user.username)
            page.locator(f"a[href='/video/{session.pk}/']", has_text="Join the video session").click()
            expect(page.locator("#video-status")).to_have_text(
                "You are in the waiting room. Your therapist will let you in."
            )
            load_times[user.first_name] = local_playing_ms(page)
            partners.append(page)
        waiting = therapist.locator("#video-waiting")
        expect(waiting).to_contain_text("Alex Partner")
        expect(waiting).to_contain_text("Blair Partner")
        time.sleep(2)  # still waiting: nobody is let in without the therapist
        for page in partners:
            expect(page.locator("#video-status")).to_contain_text("waiting room")
            assert page.locator("#video-remotes video").count() == 0

        admitted_at = time.monotonic()
        therapist.get_by_role("button", name=re.compile(r"^Let everyone in")).click()
        expect(waiting).to_contain_text("Let in: 2.")
        for page in (therapist, *partners):
            wait_until(page, TWO_REMOTE_VIDEOS)
        admit_to_remote = time.monotonic() - admitted_at
        for page in partners:
            expect(page.locator("#video-status")).to_have_text("You are in the session.")
        # The session pages (one on a phone) pass axe, as every other page does.
        for page in (therapist, partners[1]):
            assert axe_problems(page) == []
        print(
            f"\nvideo join: page load -> local video playing (ms): {load_times}; "
            f"admit -> both remote videos on all three pages: {admit_to_remote:.2f} s"
        )
        joined = AuditEvent.objects.filter(action="video.join").values_list("actor_id", flat=True)
        assert set(joined) == {cast.therapist_a.pk, cast.partner_a.pk, cast.partner_b.pk}

        # Refused: a partner of another case (404), a client outside the time window, an anonymous visitor.
        context, other = new_page(media_browser, base)
        contexts.append(context)
        client_log_in(other, base, outsider.username)
        response = other.goto(session_url)
        assert response is not None and response.status == 404
        context, early = new_page(media_browser, base)
        contexts.append(context)
        client_log_in(early, base, cast.partner_a.username)
        early.goto(f"{base}/video/{later.pk}/")
        expect(early.get_by_role("status")).to_contain_text("The room is not open yet")
        assert early.locator("#video-session").count() == 0
        context, anonymous = new_page(media_browser, base)
        contexts.append(context)
        anonymous.goto(session_url)
        assert "/accounts/login/" in anonymous.url
        assert VideoRoom.objects.count() == 1
        # The camera and microphone check shows this device's camera.
        early.goto(f"{base}/video/check/")
        expect(early.get_by_role("status")).to_contain_text("Your camera and microphone work")
        assert axe_problems(early) == []

        # After the appointment the room is destroyed on Janus and the pages say the session ended.
        closed = services.video_rooms_close(
            actor=NOTIFY_WORKER, now=session.ends_at + dt.timedelta(minutes=30)
        )
        assert closed == 1
        assert not janus_api.room_exists(room.janus_room)
        for page in (therapist, *partners):
            expect(page.locator("#video-remotes video")).to_have_count(0, timeout=30_000)
            expect(page.locator("#video-status")).to_have_text("This session has ended.")
        expect(therapist.locator("#video-waiting")).to_have_text("This session has ended.")
        left = AuditEvent.objects.filter(action="video.leave").values_list("actor_label", flat=True)
        assert len(left) == 3
    finally:
        for context in contexts:
            context.close()
