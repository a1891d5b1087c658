"""The care pathway's clinic policy: the one place to configure it.

Constants for now (the practice policy table belongs to the scheduling work); each reads an override from
Django settings, so a deployment can change it without touching code.
"""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class FollowUpStep:
    label: str
    days: int = 0
    months: int = 0

    def due_from(self, start: dt.date) -> dt.date:
        """A local date: calendar months (clamped to the month's last day) plus days."""
        month_index = start.month - 1 + self.months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day) + dt.timedelta(days=self.days)


# After the treatment phase ends: two weeks, then one, three and six months.
FOLLOW_UP_SCHEDULE: tuple[FollowUpStep, ...] = getattr(
    settings,
    "TANDEM_FOLLOW_UP_SCHEDULE",
    (
        FollowUpStep("2-week follow-up", days=14),
        FollowUpStep("1-month follow-up", months=1),
        FollowUpStep("3-month follow-up", months=3),
        FollowUpStep("6-month follow-up", months=6),
    ),
)

# How long the practice waits for a specialist's result, by urgency, before the referral is overdue.
REFERRAL_DUE_DAYS: dict[str, int] = getattr(
    settings, "TANDEM_REFERRAL_DUE_DAYS", {"urgent": 14, "soon": 28, "routine": 56}
)

# The version of the consent-to-treatment text clients are given now.
CONSENT_VERSION: str = getattr(settings, "TANDEM_CONSENT_VERSION", "treatment-consent-2026-1")

# A follow-up is listed as due this many days before its date.
FOLLOW_UP_DUE_SOON_DAYS: int = getattr(settings, "TANDEM_FOLLOW_UP_DUE_SOON_DAYS", 7)

# An override reason shorter than this is not a reason.
OVERRIDE_REASON_MIN = 15
