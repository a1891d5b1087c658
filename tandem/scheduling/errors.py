"""The refusals of the booking rules and actions: raised by rules, occupancy and services alike."""

from __future__ import annotations

from tandem.lib.errors import Refusal


class BookingError(Refusal):
    """A booking was refused; the message is fit to show to the person booking."""


class BookingInvalid(BookingError):
    """The request itself is wrong (bad times, wrong people, closed day): nothing was written."""


class BookingConflict(BookingError):
    """A therapist, room or client is already taken for (part of) the period asked for."""
