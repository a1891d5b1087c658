"""Booking, moving and cancelling appointments: the only code that writes appointments and occupancy.

Each action is one transaction holding the rules (`scheduling.rules`), the overlap check and the
occupancy rows (`scheduling.occupancy`: one per therapist, room and client for the half-open period)
and the audit event. The errors and the rules other apps use are re-exported here, so callers keep
importing them from `tandem.scheduling.services`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.access.calendar import can_record_attendance
from tandem.access.services import AccessDenied, can_book_free_consultation, can_edit_case
from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.audit.actors import SystemActor
from tandem.audit.services import audit_record
from tandem.billing.later import billing_charges_later
from tandem.cases.models import Case, Client
from tandem.lib.later import case_changed_later
from tandem.measures.later import measures_schedule_later
from tandem.practice.models import PracticePolicy, Room
from tandem.scheduling.errors import BookingConflict, BookingError, BookingInvalid
from tandem.scheduling.models import (
    INDIVIDUAL_KINDS,
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    AppointmentType,
    CancellationBatch,
    ChangeKind,
    Mode,
    Occupancy,
    ResourceKind,
    SeriesKind,
)
from tandem.scheduling.occupancy import Claim, claim_people, find_clash, guarded, occupy, write_appointments
from tandem.scheduling.rules import (
    CONSULTATION_NOTICE,
    MAX_INTENSIVE_DAYS,
    MAX_SERIES,
    MAX_SERIES_SPAN,
    Period,
    check_attendees,
    check_case_open,
    check_kind_mode,
    check_no_self_overlap,
    check_period,
    check_room,
    check_rules,
    check_team_rule,
    check_therapists,
    check_type,
    clinic_days,
    consultation_offered_by,
    consultation_slot_aligned,
    day_text,
    default_minutes,
    end_or_default,
    local_start,
    period_text,
    require_reason,
    series_days,
)
from tandem.scheduling.selectors import future_bookings

__all__ = [
    "CONSULTATION_NOTICE",
    "MAX_INTENSIVE_DAYS",
    "MAX_SERIES",
    "MAX_SERIES_SPAN",
    "UNCHANGED",
    "BookingConflict",
    "BookingError",
    "BookingInvalid",
    "BookingsToCancel",
    "appointment_book",
    "appointment_cancel",
    "appointment_move",
    "appointment_record_attendance",
    "appointment_set_attendee",
    "appointments_cancel_with_care",
    "check_rules",
    "check_team_rule",
    "clinic_days",
    "consultation_book",
    "consultation_cancel",
    "consultation_offered_by",
    "consultation_slot_aligned",
    "default_minutes",
    "find_clash",
    "intensive_book",
    "local_start",
    "series_book",
    "team_form",
]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


# --- Who may book, and writing -------------------------------------------------------------------
def _check_actor(actor: Any, case: Case) -> None:
    if not getattr(actor, "is_practice_staff", False) or not can_edit_case(actor, case):
        raise AccessDenied("You cannot book appointments for this case.")


def _write(
    claim: Claim,
    *,
    case: Case,
    kind: str,
    mode: str,
    room: Room | None,
    therapists: Sequence[User],
    attendees: Sequence[Client],
    series: AppointmentSeries | None = None,
) -> list[Appointment]:
    """Write the appointments, who attends and their occupancy (only the attendees are held), and have
    the measurement schedule follow them."""
    claim_people(claim, therapists, room, attendees)
    appointments = write_appointments(
        claim,
        case=case,
        kind=kind,
        mode=mode,
        room=room,
        therapists=therapists,
        attendees=attendees,
        series=series,
    )
    measures_schedule_later(case_id=case.pk)
    _intensives_changed(kind, case.pk)
    return appointments


def _intensives_changed(kind: str, case_id: int) -> None:
    # The planner's kept waiting list reads a case's intensive bookings (planning/waiting.py); no other
    # kind of appointment moves a case on or off it.
    if kind == AppointmentKind.INTENSIVE:
        case_changed_later(case_id=case_id)


def _check_intensive_team(kind: str, people: Sequence[User]) -> None:
    # An intensive session is held by a team the rule allows, however it is booked: one at a time from
    # the calendar or the API as much as a whole block.
    if kind == AppointmentKind.INTENSIVE:
        check_team_rule(people)


# --- Booking --------------------------------------------------------------------------------------
def appointment_book(
    *,
    actor: User,
    case: Case,
    kind: str,
    starts_at: dt.datetime,
    therapists: Sequence[User],
    ends_at: dt.datetime | None = None,
    room: Room | None = None,
    mode: str = Mode.IN_PERSON,
    clients: Sequence[Client] | None = None,
) -> Appointment:
    """Book one appointment with one or two therapists, attended by the case's partners (a joint kind) or
    by the one partner in `clients` (an individual kind: individual assessment, conjunctive).

    Without `ends_at` the appointment lasts the kind's default length.
    """
    _check_actor(actor, case)
    check_case_open(case)
    check_kind_mode(kind, mode)
    ends_at = end_or_default(kind, starts_at, ends_at)
    check_period(starts_at, ends_at, now=timezone.now())
    check_type(kind, mode, starts_at, ends_at)
    check_room(mode, room)
    people = check_therapists(case, therapists)
    _check_intensive_team(kind, people)
    attending = check_attendees(case, kind, clients)
    check_rules(people, [(starts_at, ends_at)], room=room)

    def work(claim: Claim) -> Appointment:
        claim.periods = [(starts_at, ends_at)]
        (appointment,) = _write(
            claim, case=case, kind=kind, mode=mode, room=room, therapists=people, attendees=attending
        )
        audit_record(
            actor=actor,
            action="appointment.book",
            target=appointment,
            case=case,
            detail={
                "kind": kind,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "attendees": [c.pk for c in attending],
            },
        )
        return appointment

    return guarded(work)


def consultation_book(
    *, actor: SystemActor, case: Case, therapist: User, starts_at: dt.datetime, mode: str
) -> Appointment:
    """Book a free consultation from the public site: a system booking (the public site's SystemActor, no
    staff member), by phone or video, of the default length, only in a slot that consultation_slots offers.

    Every rule is checked again here (the slot list the client saw may be minutes old), and the
    occupancy rows go through the same transaction and constraint as every other booking.
    """
    if not can_book_free_consultation(actor):
        raise AccessDenied("Free consultations are booked online by the visitor.")
    kind = AppointmentKind.CONSULTATION
    check_case_open(case)
    if mode not in (Mode.PHONE, Mode.VIDEO) or mode not in AppointmentType.for_kind(kind).modes:
        raise BookingInvalid("Choose a phone or video consultation.")
    if timezone.is_naive(starts_at):
        raise BookingInvalid("Give the start with its UTC offset.")
    minutes = default_minutes(kind)
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    now = timezone.now()
    if starts_at < now + CONSULTATION_NOTICE:
        raise BookingInvalid("That time is too soon: choose a consultation at least two hours ahead.")
    if not consultation_offered_by(therapist):
        raise BookingInvalid(f"{therapist} does not offer free consultations.")
    people = check_therapists(case, [therapist])
    check_rules(people, [(starts_at, ends_at)])
    if not consultation_slot_aligned(therapist, starts_at, minutes):
        raise BookingInvalid("That time is not one of the consultation slots offered.")

    attending = check_attendees(case, kind, None)

    def work(claim: Claim) -> Appointment:
        claim.periods = [(starts_at, ends_at)]
        (appointment,) = _write(
            claim, case=case, kind=kind, mode=mode, room=None, therapists=people, attendees=attending
        )
        audit_record(
            actor=actor,
            action="appointment.book_consultation",
            target=appointment,
            case=case,
            detail={"mode": mode, "starts_at": starts_at.isoformat(), "therapist": therapist.pk},
        )
        return appointment

    return guarded(work)


def series_book(
    *,
    actor: User,
    case: Case,
    kind: str,
    therapists: Sequence[User],
    first_day: dt.date,
    start_time: dt.time,
    weekdays: Sequence[int],
    minutes: int | None = None,
    until: dt.date | None = None,
    count: int | None = None,
    room: Room | None = None,
    mode: str = Mode.IN_PERSON,
    clients: Sequence[Client] | None = None,
) -> AppointmentSeries:
    """A standard-format series: once or twice a week on the chosen weekdays (0 = Monday), until a last
    day or a number of sessions, at the same local time. Closure days are skipped. Whole or nothing.
    Who attends as for appointment_book: both partners, or the one in `clients` for a conjunctive series."""
    _check_actor(actor, case)
    check_case_open(case)
    check_kind_mode(kind, mode)
    check_room(mode, room)
    people = check_therapists(case, therapists)
    _check_intensive_team(kind, people)
    attending = check_attendees(case, kind, clients)
    days = series_days(first_day, weekdays, until=until, count=count)
    length = dt.timedelta(minutes=default_minutes(kind) if minutes is None else minutes)
    periods = [(start, start + length) for start in (local_start(day, start_time) for day in days)]
    now = timezone.now()
    for start, end in periods:
        check_period(start, end, now=now)
    check_type(kind, mode, periods[0][0], periods[0][1])
    check_rules(people, periods, room=room)
    return _book_block(
        actor=actor,
        case=case,
        kind=kind,
        mode=mode,
        room=room,
        therapists=people,
        attendees=attending,
        periods=periods,
        series_kind=SeriesKind.SERIES,
        action="series.book",
    )


def intensive_book(
    *,
    actor: User,
    case: Case,
    room: Room,
    first_day: dt.date,
    start_time: dt.time,
    team: CoTherapyTeam | None = None,
    therapist: User | None = None,
    days: int | None = None,
    minutes: int | None = None,
) -> AppointmentSeries:
    """An intensive block: `days` consecutive clinic days from `first_day` at the same local time, with
    the same team (or, where the rule allows, one therapist) and room. Whole or nothing."""
    _check_actor(actor, case)
    check_case_open(case)
    policy = PracticePolicy.current()
    days = policy.intensive_days if days is None else days
    minutes = policy.intensive_minutes if minutes is None else minutes
    if not 1 <= days <= MAX_INTENSIVE_DAYS:
        raise BookingInvalid(f"An intensive block lasts between 1 and {MAX_INTENSIVE_DAYS} days.")
    if not 1 <= minutes <= policy.intensive_minutes:
        raise BookingInvalid(f"An intensive day lasts at most {policy.intensive_minutes} minutes.")
    if (team is None) == (therapist is None):
        raise BookingInvalid("Book an intensive with a co-therapy team or (where allowed) one therapist.")
    if team is not None and not team.active:
        raise BookingInvalid("That co-therapy team is no longer active.")
    members = list(team.members) if team is not None else [therapist] if therapist is not None else []
    check_team_rule(members, policy)
    check_room(Mode.IN_PERSON, room)
    people = check_therapists(case, members)
    dates = clinic_days(first_day, days, weekdays_only=policy.intensive_weekdays_only)
    if dates[0] != first_day:
        raise BookingInvalid(f"{day_text(first_day)} is not a clinic day: start the block on a clinic day.")
    length = dt.timedelta(minutes=minutes)
    periods = [(start, start + length) for start in (local_start(day, start_time) for day in dates)]
    now = timezone.now()
    for start, end in periods:
        check_period(start, end, now=now)
    check_rules(people, periods, room=room)
    return _book_block(
        actor=actor,
        case=case,
        kind=AppointmentKind.INTENSIVE,
        mode=Mode.IN_PERSON,
        room=room,
        therapists=people,
        attendees=check_attendees(case, AppointmentKind.INTENSIVE, None),
        periods=periods,
        series_kind=SeriesKind.INTENSIVE,
        action="intensive.book",
    )


def _book_block(
    *,
    actor: User,
    case: Case,
    kind: str,
    mode: str,
    room: Room | None,
    therapists: Sequence[User],
    attendees: Sequence[Client],
    periods: list[Period],
    series_kind: str,
    action: str,
) -> AppointmentSeries:
    check_no_self_overlap(periods)

    def work(claim: Claim) -> AppointmentSeries:
        claim.periods = periods
        series = AppointmentSeries.objects.create(case=case, kind=series_kind, created_by=actor)
        appointments = _write(
            claim,
            case=case,
            kind=kind,
            mode=mode,
            room=room,
            therapists=therapists,
            attendees=attendees,
            series=series,
        )
        audit_record(
            actor=actor,
            action=action,
            target=series,
            case=case,
            detail={
                "appointments": [a.pk for a in appointments],
                "first": periods[0][0].isoformat(),
                "last": periods[-1][0].isoformat(),
                "attendees": [c.pk for c in attendees],
            },
        )
        return series

    return guarded(work)


# --- Moving and cancelling ------------------------------------------------------------------------
def _locked(appointment: Appointment) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("case", "room")
        .get(pk=appointment.pk)
    )
    if locked.status != AppointmentStatus.BOOKED:
        raise BookingInvalid(f"This appointment is {locked.get_status_display().lower()}: it cannot change.")
    return locked


def _held_by(appointment: Appointment, claim: Claim, room: Room | None) -> None:
    """Claim again what the appointment holds now, with `room` in place of its room."""
    held = list(appointment.occupancies.values_list("resource_kind", "resource_id"))
    user_ids = [pk for kind, pk in held if kind == ResourceKind.THERAPIST]
    client_ids = [pk for kind, pk in held if kind == ResourceKind.CLIENT]
    claim_people(
        claim,
        User.objects.filter(pk__in=user_ids).order_by("pk"),
        room,
        Client.objects.filter(pk__in=client_ids).order_by("pk"),
    )


def appointment_move(
    *,
    actor: User,
    appointment: Appointment,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    room: Room | None = UNCHANGED,
) -> Appointment:
    """Move a booked appointment (and, if given, to another room), keeping who moved it, when and why."""
    _check_actor(actor, appointment.case)
    reason = require_reason(reason)
    check_period(starts_at, ends_at, now=timezone.now())

    def work(claim: Claim) -> Appointment:
        current = _locked(appointment)
        new_room = current.room if room is UNCHANGED else room
        check_room(current.mode, new_room)
        if current.kind == AppointmentKind.INTENSIVE:
            policy = PracticePolicy.current()
            if ends_at - starts_at > dt.timedelta(minutes=policy.intensive_minutes):
                raise BookingInvalid(f"An intensive day lasts at most {policy.intensive_minutes} minutes.")
        check_type(current.kind, current.mode, starts_at, ends_at)
        check_rules(list(current.therapists.order_by("pk")), [(starts_at, ends_at)], room=new_room)
        _held_by(current, claim, new_room)
        claim.periods = [(starts_at, ends_at)]
        claim.exclude_appointment = current.pk
        clash = find_clash(claim)
        if clash is not None:
            raise BookingConflict(clash)
        change = AppointmentChange(
            appointment=current,
            kind=ChangeKind.MOVED,
            at=timezone.now(),
            by=actor,
            reason=reason,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
            new_starts_at=starts_at,
            new_ends_at=ends_at,
            new_room=new_room,
        )
        current.occupancies.all().delete()
        current.starts_at, current.ends_at, current.room = starts_at, ends_at, new_room
        current.save(update_fields=["starts_at", "ends_at", "room"])
        measures_schedule_later(case_id=current.case_id)
        _intensives_changed(current.kind, current.case_id)
        occupy(claim, [current])
        change.save()
        audit_record(
            actor=actor,
            action="appointment.move",
            target=current,
            case=current.case,
            detail={
                "from": change.old_starts_at.isoformat(),
                "to": starts_at.isoformat(),
                "room": new_room.pk if new_room else None,
            },
        )
        return current

    return guarded(work)


def appointment_cancel(
    *, actor: User, appointment: Appointment, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """Cancel a booked appointment: it keeps its row and history, and releases its time at once.

    A cancellation closer to the start than the practice's notice period is flagged as late.
    """
    _check_actor(actor, appointment.case)
    return _cancel(
        appointment,
        by=actor,
        reason=reason,
        now=now,
        started="This appointment has already started: record attendance instead.",
    )


def consultation_cancel(
    *, actor: SystemActor, appointment: Appointment, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """The visitor cancels their free consultation with their signed link: a system path (the public
    site's SystemActor, no staff member) that still keeps the change history and frees the slot in one
    transaction."""
    if not can_book_free_consultation(actor):
        raise AccessDenied("Free consultations are cancelled online by the visitor.")
    if appointment.kind != AppointmentKind.CONSULTATION:
        raise BookingInvalid("Only a free consultation can be cancelled from the public site.")
    return _cancel(
        appointment, by=actor, reason=reason, now=now, started="This consultation has already started."
    )


def _cancel(
    appointment: Appointment, *, by: User | SystemActor, reason: str, now: dt.datetime | None, started: str
) -> Appointment:
    """Cancel under a row lock, free the time, keep the change (by nobody: the client's own link)."""
    reason = require_reason(reason)
    now = now or timezone.now()
    notice = dt.timedelta(hours=PracticePolicy.current().late_cancel_hours)
    with transaction.atomic():
        current = _locked(appointment)
        if current.starts_at <= now:
            raise BookingInvalid(started)
        late = current.starts_at - now < notice
        current.status = AppointmentStatus.CANCELLED
        current.save(update_fields=["status"])
        current.occupancies.all().delete()
        AppointmentChange.objects.create(
            appointment=current,
            kind=ChangeKind.CANCELLED,
            at=now,
            by=by if isinstance(by, User) else None,
            reason=reason,
            late=late,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
        )
        detail = {"late": late, "starts_at": current.starts_at.isoformat()}
        if not isinstance(by, User):
            detail["by"] = "client link"
        audit_record(actor=by, action="appointment.cancel", target=current, case=current.case, detail=detail)
        measures_schedule_later(case_id=current.case_id)
        _intensives_changed(current.kind, current.case_id)
        billing_charges_later(appointment_id=current.pk, actor=by)
    return current


def appointment_set_attendee(*, actor: User, appointment: Appointment, client: Client) -> Appointment:
    """Say which partner attends an individual session (a booking made for the wrong partner, or one
    booked before appointments knew their attendees). The new attendee's time is checked and held in
    place of the old one's; a cancelled session cannot change."""
    _check_actor(actor, appointment.case)
    if appointment.kind not in INDIVIDUAL_KINDS:
        raise BookingInvalid("Only an individual session is attended by one partner: a joint one by both.")
    (attending,) = check_attendees(appointment.case, appointment.kind, [client])

    def work(claim: Claim) -> Appointment:
        current = (
            Appointment.objects.select_for_update(of=("self",)).select_related("case").get(pk=appointment.pk)
        )
        if current.status == AppointmentStatus.CANCELLED:
            raise BookingInvalid("This appointment was cancelled: who attends it can no longer change.")
        before = sorted(current.attendees.values_list("pk", flat=True))
        if before == [attending.pk]:
            return current
        claim_people(claim, [], None, [attending])
        claim.periods = [(current.starts_at, current.ends_at)]
        claim.exclude_appointment = current.pk
        clash = find_clash(claim)
        if clash is not None:
            raise BookingConflict(clash)
        current.occupancies.filter(resource_kind=ResourceKind.CLIENT).delete()
        occupy(claim, [current])
        current.attendees.set([attending])
        audit_record(
            actor=actor,
            action="appointment.attendee",
            target=current,
            case=current.case,
            detail={"from": before, "to": [attending.pk]},
        )
        return current

    return guarded(work)


# --- Ending care ------------------------------------------------------------------------------------
class BookingsToCancel(BookingInvalid):
    """Care cannot end while these bookings stand, unless the person confirms they are cancelled with it."""

    def __init__(self, appointments: Sequence[Appointment]) -> None:
        self.appointments = list(appointments)
        n = len(self.appointments)
        listed = "; ".join(
            f"{a.get_kind_display()} {period_text(a.starts_at, a.ends_at)}" for a in self.appointments
        )
        super().__init__(
            f"{n} future appointment{'s are' if n > 1 else ' is'} still booked ({listed}): confirm that "
            f"{'they are' if n > 1 else 'it is'} cancelled with the case."
        )


def appointments_cancel_with_care(
    *,
    actor: User | SystemActor,
    case: Case,
    reason: str,
    confirmed: Collection[int],
    clients: Sequence[Client] | None = None,
    now: dt.datetime | None = None,
) -> CancellationBatch | None:
    """Cancel every future booking of the case (or those `clients` attend) as care ends, in the caller's
    transaction: the same row changes as one cancellation each (time, room, therapists and clients freed,
    history kept), grouped in one batch from which the notify worker tells each attending partner once
    and withdraws their reminders. `confirmed` must be exactly the bookings standing now: otherwise
    BookingsToCancel lists them, and nothing changes. None when nothing was booked."""
    reason = require_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        # Locked first, so that nothing is booked or cancelled for the case between the check and the write.
        list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(case=case, status=AppointmentStatus.BOOKED, starts_at__gt=now)
            .values_list("pk", flat=True)
        )
        standing = future_bookings(case, now=now, clients=clients)
        if not standing:
            return None
        ids = [a.pk for a in standing]
        if set(confirmed) != set(ids):
            raise BookingsToCancel(standing)
        if not isinstance(actor, SystemActor):
            _check_actor(actor, case)
        by = actor if isinstance(actor, User) else None
        batch = CancellationBatch.objects.create(case=case, at=now, by=by, reason=reason)
        notice = dt.timedelta(hours=PracticePolicy.current().late_cancel_hours)
        Appointment.objects.filter(pk__in=ids).update(status=AppointmentStatus.CANCELLED)
        Occupancy.objects.filter(appointment_id__in=ids).delete()
        AppointmentChange.objects.bulk_create(
            AppointmentChange(
                appointment=a,
                kind=ChangeKind.CANCELLED,
                at=now,
                by=by,
                reason=reason,
                late=a.starts_at - now < notice,
                old_starts_at=a.starts_at,
                old_ends_at=a.ends_at,
                old_room_id=a.room_id,
                batch=batch,
            )
            for a in standing
        )
        for a in standing:
            audit_record(
                actor=actor,
                action="appointment.cancel",
                target=a,
                case=case,
                detail={"batch": batch.pk, "starts_at": a.starts_at.isoformat(), "care_ended": True},
            )
        measures_schedule_later(case_id=case.pk)
        for kind in {a.kind for a in standing}:
            _intensives_changed(kind, case.pk)
    return batch


# --- Teams ----------------------------------------------------------------------------------------
def team_form(*, actor: User, first: User, second: User) -> CoTherapyTeam:
    """Form (or re-activate) a co-therapy team; the practice's team rule must hold."""
    if not actor.is_active or actor.role not in (Role.DIRECTOR, Role.COORDINATOR):
        raise AccessDenied("Only the clinical director or the coordinator forms co-therapy teams.")
    for member in (first, second):
        if not member.is_active or member.role != Role.THERAPIST:
            raise BookingInvalid(f"{member} is not an active therapist.")
    check_team_rule([first, second])
    with transaction.atomic():
        team = CoTherapyTeam.objects.filter(
            Q(first=first, second=second) | Q(first=second, second=first)
        ).first()
        if team is not None and team.active:
            raise BookingInvalid(f"{first} and {second} are already a team.")
        if team is None:
            team = CoTherapyTeam.objects.create(first=first, second=second)
        else:
            team.active = True
            team.save(update_fields=["active"])
        audit_record(actor=actor, action="team.form", target=team, detail={"members": [first.pk, second.pk]})
    return team


# --- Attendance -----------------------------------------------------------------------------------
ATTENDANCE_STATUSES = (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)
MAX_ATTENDANCE_NOTE = 1000


def appointment_record_attendance(
    *,
    actor: User,
    appointment: Appointment,
    status: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Record that a session took place or that the client did not come, once it has started.

    A recorded status may be corrected (a click on the wrong button): every record, the first and each
    correction, is an AppointmentChange row with the status before and after, so history is kept.
    Recording the status it already has changes nothing. A missed session keeps its occupancy: the
    time was held, and freeing it after the fact would only let a booking slip into the past.
    """
    if status not in ATTENDANCE_STATUSES:
        raise BookingInvalid("Record either that the session took place or that nobody came.")
    therapist_ids = set(appointment.therapists.values_list("pk", flat=True))
    if not can_record_attendance(actor, appointment.case, therapist_ids):
        raise AccessDenied("You cannot record attendance for this appointment.")
    note = note.strip()
    if len(note) > MAX_ATTENDANCE_NOTE:
        raise BookingInvalid(f"Keep the note under {MAX_ATTENDANCE_NOTE} characters.")
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("case", "room")
            .get(pk=appointment.pk)
        )
        if current.status == AppointmentStatus.CANCELLED:
            raise BookingInvalid("This appointment was cancelled: there is no attendance to record.")
        if current.starts_at > now:
            raise BookingInvalid("This appointment has not started yet: record attendance once it has.")
        if current.status == status:
            return current
        before = current.status
        current.status = status
        current.save(update_fields=["status"])
        AppointmentChange.objects.create(
            appointment=current,
            kind=ChangeKind.ATTENDANCE,
            at=now,
            by=actor,
            reason=note,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
            old_status=before,
            new_status=status,
        )
        audit_record(
            actor=actor,
            action="appointment.attendance",
            target=current,
            case=current.case,
            detail={"from": before, "to": status, "correction": before != AppointmentStatus.BOOKED},
        )
        measures_schedule_later(case_id=current.case_id)
        billing_charges_later(appointment_id=current.pk, actor=actor)
    return current
