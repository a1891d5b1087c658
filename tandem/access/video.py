"""Who may join a video session, and when (the video app asks here; it holds no permission rule itself).

Only the appointment's own therapists and its attendees (through their portal accounts), logged in and
active, and only from 15 minutes before the start until 30 minutes after the end. A director or the front
desk who is not in the session does not join it; nor does the partner of another case. Therapists admit
the clients who wait; clients never admit anyone.

The appointment is taken as the scheduling app passes it (this layer sits below scheduling): anything with
`starts_at`, `ends_at`, `status`, and `therapists` and `attendees` managers.
"""

import datetime as dt
from typing import Any, Literal

from tandem.accounts.models import Role

OPENS_BEFORE = dt.timedelta(minutes=15)
CLOSES_AFTER = dt.timedelta(minutes=30)
CANCELLED = "cancelled"  # scheduling.AppointmentStatus.CANCELLED (scheduling sits above this layer)

VideoRole = Literal["staff", "client"]
WindowState = Literal["early", "open", "ended"]


def video_window(appointment: Any) -> tuple[dt.datetime, dt.datetime]:
    return appointment.starts_at - OPENS_BEFORE, appointment.ends_at + CLOSES_AFTER


def video_window_state(appointment: Any, now: dt.datetime) -> WindowState:
    opens, closes = video_window(appointment)
    if now < opens:
        return "early"
    return "open" if now < closes and appointment.status != CANCELLED else "ended"


def video_role(user: Any, appointment: Any) -> VideoRole | None:
    """How this user takes part in the appointment's session, or None when they are not in it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role in (Role.THERAPIST, Role.DIRECTOR) and any(
        therapist.pk == user.pk for therapist in appointment.therapists.all()
    ):
        return "staff"
    if user.role == Role.CLIENT and any(client.user_id == user.pk for client in appointment.attendees.all()):
        return "client"
    return None


def can_join_video(user: Any, appointment: Any, now: dt.datetime) -> bool:
    return video_role(user, appointment) is not None and video_window_state(appointment, now) == "open"


def can_admit_video(user: Any, appointment: Any) -> bool:
    """Therapists of the session let the waiting clients in."""
    return video_role(user, appointment) == "staff"
