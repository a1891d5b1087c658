"""The pages the benchmarks time, shared by bench/pages.py (in-process) and bench/http.py (under load).

To add a page, append one line to PAGES: a name, the roles that open it, and how to build its request
from the fixtures (the demo users and the heaviest case of the demo therapist, found once per run).
A page answered with anything other than 200 stops the run, so list only roles that may open it.

Imported only after django.setup().
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

STAFF = ("therapist", "director")
DIRECTOR = ("director",)
CLIENT = ("client",)


@dataclass
class Request:
    url: str
    # A POST form (the case search posts the name, so that no name ever appears in an address).
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fixtures:
    """What the page requests point at; found in the seeded practice, never created."""

    therapist: Any
    heavy: Any  # the demo therapist's case with the most appointments
    note_id: int
    surname: str
    room_id: int
    client_case_id: int
    client_appointment_id: int | None
    # The heavy case's latest invoice, and the payer with the longest history: the largest insurer at
    # either size, so that both sizes of the growth mode print full pages of its statement (None where
    # the seed wrote no billing).
    invoice_id: int | None = None
    payer_id: int | None = None
    month_ago: dt.date = field(default_factory=lambda: timezone.localdate() - dt.timedelta(days=30))


def _get(name: str, *args: Any, query: str = "") -> Request:
    return Request(reverse(name, args=args) + (f"?{query}" if query else ""))


Build = Callable[[Fixtures], Request | None]

# name, roles, request. Other branches append their pages here (billing, outcomes).
PAGES: list[tuple[str, tuple[str, ...], Build]] = [
    ("Today", STAFF, lambda f: _get("today")),
    ("Case list", STAFF, lambda f: _get("cases:list")),
    (
        "Case search",
        STAFF,
        lambda f: Request(reverse("cases:list"), data={"q": f.surname}, headers={"HX-Request": "true"}),
    ),
    ("Case page", STAFF, lambda f: _get("cases:detail", f.heavy.pk)),
    ("Notes list", STAFF, lambda f: _get("records:case_notes", f.heavy.pk)),
    ("Note", STAFF, lambda f: _get("records:note", f.note_id)),
    ("Measures", STAFF, lambda f: _get("measures:case", f.heavy.pk)),
    ("Practice cal day", STAFF, lambda f: _get("scheduling:calendar_practice", query="span=day")),
    ("Practice cal week", STAFF, lambda f: _get("scheduling:calendar_practice", query="span=week")),
    (
        "Therapist cal day",
        STAFF,
        lambda f: _get("scheduling:calendar_therapist", f.therapist.pk, query="span=day"),
    ),
    (
        "Therapist cal week",
        STAFF,
        lambda f: _get("scheduling:calendar_therapist", f.therapist.pk, query="span=week"),
    ),
    ("Room cal day", STAFF, lambda f: _get("scheduling:calendar_room", f.room_id, query="span=day")),
    ("Room cal week", STAFF, lambda f: _get("scheduling:calendar_room", f.room_id, query="span=week")),
    ("Planner", DIRECTOR, lambda f: _get("planning:runs")),
    ("Inbox", DIRECTOR, lambda f: _get("public:inbox")),
    ("Audit, by case", DIRECTOR, lambda f: _get("audit:events", query=f"case={f.heavy.reference}")),
    (
        "Audit, action+dates",
        DIRECTOR,
        lambda f: _get("audit:events", query=f"action=note.sign&date_from={f.month_ago.isoformat()}"),
    ),
    ("Audit, by person", DIRECTOR, lambda f: _get("audit:events", query=f"actor={f.therapist.pk}")),
    # Billing, as the front desk and the director use it: a case's billing page, an invoice, a payer's
    # statement and the two reports.
    ("Billing, case", DIRECTOR, lambda f: _get("billing:case", f.heavy.pk)),
    ("Invoice", DIRECTOR, lambda f: _get("billing:invoice", f.invoice_id) if f.invoice_id else None),
    ("Payer statement", DIRECTOR, lambda f: _get("billing:payer", f.payer_id) if f.payer_id else None),
    ("Aged receivables", DIRECTOR, lambda f: _get("billing_reports:aged")),
    ("Revenue", DIRECTOR, lambda f: _get("billing_reports:revenue")),
    ("Portal home", CLIENT, lambda f: _get("portal:home")),
    # The portal lists appointments on its home page; each has an add-to-calendar download.
    (
        "Portal appointment",
        CLIENT,
        lambda f: _get("portal:calendar", f.client_appointment_id) if f.client_appointment_id else None,
    ),
    ("Portal messages", CLIENT, lambda f: _get("portal:messages", f.client_case_id)),
    # The director's outcomes page: the default view, each grouping, the filters, and its CSV.
    *[
        (f"Outcomes {name}", DIRECTOR, lambda f, query=query: _get("outcomes:practice", query=query))
        for name, query in (
            ("default", ""),
            ("by problem", "by=problem"),
            ("by staff", "by=staff"),
            ("by year", "by=period"),
            ("intensive+problem", "format=intensive&problem=low-desire&by=staff"),
            ("PHQ-9, year", "instrument=PHQ9&period=2024&by=problem"),
            ("CSI-4 standard", "instrument=CSI4&format=standard"),
        )
    ],
    ("Outcomes CSV", DIRECTOR, lambda f: _get("outcomes:practice_csv", query="by=problem")),
]


def fixtures() -> Fixtures:
    from tandem.accounts.models import User
    from tandem.billing.models import Invoice
    from tandem.cases.models import Case
    from tandem.practice.models import Room
    from tandem.records.models import SessionNote
    from tandem.scheduling.models import Appointment, AppointmentStatus

    therapist = User.objects.get(username="therapist")
    client = User.objects.get(username="client")
    heavy = (
        Case.objects.assigned_to(therapist)
        .select_related("partner_a")
        .annotate(n=Count("appointments"))
        .order_by("-n", "pk")
        .first()
    )
    if heavy is None:
        raise SystemExit("The demo therapist has no cases: the seed did not run as expected.")
    note = SessionNote.objects.filter(case=heavy).order_by("-pk").values_list("pk", flat=True).first()
    if note is None:
        raise SystemExit(f"{heavy.reference} has no session notes: the seed did not run as expected.")
    client_case = Case.objects.filter(partner_a__user=client).order_by("pk").first() or Case.objects.get(
        partner_b__user=client
    )
    appointment = (
        Appointment.objects.filter(
            case=client_case, starts_at__gte=timezone.now(), status=AppointmentStatus.BOOKED
        )
        .order_by("starts_at")
        .values_list("pk", flat=True)
        .first()
    )
    invoice = Invoice.objects.filter(case=heavy).order_by("-issued_at", "-pk").values("pk").first()
    longest = Invoice.objects.values("payer_id").annotate(n=Count("pk")).order_by("-n", "payer_id").first()
    return Fixtures(
        therapist=therapist,
        heavy=heavy,
        note_id=note,
        surname=heavy.partner_a.last_name,
        room_id=Room.objects.order_by("pk").values_list("pk", flat=True)[0],
        client_case_id=client_case.pk,
        client_appointment_id=appointment,
        invoice_id=invoice["pk"] if invoice else None,
        payer_id=longest["payer_id"] if longest else None,
    )


def session_for(username: str) -> Any:
    """A test client logged in as this demo user, with the second factor verified for staff."""
    from django.test import Client as HttpClient
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tandem.accounts.models import Role, User

    user = User.objects.get(username=username)
    client = HttpClient()
    client.force_login(user)
    if user.role != Role.CLIENT:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="Benchmark authenticator", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
