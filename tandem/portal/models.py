from django.conf import settings
from django.db import models


class Invitation(models.Model):
    """A single-use, expiring link that lets one client set a password for their portal account.

    Only a keyed hash of the token is stored: someone who reads the database cannot use a pending link.
    """

    client = models.ForeignKey("cases.Client", on_delete=models.CASCADE, related_name="invitations")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "-created_at"], name="invitation_client_idx")]

    def __str__(self) -> str:
        return f"Invitation {self.pk} for client {self.client_id}"


class Message(models.Model):
    """A secure message in one client's conversation with the case's clinicians.

    Each partner has their own conversation: the other partner never sees it. The text stays here; any
    e-mail only says that there is something to read.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="messages")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_client = models.BooleanField()
    body = models.TextField()
    sent_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True, help_text="When the other side first read it.")

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["case", "client", "sent_at"], name="message_thread_idx")]

    def __str__(self) -> str:
        return f"Message {self.pk} in case {self.case_id}"
