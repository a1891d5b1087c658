from django.conf import settings
from django.db import models
from django.db.models import Q


class PublicPage(models.Model):
    """One page of the public site. The clinic edits the words in the set-up admin; the body is plain
    text (paragraphs, "## " headings, "- " lists) rendered escaped, so no markup ever reaches visitors."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    summary = models.CharField(max_length=300, blank=True, help_text="One sentence shown under the title.")
    body = models.TextField(
        help_text=(
            "Plain text. A blank line starts a new paragraph; a line starting with '## ' is a heading; "
            "lines starting with '- ' form a list. HTML is shown as typed, never interpreted."
        )
    )
    nav_label = models.CharField(
        max_length=40, blank=True, help_text="Leave empty to keep it out of the menu."
    )
    nav_order = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["nav_order", "title"]

    def __str__(self) -> str:
        return self.title


class RequestStatus(models.TextChoices):
    NEW = "new", "New"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    CONVERTED = "converted", "Converted to a case"
    DECLINED = "declined", "Declined"


OPEN_REQUEST_STATUSES = (RequestStatus.NEW, RequestStatus.CONFIRMED)


class ConsultationRequest(models.Model):
    """A free consultation booked on the public site: who asked, how to reach them, and what it became."""

    # From the form: a second submission of the same form finds the first instead of booking again.
    idempotency_key = models.UUIDField(unique=True)
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    # The phone's digits only, so that one number typed two ways compares equal.
    phone_key = models.CharField(max_length=40, blank=True, db_index=True)
    reason = models.CharField(max_length=500, blank=True)
    mode = models.CharField(max_length=20)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="consultation_request"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.NEW)
    # Changes whenever the booking changes, so that an older cancel/reschedule link stops working.
    link_nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="consultreq_status_idx")]

    def __str__(self) -> str:
        return f"Consultation request #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class MessageStatus(models.TextChoices):
    NEW = "new", "New"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class ContactMessage(models.Model):
    """A message sent with the public contact form; it lands in the coordinators' inbox."""

    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    phone_key = models.CharField(max_length=40, blank=True, db_index=True)
    message = models.TextField(max_length=2000)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="contactmsg_status_idx")]
        constraints = [models.CheckConstraint(condition=~Q(message=""), name="contactmsg_not_empty")]

    def __str__(self) -> str:
        return f"Contact message #{self.pk}"
