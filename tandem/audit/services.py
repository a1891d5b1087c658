"""Appending to and checking the tamper-evident audit chain."""

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from tandem.audit.actors import SystemActor
from tandem.audit.context import current_ip
from tandem.audit.models import AuditEvent
from tandem.lib.remembered_queries import remembered_query

GENESIS = "0" * 64
# Any fixed number: the advisory lock that serializes appends on PostgreSQL.
_PG_LOCK_KEY = 0x7A4D_0A1D
_PG_CHECK_THEN_LOCK = (
    "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; "
    f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"
)
_VERIFY_CHUNK = 2000


def _canonical(event: AuditEvent) -> bytes:
    body = [
        event.seq,
        event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
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


def _as_stored_ip(ip: str | None) -> str | None:
    # The HMAC must cover the value as the database gives it back: the field rewrites IPv6 to its
    # compressed lower-case form ("2001:DB8::0001" reads back as "2001:db8::1").
    return AuditEvent._meta.get_field("ip").get_prep_value(ip) if ip else None


def _as_stored_case_id(case: Any) -> int | None:
    # Callers pass a Case, a pk, or a pk taken from a URL ("12"); the column reads back an int.
    value = getattr(case, "pk", case)
    return int(value) if value is not None and value != "" else None


def _as_stored_detail(detail: dict[str, Any] | None) -> Any:
    # A JSON round trip turns tuples into lists and non-string keys into strings, exactly as the
    # JSON column will, so the HMAC signed now still matches the row read back later.
    return json.loads(json.dumps(detail or {}))


@remembered_query
def _chain_head() -> QuerySet[AuditEvent, tuple[int, str]]:
    """The last event's number and signature, which the next event continues: read on every audited
    page view, so compiled once per worker (lib/remembered_queries.py)."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", "hmac")[:1]


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Model | None = None,
    case: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (so it commits with the action).

    `actor` is the user who acts, or the `SystemActor` that acts where no person does (recorded by its
    label, with no user; see `tandem.audit.actors`). Nothing in Tandem passes None.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Foreign keys are checked at commit (Django declares them DEFERRABLE INITIALLY DEFERRED),
                # each taking a KEY SHARE lock on the row named. Checked after this lock is taken, they
                # could wait for a row another writer has locked while that writer waits for this lock:
                # a deadlock. So the checks pending so far run now, before the lock; then deferred again.
                # One round trip: the key is a constant, so the three statements need no parameters.
                cursor.execute(_PG_CHECK_THEN_LOCK)
        head = _chain_head.rows()
        seq, prev = (head[0][0] + 1, head[0][1]) if head else (1, GENESIS)
        is_user = actor is not None and getattr(actor, "is_authenticated", False)
        # A system part has no user row: its name is the label ("system:public-site"), under the HMAC.
        label = actor.label if isinstance(actor, SystemActor) else None
        event = AuditEvent(
            seq=seq,
            at=timezone.now(),
            actor_id=actor.pk if is_user else None,
            actor_label=(label or (actor.get_username() if is_user else str(actor or "anonymous")))[:150],
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            case_id=_as_stored_case_id(case),
            ip=_as_stored_ip(ip if ip is not None else current_ip.get()),
            detail=_as_stored_detail(detail),
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


@dataclass(frozen=True)
class ChainReport:
    """The outcome of one walk: how many events were read, and what did not fit."""

    events: int
    problems: list[ChainProblem]
    head_seq: int | None
    head_hmac: str | None

    @property
    def ok(self) -> bool:
        return not self.problems


def _check(event: AuditEvent, expected_seq: int, prev_hmac: str) -> str | None:
    if event.seq > expected_seq:
        if event.seq == expected_seq + 1:
            return f"sequence gap: event #{expected_seq} is missing (deleted?)"
        return f"sequence gap: events #{expected_seq} to #{event.seq - 1} are missing (deleted?)"
    if event.seq < expected_seq:
        # Only possible before the first real event (seq is unique): a row inserted with seq <= 0.
        return f"unexpected sequence number: expected #{expected_seq} (inserted?)"
    if event.prev_hmac != prev_hmac:
        return "does not link to the previous event"
    if not hmac.compare_digest(event.hmac, compute_hmac(event)):
        return "content does not match its HMAC (edited or forged)"
    return None


def _walk() -> Iterator[tuple[AuditEvent, str | None]]:
    """Every event in seq order with the reason it does not fit (or None), read in chunks."""
    prev_hmac, expected_seq = GENESIS, 1
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=_VERIFY_CHUNK):
        yield event, _check(event, expected_seq, prev_hmac)
        # Carry on from the row as stored, so one bad row is reported once and not blamed on the next.
        prev_hmac, expected_seq = event.hmac, event.seq + 1


def verify_audit_chain(*, stop_at_first: bool = True) -> ChainReport:
    """Walk the whole chain once and report how many events it holds and what does not fit."""
    count = 0
    problems: list[ChainProblem] = []
    head: AuditEvent | None = None
    for event, reason in _walk():
        count += 1
        if reason is not None:
            problems.append(ChainProblem(event.seq, event.pk, reason))
            if stop_at_first:
                break
        head = event
    return ChainReport(
        events=count,
        problems=problems,
        head_seq=head.seq if head else None,
        head_hmac=head.hmac if head else None,
    )


def audit_chain_problems() -> Iterator[ChainProblem]:
    """Walk the chain in order and yield every event that does not fit (edited, inserted, deleted)."""
    for event, reason in _walk():
        if reason is not None:
            yield ChainProblem(event.seq, event.pk, reason)
