"""The public pages: reachable without log-in, the clinic's own words rendered safely, no third parties."""

import re

import pytest
from django.core.cache import cache
from django.template import Context, Template
from django.urls import reverse

from tandem.accounts.models import TherapistProfile
from tandem.public.models import ContactMessage, PublicPage
from tandem.public.urls import PUBLIC_PAGES
from tests.cast import login

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.PUBLIC_CONTACT_RATE = "1000/h"
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_every_public_page_answers_without_log_in_and_loads_nothing_from_elsewhere(client):
    for name in PUBLIC_PAGES:
        response = client.get(reverse(f"public:{name}"))
        body = response.content.decode()
        assert response.status_code == 200, name
        assert not EXTERNAL.search(body), name
        assert not INLINE_SCRIPT.search(body), name
        assert "<h1>" in body and 'name="viewport"' in body, name
        assert "Content-Security-Policy" in response.headers


@pytest.mark.django_db
def test_the_root_is_the_public_home_for_visitors_and_today_for_staff(client, cast):
    visitor = client.get("/")
    assert visitor.status_code == 200
    assert "Book a free 20-minute consultation" in visitor.content.decode()
    login(client, cast.coordinator)
    staff = client.get("/")
    assert staff.status_code == 200 and "Today," in staff.content.decode()


@pytest.mark.django_db
def test_therapy_page_says_what_really_happens(client):
    body = client.get(reverse("public:therapy")).content.decode()
    assert "takes no side" in body
    assert "nothing sexual" in body
    assert "at home" in body
    formats = client.get(reverse("public:formats")).content.decode()
    assert "up to two hours a day" in formats and "ten" in formats and "once or twice a week" in formats


@pytest.mark.django_db
def test_page_text_is_escaped_and_structured(client):
    PublicPage.objects.filter(slug="faq").update(
        body="## Heading <i>\nA <script>alert(1)</script> paragraph\ncontinues here.\n\n"
        "- one\n- two &\n  more"
    )
    body = client.get(reverse("public:faq")).content.decode()
    assert "<h2>Heading &lt;i&gt;</h2>" in body
    assert "<p>A &lt;script&gt;alert(1)&lt;/script&gt; paragraph continues here.</p>" in body
    assert "<ul><li>one</li><li>two &amp; more</li></ul>" in body
    assert "<script>alert" not in body


@pytest.mark.django_db
def test_plain_text_filter_handles_empty_text():
    assert Template("{% load public_text %}{{ t|plain_text }}").render(Context({"t": ""})) == ""


@pytest.mark.django_db
def test_therapists_page_lists_profiles(client, cast):
    TherapistProfile.objects.filter(user=cast.therapist_a).update(bio="Works with couples <b>since</b> 2010.")
    body = client.get(reverse("public:therapists")).content.decode()
    assert "Tess Assigned" in body and "MSc, registered therapist" in body
    assert "since</b>" not in body and "&lt;b&gt;since" in body
    assert "Cora" not in body  # the coordinator is not a therapist


@pytest.mark.django_db
class TestContact:
    URL = "/contact/"

    def test_a_message_lands_in_the_inbox(self, client):
        response = client.post(
            self.URL,
            {"name": "Kim", "email": "kim@example.invalid", "message": "Do you see couples on Saturdays?"},
        )
        assert response.status_code == 302 and response["Location"] == reverse("public:contact_sent")
        assert ContactMessage.objects.get().message == "Do you see couples on Saturdays?"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"name": "Kim", "email": "kim@example.invalid", "message": "m" * 2001},
                "at most 2000 characters",
            ),
            (
                {"name": "Kim", "email": "kim@example.invalid", "message": "<a href=x>hi</a>"},
                "does not accept HTML",
            ),
            ({"name": "Kim", "message": "Hello"}, "e-mail address or a phone number"),
            ({"name": "Kim", "email": "not-an-address", "message": "Hello"}, "valid email"),
            ({"email": "kim@example.invalid", "message": "Hello"}, "This field is required"),
        ],
    )
    def test_invalid_input_stores_nothing_and_says_why(self, client, data, message):
        response = client.post(self.URL, data)
        assert response.status_code == 400 and message in response.content.decode()
        assert ContactMessage.objects.count() == 0

    def test_the_honeypot_looks_sent_but_stores_nothing(self, client):
        response = client.post(
            self.URL, {"name": "Bot", "email": "bot@example.invalid", "message": "Buy now", "website": "x"}
        )
        assert response.status_code == 302 and response["Location"] == reverse("public:contact_sent")
        assert ContactMessage.objects.count() == 0

    def test_a_flood_neither_fills_the_inbox_from_one_contact_nor_overall(self, client, settings):
        data = {"name": "Kim", "email": "kim@example.invalid", "message": "Hello"}
        assert [client.post(self.URL, data).status_code for _ in range(4)] == [302, 302, 302, 400]
        settings.PUBLIC_MESSAGES_PER_HOUR = 4
        others = [
            client.post(self.URL, {**data, "email": f"k{n}@example.invalid"}).status_code for n in range(3)
        ]
        assert others == [302, 400, 400]
        assert ContactMessage.objects.count() == 4

    def test_the_rate_limit_answers_429(self, client, settings):
        settings.PUBLIC_CONTACT_RATE = "2/h"
        data = {"name": "Kim", "email": "kim@example.invalid", "message": "Hello"}
        statuses = [
            client.post(self.URL, {**data, "email": f"k{n}@example.invalid"}).status_code for n in range(3)
        ]
        assert statuses == [302, 302, 429]
        assert ContactMessage.objects.count() == 2
        assert client.get(self.URL).status_code == 200  # reading is never limited


@pytest.mark.django_db
def test_the_director_edits_a_page_in_the_set_up_admin_and_the_edit_is_audited(client, cast):
    from tandem.audit.models import AuditEvent

    cast.director.is_staff = cast.director.is_superuser = True
    cast.director.save(update_fields=["is_staff", "is_superuser"])
    login(client, cast.director)
    page = PublicPage.objects.get(slug="fees")
    url = reverse("admin:public_publicpage_change", args=[page.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "title": "Fees and insurance",
            "summary": "",
            "body": "New words.",
            "nav_label": "Fees",
            "nav_order": 50,
        },
    )
    assert response.status_code == 302
    assert "New words." in client.get(reverse("public:fees")).content.decode()
    assert AuditEvent.objects.filter(action="public_page.edit", actor_id=cast.director.pk).exists()
    login(client, cast.coordinator)
    assert client.get(url).status_code in (302, 403)
