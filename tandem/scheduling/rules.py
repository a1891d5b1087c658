"""The booking's rules: what may be booked at all, read before anything is written.

Working hours, closures, time off, appointment types and the practice's team rule, plus the local-time
arithmetic they share. The booking services check these inside their transaction; the availability
search uses the same functions, so an option it offers is one the booking accepts.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Collection, Sequence

from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, Gender, User, WorkingHours
from tandem.cases.models import OPEN_PHASES, Case, Client
from tandem.lib.time import practice_zone
from tandem.practice.models import PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling.errors import BookingInvalid
from tandem.scheduling.models import (
    INDIVIDUAL_KINDS,
    LONGEST_APPOINTMENT,
    AppointmentKind,
    AppointmentType,
    Mode,
    TimeOff,
)

# The most appointments one series call may write (two a week for a year).
MAX_SERIES = 104
MAX_SERIES_SPAN = dt.timedelta(days=366)
MAX_INTENSIVE_DAYS = 31
# A client booking a free consultation online must leave the practice this much time to prepare.
CONSULTATION_NOTICE = dt.timedelta(hours=2)

Period = tuple[dt.datetime, dt.datetime]


# --- Checks ---------------------------------------------------------------------------------------
def check_case_open(case: Case) -> None:
    if case.phase not in OPEN_PHASES:
        raise BookingInvalid(f"Case {case.reference} is closed: it cannot be booked.")


def check_period(starts_at: dt.datetime, ends_at: dt.datetime, *, now: dt.datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise BookingInvalid("Give the start and end with their UTC offset.")
    if ends_at <= starts_at:
        raise BookingInvalid("An appointment must end after it starts.")
    if ends_at - starts_at > LONGEST_APPOINTMENT:
        raise BookingInvalid("An appointment cannot last longer than 12 hours.")
    if starts_at < now:
        raise BookingInvalid("An appointment cannot start in the past.")


def check_kind_mode(kind: str, mode: str) -> None:
    if kind not in AppointmentKind.values:
        raise BookingInvalid(f"Unknown appointment type {kind!r}.")
    if mode not in Mode.values:
        raise BookingInvalid(f"Unknown mode {mode!r}: use in_person, phone or video.")


def check_room(mode: str, room: Room | None) -> None:
    if mode == Mode.IN_PERSON and room is None:
        raise BookingInvalid("An in-person appointment needs a room.")
    if mode != Mode.IN_PERSON and room is not None:
        raise BookingInvalid("A phone or video appointment takes no room.")
    if room is not None and not room.active:
        raise BookingInvalid(f"{room.name} is no longer in use.")


def check_therapists(case: Case, therapists: Sequence[User]) -> list[User]:
    unique = list({t.pk: t for t in therapists}.values())
    if not unique:
        raise BookingInvalid("Choose at least one therapist.")
    if len(unique) > 2:
        raise BookingInvalid("An appointment has one or two therapists.")
    for therapist in unique:
        if not therapist.is_active or therapist.role not in CLINICAL_ROLES:
            raise BookingInvalid(f"{therapist} is not an active therapist.")
    # A case's sessions are held by its own clinicians; a consultation before assignment by anyone.
    assigned = {user.pk for user in case.clinicians}
    for therapist in unique:
        if assigned and therapist.pk not in assigned:
            raise BookingInvalid(f"{therapist} is not assigned to this case: change the assignment first.")
    return unique


def check_attendees(case: Case, kind: str, clients: Sequence[Client] | None) -> list[Client]:
    """Who attends an appointment of this kind: all of the case's clients for a joint kind, exactly one
    partner for an individual kind (the only client of an individual case needs no choosing)."""
    partners = case.partners
    partner_ids = {c.pk for c in partners}
    unique = list({c.pk: c for c in clients}.values()) if clients is not None else None
    if unique is not None and any(c.pk not in partner_ids for c in unique):
        raise BookingInvalid("Only the partners in this case can attend its appointments.")
    label = AppointmentKind(kind).label.lower() if kind in AppointmentKind.values else kind
    if kind not in INDIVIDUAL_KINDS:
        if unique is not None and len(unique) != len(partners):
            raise BookingInvalid(
                f"A {label} is attended by both partners: book an individual kind for one partner alone."
            )
        return partners
    if unique is None and len(partners) == 1:
        return partners
    if not unique or len(unique) != 1:
        raise BookingInvalid(f"Choose which partner attends this {label}: exactly one.")
    return unique


def team_rule_problem(members: Sequence[User], policy: PracticePolicy | None = None) -> str | None:
    """Why these therapists may not hold an intensive (or form a team) under the practice's team rule,
    naming the rule and the people; None when they may. The one place the rule is decided: team
    forming, every booking of intensive sessions, the availability search and the planner's booking
    all ask here."""
    policy = policy or PracticePolicy.current()
    rule = f"The practice's team rule ({TeamRule(policy.team_rule).label.lower()})"
    if len(members) == 1:
        if policy.team_rule != TeamRule.SINGLE_ALLOWED:
            return f"{rule} needs two therapists: {members[0]} alone cannot hold an intensive."
        return None
    if len(members) != 2 or members[0].pk == members[1].pk:
        return f"{rule} needs two different therapists."
    if policy.team_rule == TeamRule.MIXED_GENDER:
        genders = {_gender(member) for member in members}
        if genders != {Gender.FEMALE, Gender.MALE}:
            return f"{rule}: {members[0]} and {members[1]} are not one female and one male therapist."
    return None


def check_team_rule(members: Sequence[User], policy: PracticePolicy | None = None) -> None:
    """Raise BookingInvalid unless these therapists may work as a team under the practice's rule."""
    problem = team_rule_problem(members, policy)
    if problem is not None:
        raise BookingInvalid(problem)


def _gender(user: User) -> str:
    profile = getattr(user, "therapist_profile", None)
    return profile.gender if profile is not None else ""


def closures_between(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    return dict(PracticeClosure.objects.filter(date__range=(first, last)).values_list("date", "reason"))


def check_no_self_overlap(periods: list[Period]) -> None:
    ordered = sorted(periods)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        if start < end:
            raise BookingInvalid("The appointments asked for overlap each other.")


def require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise BookingInvalid("Give a reason.")
    return reason


def check_type(kind: str, mode: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """The clinic's settings for the kind: modes it may be held in, and its longest length."""
    kind_type = AppointmentType.for_kind(kind)
    if mode not in kind_type.modes:
        allowed = " or ".join(Mode(m).label.lower() for m in kind_type.modes) or "no mode"
        raise BookingInvalid(f"A {kind_type.get_kind_display().lower()} is held {allowed}.")
    longest = _longest_minutes(kind_type)
    if ends_at - starts_at > dt.timedelta(minutes=longest):
        raise BookingInvalid(f"A {kind_type.get_kind_display().lower()} lasts at most {longest} minutes.")


def _longest_minutes(kind_type: AppointmentType) -> int:
    if kind_type.kind == AppointmentKind.INTENSIVE:
        return min(kind_type.max_minutes, PracticePolicy.current().intensive_minutes)
    return kind_type.max_minutes


def default_minutes(kind: str) -> int:
    """How long an appointment of this kind lasts when no end is given."""
    kind_type = AppointmentType.for_kind(kind)
    return min(kind_type.default_minutes, _longest_minutes(kind_type))


def end_or_default(kind: str, starts_at: dt.datetime, ends_at: dt.datetime | None) -> dt.datetime:
    if ends_at is not None:
        return ends_at
    if kind not in AppointmentKind.values:
        raise BookingInvalid(f"Unknown appointment type {kind!r}.")
    return starts_at + dt.timedelta(minutes=default_minutes(kind))


def _long_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


Blocks = dict[tuple[int, int], list[tuple[dt.time, dt.time, int]]]


def working_blocks(user_ids: Sequence[int]) -> Blocks:
    """(user id, weekday) → working blocks (local start, local end, location id), earliest first."""
    blocks: Blocks = defaultdict(list)
    rows = WorkingHours.objects.filter(therapist__user_id__in=list(user_ids)).values_list(
        "therapist__user_id", "weekday", "starts", "ends", "location_id"
    )
    for user_id, weekday, starts, ends, location_id in sorted(rows):
        blocks[(user_id, weekday)].append((starts, ends, location_id))
    return blocks


def check_rules(therapists: Sequence[User], periods: Sequence[Period], *, room: Room | None = None) -> None:
    """Raise BookingInvalid unless every therapist works (and is not away) for every period, and the
    practice is open on each day. Three queries whatever the number of periods.

    Working hours are wall-clock times on the practice's local day; a period must fit inside one block
    of the therapist's hours (at the room's location when there is a room).
    """
    if not periods:
        return
    zone = practice_zone()
    ordered = sorted(periods)
    first = timezone.localdate(ordered[0][0], zone)
    last = timezone.localdate(ordered[-1][1], zone)
    closed = closures_between(first, last)
    for start, _ in ordered:
        day = timezone.localdate(start, zone)
        if day in closed:
            raise BookingInvalid(f"The practice is closed on {day_text(day)} ({closed[day]}).")
    ids = [t.pk for t in therapists]
    blocks = working_blocks(ids)
    away: dict[int, list[Period]] = {}
    for user_id, off_start, off_end in TimeOff.objects.filter(
        therapist_id__in=ids, starts_at__lt=ordered[-1][1], ends_at__gt=ordered[0][0]
    ).values_list("therapist_id", "starts_at", "ends_at"):
        away.setdefault(user_id, []).append((off_start, off_end))
    for start, end in ordered:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        day = local_start.date()
        for therapist in therapists:
            fitting = [
                location
                for begin, finish, location in blocks.get((therapist.pk, day.weekday()), [])
                if local_end.date() == day and begin <= local_start.time() and local_end.time() <= finish
            ]
            if not fitting or (room is not None and room.location_id not in fitting):
                # Working then, but elsewhere: name the room's location, so the mismatch is plain.
                where = f" at {room.location}" if fitting and room is not None else ""
                raise BookingInvalid(
                    f"{therapist} does not work{where} on {_long_day(day)} at {local_start:%H:%M}."
                )
            for off_start, off_end in away.get(therapist.pk, []):
                if off_start < end and start < off_end:
                    raise BookingInvalid(f"{therapist} is on leave on {period_text(off_start, off_end)}.")


# --- Local time -----------------------------------------------------------------------------------
def local_start(day: dt.date, at: dt.time) -> dt.datetime:
    """The instant `at` o'clock on local `day` in the practice zone, as UTC (DST-correct)."""
    zone = practice_zone()
    wall = dt.datetime.combine(day, at, tzinfo=zone)
    instant = wall.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise BookingInvalid(f"{at:%H:%M} does not exist on {day_text(day)} (the clocks go forward).")
    return instant


def day_text(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%B %Y}"


def period_text(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    zone = practice_zone()
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    year = f" {start.year}" if start.year != timezone.localdate(timezone.now(), zone).year else ""
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%B} {end:%H:%M}"
    return f"{start:%a} {start.day} {start:%B}{year} {start:%H:%M}–{end_text}"  # noqa: RUF001


def clinic_days(
    first_day: dt.date, count: int, *, weekdays_only: bool, closed: Collection[dt.date] | None = None
) -> list[dt.date]:
    """`count` consecutive clinic days from `first_day`: closures (and weekends, if so) are skipped.

    `closed` spares the query when the caller has loaded the closures already (availability search).
    """
    if closed is None:
        closed = set(closures_between(first_day, first_day + dt.timedelta(days=count * 3 + 60)))
    days: list[dt.date] = []
    day = first_day
    while len(days) < count:
        if is_clinic_day(day, weekdays_only=weekdays_only, closed=closed):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def is_clinic_day(day: dt.date, *, weekdays_only: bool, closed: Collection[dt.date]) -> bool:
    """Whether the practice holds intensive days on `day`: not a closure, nor (if so) a weekend."""
    return day not in closed and not (weekdays_only and day.weekday() >= 5)


def series_dates(
    first_day: dt.date,
    last: dt.date,
    weekdays: Collection[int],
    closed: Collection[dt.date],
    *,
    count: int | None = None,
) -> list[dt.date]:
    """The session days of a weekly series: the chosen weekdays from `first_day` to `last`, closures
    skipped, at most `count` of them."""
    days: list[dt.date] = []
    day = first_day
    while day <= last and (count is None or len(days) < count):
        if day.weekday() in weekdays and day not in closed:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def consultation_offered_by(therapist: User) -> bool:
    profile = getattr(therapist, "therapist_profile", None)
    return (
        therapist.is_active
        and therapist.role in CLINICAL_ROLES
        and profile is not None
        and profile.offers_consultation
    )


def consultation_slot_aligned(therapist: User, starts_at: dt.datetime, minutes: int) -> bool:
    """Whether `starts_at` is where consultation_slots puts a slot: a whole number of slot lengths from
    the start of one of the therapist's working blocks that day (so bookings stay back to back)."""
    local = starts_at.astimezone(practice_zone())
    wall = local.hour * 60 + local.minute
    if local.second or local.microsecond:
        return False
    for starts in WorkingHours.objects.filter(therapist__user=therapist, weekday=local.weekday()).values_list(
        "starts", flat=True
    ):
        offset = wall - (starts.hour * 60 + starts.minute)
        if offset >= 0 and offset % minutes == 0:
            return True
    return False


def series_days(
    first_day: dt.date, weekdays: Sequence[int], *, until: dt.date | None, count: int | None
) -> list[dt.date]:
    chosen = set(weekdays)
    if not 1 <= len(chosen) <= 2 or not chosen <= set(range(7)):
        raise BookingInvalid("Choose one or two weekdays (0 = Monday … 6 = Sunday).")
    if (until is None) == (count is None):
        raise BookingInvalid("Give either a last day or a number of sessions.")
    if count is not None and not 1 <= count <= MAX_SERIES:
        raise BookingInvalid(f"A series has between 1 and {MAX_SERIES} sessions.")
    last = until if until is not None else first_day + MAX_SERIES_SPAN
    if last < first_day or last - first_day > MAX_SERIES_SPAN:
        raise BookingInvalid("A series ends on or after its first day, and within a year.")
    days = series_dates(first_day, last, chosen, closures_between(first_day, last), count=count)
    if not days:
        raise BookingInvalid("No clinic day falls within that series.")
    if count is not None and len(days) < count:
        raise BookingInvalid(f"Only {len(days)} sessions fit within a year.")
    return days
