"""Reads for the calendar pages: one local day or one Monday-to-Sunday week, in the practice zone.

A day is local midnight to local midnight, so the two days a year on which the clocks change last 23
and 25 hours. Everything a page shows is gathered in a fixed handful of queries (appointments with
their therapists, the cases the viewer may open, working hours, time off, closures), however many
appointments, therapists or rooms there are; the page then only reads plain values.

Who sees what: every member of staff may see every calendar (booking needs it). The case reference
(and the link to the case) is shown only where the viewer may open that case at all; anywhere else an
appointment reads "Busy" with its type, times, room and therapists. Cancelled appointments are left
out: they hold no time, and their history lives on the case.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from tandem.access.services import deny, openable_and_assigned
from tandem.accounts.models import CLINICAL_ROLES, User, WorkingHours
from tandem.lib import parse
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.rows import by_pk
from tandem.lib.time import local_day_bounds, local_today, practice_zone
from tandem.practice.models import PracticeClosure, Room
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentQuerySet,
    AppointmentStatus,
    Mode,
    ResourceKind,
    TimeOff,
    earliest_start,
)

SPANS = ("day", "week")
# The whole practice's day and week show this many therapists per page. A group practice of forty books
# about 260 sessions a day and 1,400 a week: on one page that is 130 KB or 750 KB nobody reads, and its
# cost would grow with every therapist hired. Practice-management calendars commonly show one staff
# member's week, and several only side by side in a day; five keeps a page readable and its cost fixed,
# and the same five on the day and the week keep a page's people when switching between them. Today
# gives the director and the front desk the practice's next sessions across everyone.
GROUP_SIZE = 5


# Not frozen, with slots: a practice week makes over a thousand, and a frozen dataclass sets each of its
# twenty fields through object.__setattr__.
@dataclass(slots=True)
class Entry:
    """One appointment as one day shows it: only plain values, nothing left to query."""

    pk: int
    start: dt.datetime
    end: dt.datetime
    start_label: str
    end_label: str
    kind: str
    kind_label: str
    mode: str
    mode_label: str
    room_label: str
    therapists: tuple[str, ...]
    case_id: int | None
    case_reference: str | None
    status: str = AppointmentStatus.BOOKED
    status_label: str = ""
    # Started, not cancelled, and the viewer may say whether it took place (see services).
    can_record: bool = False
    # Filled from the page's pre-reversed patterns (see Links); empty where nothing links.
    case_url: str = ""
    attendance_url: str = ""
    video_url: str = ""
    therapists_label: str = ""

    @property
    def busy(self) -> bool:
        return self.case_reference is None

    @property
    def recorded(self) -> bool:
        return self.status in (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)


@dataclass(frozen=True)
class Links:
    """How the page turns ids into addresses: each pattern reversed once per page, not per entry (a
    practice week holds hundreds of entries)."""

    case: Callable[[int], str]
    attendance: Callable[[int], str]
    # The video app's session page, named by URL so that scheduling does not import video (a layer up).
    video: Callable[[int], str] | None = None


@dataclass(frozen=True)
class Block:
    """Working hours or time off on one day, with the person's name where the page shows several."""

    who: str
    start_label: str
    end_label: str
    start: dt.datetime
    end: dt.datetime
    where: str = ""
    all_day: bool = False


@dataclass
class Day:
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    is_today: bool
    closure: str | None = None
    working: list[Block] = field(default_factory=list)
    away: list[Block] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def hours(self) -> int:
        return round((self.ends_at - self.starts_at).total_seconds() / 3600)

    @property
    def iso(self) -> str:
        return self.date.isoformat()

    @property
    def heading(self) -> str:
        return f"{self.date:%A} {self.date.day} {self.date:%B}"


class TherapistGroup(NamedTuple):
    """One page of the whole practice's calendar: up to GROUP_SIZE therapists, (id, name) in name order."""

    number: int
    members: tuple[tuple[int, str], ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(pk for pk, _ in self.members)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.members)

    @property
    def label(self) -> str:
        first, last = self.members[0][1], self.members[-1][1]
        return first if len(self.members) == 1 else f"{first} – {last}"  # noqa: RUF001 -- a range of names


@dataclass
class Calendar:
    scope: str
    span: str
    anchor: dt.date
    days: list[Day]
    therapist: User | None = None
    room: Room | None = None
    # The whole practice's calendar only: every page of therapists, and the one shown.
    groups: list[TherapistGroup] = field(default_factory=list)
    group: TherapistGroup | None = None

    @property
    def first(self) -> dt.date:
        return self.days[0].date

    @property
    def last(self) -> dt.date:
        return self.days[-1].date

    @property
    def previous(self) -> dt.date:
        return self.anchor - dt.timedelta(days=1 if self.span == "day" else 7)

    @property
    def next(self) -> dt.date:
        return self.anchor + dt.timedelta(days=1 if self.span == "day" else 7)

    @property
    def count(self) -> int:
        return sum(len(day.entries) for day in self.days)

    @property
    def group_query(self) -> str:
        """`&group=N` for the links that keep the page of therapists; nothing when one page holds all."""
        return f"&group={self.group.number}" if self.group is not None and len(self.groups) > 1 else ""


# --- Who may look ---------------------------------------------------------------------------------
def check_viewer(user: Any) -> None:
    """Calendars are for practice staff; anyone else gets the 404 (audited)."""
    if not getattr(user, "is_practice_staff", False):
        raise deny(user, what="calendar", object_id="")


def calendar_therapists() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=CLINICAL_ROLES).order_by("last_name", "first_name")


# Every read of a calendar page is compiled once per worker (lib/remembered_queries.py): the practice's
# week spent a sixth of its time building and compiling its nine queries.


@remembered_query
def _therapists() -> QuerySet[User]:
    return calendar_therapists().only("username", "first_name", "last_name")


def therapist_choices() -> list[tuple[int, str]]:
    """Every therapist whose calendar may be shown, as (id, name) in name order."""
    return [(user.pk, str(user)) for user in _therapists.rows()]


def therapist_groups() -> list[TherapistGroup]:
    pairs = therapist_choices()
    return [
        TherapistGroup(number=start // GROUP_SIZE + 1, members=tuple(pairs[start : start + GROUP_SIZE]))
        for start in range(0, len(pairs), GROUP_SIZE)
    ]


def _group(groups: list[TherapistGroup], number: int) -> TherapistGroup | None:
    """The page asked for; the first when the number is not one of them."""
    if not groups:
        return None
    return groups[number - 1] if 1 <= number <= len(groups) else groups[0]


def calendar_rooms() -> QuerySet[Room]:
    return Room.objects.select_related("location").filter(active=True)


@remembered_query
def _rooms() -> QuerySet[Room]:
    return calendar_rooms()


def room_choices() -> list[Room]:
    """The rooms whose calendar may be shown, with their locations."""
    return _rooms.rows()


def therapist_for_calendar(user: Any, therapist_id: Any) -> User:
    check_viewer(user)
    therapist = by_pk(calendar_therapists(), therapist_id)
    if therapist is None:
        raise deny(user, what="calendar.therapist", object_id=therapist_id)
    return therapist


def room_for_calendar(user: Any, room_id: Any) -> Room:
    check_viewer(user)
    room = by_pk(Room.objects.select_related("location"), room_id)
    if room is None:
        raise deny(user, what="calendar.room", object_id=room_id)
    return room


# --- Dates ----------------------------------------------------------------------------------------
def parse_day(value: str | None) -> dt.date:
    """The day asked for (YYYY-MM-DD), or today in the practice zone when absent, unreadable or
    outside the days the application handles (the week around year 9999 does not exist)."""
    return parse.parse_day(value) or local_today()


def parse_span(value: str | None, default: str = "week") -> str:
    return value if value in SPANS else default


def span_days(anchor: dt.date, span: str) -> list[dt.date]:
    if span == "day":
        return [anchor]
    monday = anchor - dt.timedelta(days=anchor.weekday())
    return [monday + dt.timedelta(days=n) for n in range(7)]


# --- Building -------------------------------------------------------------------------------------
def _hhmm(moment: dt.datetime, day: dt.date) -> str:
    # An appointment running over midnight shows the other day's date next to its time.
    if moment.date() == day:
        return f"{moment.hour:02d}:{moment.minute:02d}"
    return f"{moment:%a} {moment.day} {moment:%b} {moment:%H:%M}"


class _Row(NamedTuple):
    """One appointment as the calendar reads it: values, not model instances (a practice week has over
    a thousand, and building an Appointment, its case, room and therapists for each cost more than the
    query)."""

    pk: int
    case_id: int | None
    reference: str | None
    kind: str
    mode: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    room: str | None
    location: str | None
    # The holding therapists in their own order (last name, first name): ids and names.
    therapist_ids: tuple[int, ...] = ()
    therapist_names: tuple[str, ...] = ()


# Only what the page shows: the case's clinical text never leaves the database here.
_ROW_FIELDS = (
    "pk", "case_id", "case__reference", "kind", "mode", "starts_at", "ends_at", "status",
    "room__name", "room__location__name",
)  # fmt: skip


def _listed(rows: AppointmentQuerySet) -> QuerySet[Appointment, tuple[Any, ...]]:
    return (
        rows.exclude(status=AppointmentStatus.CANCELLED).order_by("starts_at", "pk").values_list(*_ROW_FIELDS)
    )


@remembered_query
def _held_rows(
    *, kind: str, ids: Ids, start: dt.datetime, end: dt.datetime, earliest: dt.datetime
) -> QuerySet[Appointment, tuple[Any, ...]]:
    # A therapist's or a room's sessions by their occupancy alone (AppointmentQuerySet.held_by says why).
    return _listed(Appointment.objects.held_by(kind, ids, start, end, earliest=earliest))


@remembered_query
def _all_rows(
    *, start: dt.datetime, end: dt.datetime, earliest: dt.datetime
) -> QuerySet[Appointment, tuple[Any, ...]]:
    return _listed(Appointment.objects.between(start, end, earliest=earliest))


@remembered_query
def _holders(*, appointment_ids: Ids) -> QuerySet[Any, tuple[int, int]]:
    through = Appointment.therapists.through.objects.filter(appointment_id__any_of=appointment_ids)
    return through.order_by().values_list("appointment_id", "user_id")


@remembered_query
def _people(*, user_ids: Ids) -> QuerySet[User]:
    # In the therapists' own order (last name, first name), named as their str() does.
    people = User.objects.filter(pk__any_of=user_ids).order_by("last_name", "first_name", "pk")
    return people.only("username", "first_name", "last_name")


def _appointments(
    first: dt.datetime, last: dt.datetime, *, therapist_ids: Collection[int] | None, room: Room | None
) -> list[_Row]:
    """The span's appointments in time order, with the therapists holding them: all of them, or
    those held by any of `therapist_ids`, or those in `room`."""
    span = {"start": first, "end": last, "earliest": earliest_start(first)}
    if room is not None:
        found = _held_rows.rows(kind=ResourceKind.ROOM, ids=Ids([room.pk]), **span)
    elif therapist_ids is not None:
        found = _held_rows.rows(kind=ResourceKind.THERAPIST, ids=Ids(therapist_ids), **span)
    else:
        found = _all_rows.rows(**span)
    held: dict[int, list[int]] = defaultdict(list)
    for appointment_id, user_id in _holders.rows(appointment_ids=Ids(row[0] for row in found)):
        held[appointment_id].append(user_id)
    people = _people.rows(user_ids=Ids({pk for ids in held.values() for pk in ids}))
    names = {user.pk: str(user) for user in people}
    order = {pk: n for n, pk in enumerate(names)}
    rows_out = []
    for row in found:
        ids = tuple(sorted(held[row[0]], key=order.__getitem__))
        rows_out.append(_Row._make((*row, ids, tuple(names[pk] for pk in ids))))
    return rows_out


KIND_LABELS = dict(AppointmentKind.choices)
MODE_LABELS = dict(Mode.choices)
STATUS_LABELS = dict(AppointmentStatus.choices)


def _entry(
    row: _Row,
    day: dt.date,
    visible: set[int],
    *,
    viewer: Any = None,
    editable: Collection[int] = (),
    now: dt.datetime | None = None,
    links: Links | None = None,
) -> Entry:
    zone = practice_zone()
    start, end = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
    shown = row.case_id in visible
    people = row.therapist_names
    # The same rule as can_record_attendance, read from values already loaded.
    can_record = (
        shown
        and now is not None
        and row.starts_at <= now
        and (row.case_id in editable or getattr(viewer, "pk", None) in row.therapist_ids)
    )
    return Entry(
        pk=row.pk,
        start=start,
        end=end,
        start_label=_hhmm(start, day),
        end_label=_hhmm(end, day),
        kind=row.kind,
        kind_label=KIND_LABELS.get(row.kind, row.kind),
        mode=row.mode,
        mode_label=MODE_LABELS.get(row.mode, row.mode),
        room_label=f"{row.room}, {row.location}" if row.room is not None else "",
        therapists=people,
        therapists_label=" & ".join(people),
        case_id=row.case_id if shown else None,
        case_reference=(row.reference or "") if shown else None,
        status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status),
        can_record=can_record,
        case_url=links.case(row.case_id) if links and shown and row.case_id else "",
        attendance_url=links.attendance(row.pk) if links and can_record else "",
        video_url=_video_url(row, links, shown),
    )


def _video_url(row: _Row, links: Links | None, shown: bool) -> str:
    if not (links and links.video and shown) or row.mode != Mode.VIDEO:
        return ""
    return links.video(row.pk) if row.status == AppointmentStatus.BOOKED else ""


class _Hours(NamedTuple):
    starts: dt.time
    ends: dt.time
    who: str
    where: str


def _hours_table(rows: QuerySet[WorkingHours]) -> QuerySet[WorkingHours, tuple[Any, ...]]:
    return rows.order_by("weekday", "starts", "therapist__user__last_name").values_list(
        "weekday", "starts", "ends", "therapist__user__first_name", "therapist__user__last_name",
        "therapist__user__username", "location__name",
    )  # fmt: skip


@remembered_query
def _hours_of(*, therapist_ids: Ids) -> QuerySet[WorkingHours, tuple[Any, ...]]:
    rows = WorkingHours.objects.filter(therapist__user__is_active=True)
    return _hours_table(rows.filter(therapist__user_id__any_of=therapist_ids))


@remembered_query
def _hours_of_all() -> QuerySet[WorkingHours, tuple[Any, ...]]:
    return _hours_table(WorkingHours.objects.filter(therapist__user__is_active=True))


def _working(therapist_ids: Collection[int] | None) -> dict[int, list[_Hours]]:
    """Working hours by weekday, as values: the whole practice has a few hundred rows a week. Only
    these therapists', where the calendar shows only theirs."""
    if therapist_ids is None:
        found = _hours_of_all.rows()
    else:
        found = _hours_of.rows(therapist_ids=Ids(therapist_ids))
    by_weekday: dict[int, list[_Hours]] = defaultdict(list)
    for weekday, starts, ends, first, last, username, where in found:
        # Named as User.__str__ names them (full name, else the username).
        who = f"{first} {last}".strip() or username
        by_weekday[weekday].append(_Hours(starts, ends, who, where))
    return by_weekday


def _work_block(row: _Hours, day: dt.date) -> Block:
    zone = practice_zone()
    return Block(
        who=row.who,
        start_label=f"{row.starts:%H:%M}",
        end_label=f"{row.ends:%H:%M}",
        start=dt.datetime.combine(day, row.starts, tzinfo=zone),
        end=dt.datetime.combine(day, row.ends, tzinfo=zone),
        where=row.where,
    )


def _away_table(rows: QuerySet[TimeOff]) -> QuerySet[TimeOff]:
    # The reason is private to the therapist and the director's set-up: never read here.
    fields = ("starts_at", "ends_at", "therapist__first_name", "therapist__last_name")
    return rows.select_related("therapist").only(*fields).order_by("starts_at", "pk")


@remembered_query
def _away_of(*, first: dt.datetime, last: dt.datetime, therapist_ids: Ids) -> QuerySet[TimeOff]:
    rows = TimeOff.objects.filter(starts_at__lt=last, ends_at__gt=first, therapist_id__any_of=therapist_ids)
    return _away_table(rows)


@remembered_query
def _away_of_all(*, first: dt.datetime, last: dt.datetime) -> QuerySet[TimeOff]:
    return _away_table(TimeOff.objects.filter(starts_at__lt=last, ends_at__gt=first))


def _time_off(first: dt.datetime, last: dt.datetime, therapist_ids: Collection[int] | None) -> list[TimeOff]:
    if therapist_ids is None:
        return _away_of_all.rows(first=first, last=last)
    return _away_of.rows(first=first, last=last, therapist_ids=Ids(therapist_ids))


@remembered_query
def _closures(*, first: dt.date, last: dt.date) -> QuerySet[PracticeClosure, tuple[dt.date, str]]:
    return PracticeClosure.objects.filter(date__range=(first, last)).order_by().values_list("date", "reason")


def _away_block(row: TimeOff, day: Day) -> Block:
    zone = practice_zone()
    start, end = max(row.starts_at, day.starts_at), min(row.ends_at, day.ends_at)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return Block(
        who=str(row.therapist),
        start_label=f"{local_start:%H:%M}",
        end_label="24:00" if end == day.ends_at else f"{local_end:%H:%M}",
        start=local_start,
        end=local_end,
        all_day=start == day.starts_at and end == day.ends_at,
    )


def calendar_build(
    *,
    viewer: Any,
    anchor: dt.date,
    span: str,
    therapist: User | None = None,
    room: Room | None = None,
    links: Links | None = None,
    group: int = 1,
) -> Calendar:
    """The calendar of the whole practice, one therapist or one room for the day or week of `anchor`;
    `links` gives each entry its addresses (the pages pass it, other readers need none). The whole
    practice's day and week show one `group` of therapists (see GROUP_SIZE)."""
    check_viewer(viewer)
    span = parse_span(span)
    groups = therapist_groups() if therapist is None and room is None else []
    chosen = _group(groups, group)
    therapist_ids = (therapist.pk,) if therapist is not None else chosen.ids if chosen is not None else None
    today = local_today()
    days: list[Day] = []
    for date in span_days(anchor, span):
        start, end = local_day_bounds(date)
        # In UTC: two aware datetimes sharing one tzinfo compare and subtract as wall-clock times.
        days.append(Day(date, start.astimezone(dt.UTC), end.astimezone(dt.UTC), is_today=date == today))
    first, last = days[0].starts_at, days[-1].ends_at

    appointments = _appointments(first, last, therapist_ids=therapist_ids, room=room)
    case_ids = {a.case_id for a in appointments if a.case_id is not None}
    visible, editable = openable_and_assigned(viewer, case_ids)
    now = timezone.now()
    closures = dict(_closures.rows(first=days[0].date, last=days[-1].date))
    # The same therapists as the sessions: one, or a page of the practice's.
    working = _working(therapist_ids) if room is None else {}
    away = _time_off(first, last, therapist_ids) if room is None else []

    scope = "therapist" if therapist is not None else "room" if room is not None else "practice"
    # The whole practice's week is for reading (a large practice books over a thousand sessions in it):
    # attendance is recorded from a day, or from one therapist's or room's calendar, so its week prints
    # no attendance forms and half the markup.
    recording = now if span == "day" or scope != "practice" else None
    for day in days:
        day.closure = closures.get(day.date)
        day.working = [_work_block(row, day.date) for row in working.get(day.date.weekday(), [])]
        day.away = [
            _away_block(row, day)
            for row in away
            if row.starts_at < day.ends_at and row.ends_at > day.starts_at
        ]
        day.entries = [
            _entry(a, day.date, visible, viewer=viewer, editable=editable, now=recording, links=links)
            for a in appointments
            if a.starts_at < day.ends_at and a.ends_at > day.starts_at
        ]
    return Calendar(
        scope=scope,
        span=span,
        anchor=anchor,
        days=days,
        therapist=therapist,
        room=room,
        groups=groups,
        group=chosen,
    )
