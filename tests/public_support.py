"""Shared set-up for the public-site tests: a fixed clock, a therapist who offers consultations, a form."""

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from tandem.accounts.models import TherapistProfile, User
from tandem.public.forms import slot_value

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)  # Monday 4 January 2027, 10:00 in Amsterdam
# Tuesday 09:00 local: the cast works from 07:00, so this is a whole number of 20-minute slots in.
SLOT = dt.datetime(2027, 1, 5, 9, 0, tzinfo=ZONE)
LATER = dt.datetime(2027, 1, 5, 11, 0, tzinfo=ZONE)


def offers(*users: User) -> None:
    TherapistProfile.objects.filter(user__in=users).update(offers_consultation=True)
    for user in users:
        user.therapist_profile.refresh_from_db()


def booking_form(therapist: User, starts_at: dt.datetime = SLOT, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "mode": "video",
        "slot": slot_value(therapist.pk, starts_at),
        "day": starts_at.astimezone(ZONE).date().isoformat(),
        "name": "Robin Visitor",
        "email": "robin@example.invalid",
        "phone": "",
        "reason": "We argue about intimacy.",
        "consent": "on",
        "website": "",
        "key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
