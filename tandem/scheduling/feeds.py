"""A therapist's private iCalendar feed: the secret token, its keyed hash, and the feed itself.

The token is shown once, to its therapist, when the feed is created or rotated; the database keeps only
an HMAC of it (keyed with SECRET_KEY), so a copy of the database yields no working feed address. Each
therapist manages only their own feed: the services take the actor and nothing else to act on.

What a feed tells: times, the appointment type, room and location (or phone/video), and the
therapists. Never anything about the clients (no names, no case references): the address alone opens
it, and calendar apps and the services that sync them keep copies. Cancelled
appointments stay in the feed with STATUS:CANCELLED, so calendar apps that already hold them mark them
cancelled instead of keeping a stale booking.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from tandem.access.calendar import can_have_feed
from tandem.access.services import AccessDenied
from tandem.accounts.models import User
from tandem.audit.services import audit_record
from tandem.lib.time import practice_zone
from tandem.scheduling.models import Appointment, AppointmentStatus, CalendarFeed

FEED_PAST = dt.timedelta(days=30)
FEED_FUTURE = dt.timedelta(days=366)
# Calendar apps poll; a fetch is noted at most this often, so polling does not write on every request.
FETCH_NOTE_EVERY = dt.timedelta(minutes=15)
_TOKEN_BYTES = 32
_LONGEST_TOKEN = 100


def token_hash(token: str) -> str:
    return salted_hmac("tandem.scheduling.calendar_feed", token, algorithm="sha256").hexdigest()


def _check_actor(actor: Any) -> None:
    if not can_have_feed(actor):
        raise AccessDenied("Only therapists have a calendar feed.")


def feed_of(user: Any) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(therapist=user).first() if can_have_feed(user) else None


# --- Services -------------------------------------------------------------------------------------
def calendar_feed_issue(*, actor: User) -> tuple[CalendarFeed, str]:
    """Create the actor's feed, or rotate its token (the old address stops working at once).

    Returns the feed and the new token: the only time the token exists outside the caller's hands.
    """
    _check_actor(actor)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(therapist=actor).first()
        if feed is None:
            feed = CalendarFeed.objects.create(therapist=actor, token_hash=token_hash(token), created_at=now)
            action = "calendar_feed.create"
        else:
            action = "calendar_feed.rotate" if feed.active else "calendar_feed.create"
            feed.token_hash = token_hash(token)
            feed.revoked_at = None
            feed.rotated_at = now
            feed.last_fetched_at = None
            feed.save(update_fields=["token_hash", "revoked_at", "rotated_at", "last_fetched_at"])
        audit_record(actor=actor, action=action, target=feed, detail={})
    return feed, token


def calendar_feed_revoke(*, actor: User, therapist: User | None = None) -> CalendarFeed | None:
    """Stop a feed: its address answers 404 from now on. None if there was no live feed.

    A therapist stops their own; the clinical director may stop anyone's (a lost phone, someone
    leaving) from the set-up pages.
    """
    therapist = therapist or actor
    if therapist.pk != actor.pk and not actor.is_director:
        raise AccessDenied("Only the clinical director can switch off another person's feed.")
    if therapist.pk == actor.pk:
        _check_actor(actor)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(therapist=therapist).first()
        if feed is None or not feed.active:
            return None
        feed.token_hash = None
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["token_hash", "revoked_at"])
        audit_record(
            actor=actor, action="calendar_feed.revoke", target=feed, detail={"therapist": therapist.pk}
        )
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed behind a token, or None (unknown, revoked, or its therapist no longer active)."""
    if not token or len(token) > _LONGEST_TOKEN:
        return None
    wanted = token_hash(token)
    feed = CalendarFeed.objects.select_related("therapist").filter(token_hash=wanted).first()
    # The lookup is by a keyed hash, so its timing says nothing useful about the token; the compare
    # in constant time makes that explicit.
    if feed is None or feed.token_hash is None or not hmac.compare_digest(feed.token_hash, wanted):
        return None
    if not feed.active or not can_have_feed(feed.therapist):
        return None
    return feed


def note_fetch(feed: CalendarFeed, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_NOTE_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)


# --- The iCalendar document -----------------------------------------------------------------------
def _transitions(zone: ZoneInfo, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """The UTC instants in [first, last) at which the zone's UTC offset changes."""
    found: list[dt.datetime] = []
    step = dt.timedelta(hours=12)
    moment = first
    while moment < last:
        after = moment + step
        if moment.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            lo, hi = moment, after
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(second=0, microsecond=0))
        moment = after
    return found


@lru_cache(maxsize=8)
def vtimezone(zone_key: str, first: dt.date, last: dt.date) -> icalendar.Timezone:
    """A VTIMEZONE for the zone between two dates, each onset written as RFC 5545 asks.

    An onset's DTSTART is the local wall time *before* the change (read with TZOFFSETFROM): in Europe
    the spring change is at 02:00 standard time, not 03:00. (icalendar's own generator writes the
    time after the change, which strict readers take to be an hour late.)
    """
    zone = ZoneInfo(zone_key)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(last, dt.time.min, tzinfo=dt.UTC)
    tz = icalendar.Timezone()
    tz.add("tzid", zone_key)
    initial = start.astimezone(zone)
    offset = initial.utcoffset() or dt.timedelta(0)
    onsets: dict[tuple[bool, dt.timedelta, dt.timedelta, str], list[dt.datetime]] = {}
    # The observance in force when the range begins, as if it began then.
    onsets[(initial.dst() == dt.timedelta(0), offset, offset, initial.tzname() or "")] = [
        initial.replace(tzinfo=None)
    ]
    for change in _transitions(zone, start, end):
        before = (change - dt.timedelta(seconds=1)).astimezone(zone).utcoffset() or dt.timedelta(0)
        after_local = change.astimezone(zone)
        after = after_local.utcoffset() or dt.timedelta(0)
        key = (after_local.dst() == dt.timedelta(0), before, after, after_local.tzname() or "")
        onsets.setdefault(key, []).append((change + before).replace(tzinfo=None))
    for (standard, offset_from, offset_to, name), starts in onsets.items():
        part: icalendar.Component = icalendar.TimezoneStandard() if standard else icalendar.TimezoneDaylight()
        part.add("dtstart", starts[0])
        if len(starts) > 1:
            part.add("rdate", starts[1:])
        part.add("tzoffsetfrom", offset_from)
        part.add("tzoffsetto", offset_to)
        if name:
            part.add("tzname", name)
        tz.add_component(part)
    return tz


def _uid(appointment_id: int) -> str:
    return f"appointment-{appointment_id}@{slugify(settings.PRACTICE_NAME) or 'tandem'}.tandem"


def feed_appointments(feed: CalendarFeed, *, now: dt.datetime) -> list[Appointment]:
    therapists = Prefetch("therapists", queryset=User.objects.order_by("last_name", "first_name"))
    return list(
        Appointment.objects.between(now - FEED_PAST, now + FEED_FUTURE)
        .filter(therapists=feed.therapist)
        .select_related("room__location")
        .prefetch_related(therapists)
        .annotate(sequence=Count("changes", distinct=True))
        .order_by("starts_at", "pk")
    )


def feed_ical(feed: CalendarFeed, *, now: dt.datetime | None = None) -> bytes:
    """The feed's iCalendar document: one VEVENT per appointment of the therapist in the window."""
    now = now or timezone.now()
    zone = practice_zone()
    appointments = feed_appointments(feed, now=now)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Tandem//Therapist calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{settings.PRACTICE_NAME}: my appointments")
    cal.add("x-wr-timezone", zone.key)
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    first_day = (now - FEED_PAST - dt.timedelta(days=1)).date()
    last_day = (now + FEED_FUTURE + dt.timedelta(days=2)).date()
    cal.add_component(vtimezone(zone.key, first_day.replace(day=1), last_day))
    for appointment in appointments:
        cal.add_component(_event(appointment, zone=zone, now=now))
    return cal.to_ical()


def _event(appointment: Any, *, zone: ZoneInfo, now: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", _uid(appointment.pk))
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("sequence", appointment.sequence)
    event.add("summary", appointment.get_kind_display())
    room = appointment.room
    event.add("location", f"{room.name}, {room.location.name}" if room else appointment.get_mode_display())
    names = " & ".join(str(t) for t in appointment.therapists.all())
    event.add("description", f"{appointment.get_mode_display()} with {names}.")
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    return event
