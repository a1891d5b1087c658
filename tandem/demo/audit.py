"""Audit events for rows the seed writes in bulk, appended as one valid HMAC chain.

Writes that go through the services audit themselves. The history the seed bulk-inserts (years of phase
changes, sessions, notes and questionnaires in the large practice) gets the events those services would
have written, at the moments they happened, so the audit page and `audit_verify` see a practice with a
past. Each event is built and signed exactly as `audit_record` does (the same fields, `compute_hmac`
over them, each linking to the one before), then inserted in batches instead of one at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from tandem.audit.models import AuditEvent
from tandem.audit.services import GENESIS, compute_hmac
from tandem.demo.data import BATCH

# The columns COPY writes on PostgreSQL, in the order of _copy_row.
COPY_COLUMNS = (
    "seq, at, actor_id, actor_label, action, target_type, target_id, case_id, ip, detail, prev_hmac, hmac"
)
PROGRESS_EVERY = 200_000


def _copy_row(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.seq,
        event.at,
        event.actor_id,
        event.actor_label,
        event.action,
        event.target_type,
        event.target_id,
        event.case_id,
        event.ip,
        # Stored as jsonb: the text COPY reads is the JSON the signature was computed over.
        json.dumps(event.detail),
        event.prev_hmac,
        event.hmac,
    )


@dataclass(order=True, slots=True)
class _Pending:
    at: dt.datetime
    order: int
    actor_id: int | None = field(compare=False)
    actor_label: str = field(compare=False)
    action: str = field(compare=False)
    target_type: str = field(compare=False)
    target_id: str = field(compare=False)
    case_id: int | None = field(compare=False)
    detail: dict[str, Any] = field(compare=False)


class AuditBacklog:
    """Events collected while the seed writes rows; `append` signs them in time order onto the chain."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self.labels: dict[int, str] = {}

    def add(
        self,
        *,
        at: dt.datetime,
        actor_id: int | None,
        action: str,
        target_type: str = "",
        target_id: Any = "",
        case_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        label = self.labels.get(actor_id, "system") if actor_id is not None else "system"
        self._pending.append(
            _Pending(
                at=at,
                order=len(self._pending),
                actor_id=actor_id,
                actor_label=label,
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                case_id=case_id,
                # As the JSON column will read it back, so the signature still matches later.
                detail=json.loads(json.dumps(detail or {})),
            )
        )

    def __len__(self) -> int:
        return len(self._pending)

    def append(self, progress: Callable[[str], None] | None = None) -> int:
        """Sign and insert everything collected, oldest first, after the chain's current head: by COPY on
        PostgreSQL (a million events in a fraction of the time of INSERTs), in batches elsewhere."""
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hmac").first()
        seq, prev = last if last else (0, GENESIS)
        rows: list[AuditEvent] = []
        written = 0
        for item in sorted(self._pending):
            seq += 1
            event = AuditEvent(
                seq=seq,
                at=item.at,
                actor_id=item.actor_id,
                actor_label=item.actor_label,
                action=item.action,
                target_type=item.target_type,
                target_id=item.target_id,
                case_id=item.case_id,
                ip=None,
                detail=item.detail,
                prev_hmac=prev,
            )
            event.hmac = prev = compute_hmac(event)
            rows.append(event)
            if len(rows) >= BATCH * 10:
                written += self._insert(rows)
                rows = []
                if progress is not None and written % PROGRESS_EVERY < BATCH * 10:
                    progress(f"signed and wrote {written:,} of {len(self._pending):,} audit events")
        written += self._insert(rows)
        self._pending = []
        return written

    @staticmethod
    def _insert(rows: list[AuditEvent]) -> int:
        if not rows:
            return 0
        if connection.vendor != "postgresql":
            return len(AuditEvent.objects.bulk_create(rows, batch_size=BATCH))
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        sql = f"COPY {table} ({COPY_COLUMNS}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for event in rows:
                copy.write_row(_copy_row(event))
        return len(rows)
