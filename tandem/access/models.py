from django.conf import settings
from django.db import models


class BreakGlassGrant(models.Model):
    """Emergency access to one case for a user not assigned to it: reason required, time-limited."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="break_glass_grants")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "case", "expires_at"], name="breakglass_active_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("started_at")),
                name="breakglass_expires_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access by {self.user} to {self.case}"
