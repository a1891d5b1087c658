from django.conf import settings
from django.db import models
from django.db.models import Q

from tandem.lib.crypto import EncryptedTextField


class Preference(models.Model):
    """How a client wants to be reminded. No row means the defaults: e-mail on, no quiet hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_pref"
    )
    email = models.BooleanField("Send me e-mails", default=True)
    # Offered only where the practice has a text-message provider (TANDEM_SMS_ENABLED).
    sms = models.BooleanField("Send me text messages", default=False)
    appointment_reminders = models.BooleanField("Remind me of appointments the day before", default=True)
    homework_nudges = models.BooleanField("Nudge me the day before an exercise is due", default=True)
    quiet_start = models.TimeField("Quiet from", null=True, blank=True)
    quiet_end = models.TimeField("Quiet until", null=True, blank=True)

    def __str__(self) -> str:
        return f"Preferences of {self.user_id}"


class JobKind(models.TextChoices):
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    HOMEWORK_NUDGE = "homework_nudge", "Homework nudge"
    MESSAGE_NOTICE = "message_notice", "New message notice"
    # Care ended and the partner's future bookings were cancelled with it: one per partner, however many.
    BOOKINGS_CANCELLED = "bookings_cancelled", "Bookings cancelled"
    # E-mails asked for in a web request go through the queue too, so that the request takes the same
    # time (and says the same) whether or not the address belongs to someone.
    PASSWORD_RESET = "password_reset", "Password reset"
    INVITATION = "invitation", "Portal invitation"
    CONSULTATION_DUPLICATE = "consultation_duplicate", "Second consultation request"


class JobState(models.TextChoices):
    """The outbox state. `sending` is committed on its own before the message leaves, `sent` after it."""

    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Not sent"
    # A worker stopped between `sending` and `sent`: the message may or may not have left. Never sent
    # again by a worker; see tandem/notify/services.py for the retry rule.
    UNCERTAIN = "uncertain", "Perhaps sent"


class Job(models.Model):
    """One notification to send. `key` makes scheduling idempotent; the outbox state makes it go once."""

    kind = models.CharField(max_length=30, choices=JobKind.choices)
    key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.PENDING)
    # Empty for a password reset: the worker looks the address up, not the request.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.BigIntegerField(null=True, blank=True)
    # What only this e-mail needs (the typed address, an invitation's link token), encrypted at rest and
    # cleared once the job is done.
    secret = EncryptedTextField(null=True, blank=True)
    due_at = models.DateTimeField()
    sending_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped = models.CharField(max_length=100, blank=True, help_text="Why it was not sent, if it was not.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                name="job_pending_idx",
                condition=Q(sent_at__isnull=True, skipped=""),
            ),
            models.Index(fields=["state", "due_at"], name="job_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
