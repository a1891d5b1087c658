"""The clinical record: session notes from templates, amendments, process notes, couple confidentiality.

Written only through tandem.records.services; every free-text column is encrypted at rest.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tandem.lib.crypto import EncryptedTextField


class NoteTemplate(models.Model):
    """A clinic's note template as data: an ordered list of sections.

    `sections` is a list of {"key", "label", "hint", "per_partner"}; a per-partner section is written
    once for each partner of a couple case (and once for an individual client).
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    sections = models.JSONField()
    couples_only = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class SessionNote(models.Model):
    """The note of one session. Draft until signed; once signed it is locked (amendments only)."""

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="session_note"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="session_notes")
    template = models.ForeignKey(NoteTemplate, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    # Set when the session was with one partner of a couple only: the note is marked as such.
    individual_with = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set when a co-therapy note is signed, cleared when the other therapist co-signs. Signed notes of
    # one-therapist sessions are never co-signed either, so without this mark finding the few notes a
    # therapist has to co-sign meant reading their whole session history.
    awaiting_cosignature = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="sessionnote_case_idx"),
            models.Index(fields=["status", "author"], name="sessionnote_status_idx"),
            models.Index(
                fields=["appointment"],
                condition=Q(awaiting_cosignature=True),
                name="sessionnote_cosign_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft", signed_at__isnull=True, signed_by__isnull=True)
                | Q(status="signed", signed_at__isnull=False, signed_by__isnull=False),
                name="sessionnote_signed_iff_signature",
            ),
            models.CheckConstraint(
                condition=Q(cosigned_by__isnull=True) | Q(status="signed"),
                name="sessionnote_cosign_after_sign",
            ),
            models.CheckConstraint(
                condition=Q(awaiting_cosignature=False) | Q(status="signed", cosigned_by__isnull=True),
                name="sessionnote_awaiting_only_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} ({self.get_status_display()})"

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class SessionNoteSection(models.Model):
    """One section's text. `client` names the partner a per-partner section is about; `private_to`
    marks content that partner asked to keep from the other (limited-secrets policy only)."""

    note = models.ForeignKey(SessionNote, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=120)
    client = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    private_to = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["note", "position"]
        constraints = [
            models.UniqueConstraint(fields=["note", "position"], name="notesection_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.label} (note {self.note_id})"


class NoteAmendment(models.Model):
    """A later addition to a signed note: appended with author, time and reason, never an edit."""

    note = models.ForeignKey(SessionNote, on_delete=models.PROTECT, related_name="amendments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    text = EncryptedTextField()
    reason = EncryptedTextField()
    private_to = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["note", "at"], name="noteamendment_note_idx")]

    def __str__(self) -> str:
        return f"Amendment {self.pk} to note {self.note_id}"


class PsychotherapyNote(models.Model):
    """A therapist's process note: kept apart from the record, readable by its author only."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = EncryptedTextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["author", "case", "-created_at"], name="processnote_author_idx")]

    def __str__(self) -> str:
        return f"Process note {self.pk}"


class SecretsPolicy(models.TextChoices):
    NO_SECRETS = "no_secrets", "No secrets: what one partner tells the therapist may be shared"
    LIMITED_SECRETS = "limited_secrets", "Limited secrets: a partner may ask to keep some content private"


class ConfidentialityPolicy(models.Model):
    """The couple's confidentiality agreement for one case, and when each partner agreed to it.

    The agreement dates are recorded by staff here, or set by the consents app's signing service through
    `confidentiality_agreement_from_consent` (a change of policy clears them: both must agree again).
    """

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="confidentiality")
    kind = models.CharField(max_length=20, choices=SecretsPolicy.choices)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()
    partner_a_agreed_at = models.DateTimeField(null=True, blank=True)
    partner_b_agreed_at = models.DateTimeField(null=True, blank=True)
    # Set by the partners' signed consent rather than chosen by a therapist first: withdrawing the last
    # signature then removes it again, instead of leaving a policy nobody chose.
    from_consent = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "confidentiality policies"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.case})"

    @property
    def limited(self) -> bool:
        return self.kind == SecretsPolicy.LIMITED_SECRETS

    def agreed_at(self, client_id: int | None) -> object:
        if client_id is not None and client_id == self.case.partner_a_id:
            return self.partner_a_agreed_at
        if client_id is not None and client_id == self.case.partner_b_id:
            return self.partner_b_agreed_at
        return None

    @property
    def agreed_by_all(self) -> bool:
        if self.partner_a_agreed_at is None:
            return False
        return self.case.partner_b_id is None or self.partner_b_agreed_at is not None
