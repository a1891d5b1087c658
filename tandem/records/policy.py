"""The clinic's record-keeping policy: constants with an override from Django settings."""

from datetime import timedelta

from django.conf import settings

# A session's note should be signed within this long after the session ends; older unsigned notes are
# listed on their author's Today page.
UNSIGNED_NOTE_LIMIT = timedelta(hours=getattr(settings, "TANDEM_UNSIGNED_NOTE_HOURS", 72))

# Appointment kinds that are, by their nature, with one partner of a couple only: a note for such a
# session is marked as an individual-session note.
INDIVIDUAL_KINDS = ("individual_assessment", "conjunctive")
