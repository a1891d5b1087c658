"""Reads for the public pages and the coordinators' inbox."""

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Count, Q, QuerySet

from tandem.access.services import can_use_inbox
from tandem.accounts.models import Role, TherapistProfile
from tandem.lib.time import local_today, practice_zone
from tandem.public.models import (
    OPEN_REQUEST_STATUSES,
    ConsultationRequest,
    ContactMessage,
    MessageStatus,
    PublicPage,
    RequestStatus,
)
from tandem.scheduling.availability import ConsultationSlot, consultation_slots

# How far ahead the public booking page looks.
BOOKING_DAYS = 21
INBOX_LIMIT = 100


def nav_pages() -> list[PublicPage]:
    return list(PublicPage.objects.exclude(nav_label="").only("slug", "nav_label", "nav_order"))


def therapists() -> QuerySet[TherapistProfile]:
    return (
        TherapistProfile.objects.filter(user__is_active=True, user__role__in=(Role.THERAPIST, Role.DIRECTOR))
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )


@dataclass(frozen=True)
class SlotTime:
    """One start time on the booking page, with every therapist free then."""

    starts_at: dt.datetime
    options: list[ConsultationSlot]


@dataclass(frozen=True)
class Availability:
    days: list[dt.date]
    day: dt.date | None
    times: list[SlotTime]


def availability(*, mode: str, day: dt.date | None, first_day: dt.date | None = None) -> Availability:
    """The days with open slots, and the slots of `day` (or the first such day), grouped by start time."""
    first_day = first_day or local_today()
    slots = consultation_slots(first_day=first_day, days=BOOKING_DAYS, mode=mode)
    zone = practice_zone()

    def local_day(slot: ConsultationSlot) -> dt.date:
        return slot.starts_at.astimezone(zone).date()

    by_day = {d: list(group) for d, group in groupby(slots, key=local_day)}
    days = sorted(by_day)
    if day not in by_day:
        day = days[0] if days else None
    times = (
        [SlotTime(start, list(group)) for start, group in groupby(by_day[day], key=lambda s: s.starts_at)]
        if day is not None
        else []
    )
    return Availability(days=days, day=day, times=times)


def inbox_counts(user: Any) -> dict[str, int] | None:
    """New requests and messages for the Today page; None for whoever does not handle the inbox."""
    if not can_use_inbox(user):
        return None
    requests = ConsultationRequest.objects.aggregate(new=Count("pk", filter=Q(status=RequestStatus.NEW)))
    messages = ContactMessage.objects.aggregate(new=Count("pk", filter=Q(status=MessageStatus.NEW)))
    return {"requests": requests["new"], "messages": messages["new"]}


def inbox_requests(status: str) -> list[ConsultationRequest]:
    rows = ConsultationRequest.objects.select_related("therapist", "case", "appointment")
    if status == "open" or not status:
        rows = rows.filter(status__in=OPEN_REQUEST_STATUSES)
    elif status != "all":
        rows = rows.filter(status=status)
    return list(rows.order_by("starts_at", "pk")[:INBOX_LIMIT])


def inbox_messages(status: str) -> list[ContactMessage]:
    rows = ContactMessage.objects.select_related("handled_by")
    if status == "new" or not status:
        rows = rows.filter(status=MessageStatus.NEW)
    elif status != "all":
        rows = rows.filter(status=status)
    return list(rows.order_by("-created_at", "-pk")[:INBOX_LIMIT])
