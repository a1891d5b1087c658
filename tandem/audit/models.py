import json

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only, HMAC-chained record of who did what to which object, when, from where.

    `detail` holds identifiers and field names only, never clinical text: the audit log is read by
    people who may not see the record itself.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    # No database-level foreign keys: audit rows must outlive (and never cascade with) what they name.
    # No index of their own either: the (actor, -at, -seq) and (case, -at, -seq) indexes serve every
    # lookup, and with a plain one beside them PostgreSQL read a busy case's thousands of events by it
    # and sorted them, instead of reading its newest fifty in order.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    ip = models.GenericIPAddressField(null=True)
    detail = models.JSONField(default=dict)
    prev_hmac = models.CharField(max_length=64)
    hmac = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            # The page's newest-first order is (-at, -seq): with seq in the index a filtered page is
            # read in order and stops after fifty rows. Without it PostgreSQL preferred walking the
            # whole trail by time and filtering (10,000 rows for a month of one action at 20,000
            # cases), or sorting every match of a case.
            models.Index(fields=["actor", "-at", "-seq"], name="audit_actor_at_seq_idx"),
            models.Index(fields=["case", "-at", "-seq"], name="audit_case_at_seq_idx"),
            models.Index(fields=["-at"], name="audit_at_idx"),
            # The audit page sorts by person and by action, and lists the actions in use.
            models.Index(fields=["actor_label", "-seq"], name="audit_actor_label_idx"),
            models.Index(fields=["action", "-seq"], name="audit_action_idx"),
            # Filtering by action and dates, newest first: the pages people open after an incident.
            # It holds the ids too, so that a page's ids are read from it alone (access.audit_selectors).
            models.Index(fields=["action", "-at", "-seq"], name="audit_action_at_seq_idx", include=["id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def detail_items(self) -> list[tuple[str, str]]:
        """`detail` as (key, text) pairs for display; nested values are shown as compact JSON."""
        if not isinstance(self.detail, dict):
            return [("", json.dumps(self.detail))]
        return [
            (str(key), value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
            for key, value in sorted(self.detail.items())
        ]
