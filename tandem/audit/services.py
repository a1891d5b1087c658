"""Appending to and checking the tamper-evident audit chain."""

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from tandem.audit.context import current_ip
from tandem.audit.models import AuditEvent

GENESIS = "0" * 64
# Any fixed number: the advisory lock that serializes appends on PostgreSQL.
_PG_LOCK_KEY = 0x7A4D_0A1D


def _canonical(event: AuditEvent) -> bytes:
    body = [
        event.seq,
        event.at.astimezone(timezone.UTC).isoformat(timespec="microseconds"),
        event.actor_id,
        event.actor_label,
        event.action,
        event.target_type,
        event.target_id,
        event.case_id,
        event.ip,
        event.detail,
        event.prev_hmac,
    ]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compute_hmac(event: AuditEvent) -> str:
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), _canonical(event), hashlib.sha256).hexdigest()


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Model | None = None,
    case: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (so it commits with the action)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hmac").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        is_user = actor is not None and getattr(actor, "is_authenticated", False)
        event = AuditEvent(
            seq=seq,
            at=timezone.now(),
            actor_id=actor.pk if is_user else None,
            actor_label=(actor.get_username() if is_user else str(actor or "anonymous"))[:150],
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            case_id=getattr(case, "pk", case),
            ip=ip if ip is not None else current_ip.get(),
            detail=detail or {},
            prev_hmac=prev,
        )
        event.hmac = compute_hmac(event)
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    pk: int
    reason: str


def audit_chain_problems() -> Iterator[ChainProblem]:
    """Walk the chain in order and yield every event that does not fit (edited, inserted, deleted)."""
    prev_hmac, expected_seq = GENESIS, 1
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            yield ChainProblem(event.seq, event.pk, f"sequence gap: expected #{expected_seq}")
        elif event.prev_hmac != prev_hmac:
            yield ChainProblem(event.seq, event.pk, "does not link to the previous event")
        elif not hmac.compare_digest(event.hmac, compute_hmac(event)):
            yield ChainProblem(event.seq, event.pk, "content does not match its HMAC")
        prev_hmac, expected_seq = event.hmac, event.seq + 1
