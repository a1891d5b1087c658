"""The anchored head: the chain's newest (seq, HMAC) written, signed, outside the database.

The chain alone shows edits, forged rows and deleted middle rows, but not that its newest events were
removed: what is left is a valid shorter chain. An anchor is one JSON line appended to AUDIT_ANCHOR_PATH
(a file the database role cannot reach; mark it append-only with `chattr +a`), signed with the audit key,
which the database does not hold. `audit_verify` then needs the chain to reach the newest anchor's event
with the HMAC the anchor recorded.
"""

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tandem.audit.models import AuditEvent


class AnchorError(Exception):
    """The anchor file cannot be trusted (a line that is not ours) or the chain does not reach it."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hmac: str
    at: str

    def signed_line(self) -> str:
        body = {"seq": self.seq, "hmac": self.hmac, "at": self.at}
        return json.dumps({**body, "sig": _sign(body)}, sort_keys=True, separators=(",", ":"))


def _sign(body: dict[str, object]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), b"anchor:" + text, hashlib.sha256).hexdigest()


def anchor_path() -> Path | None:
    raw = getattr(settings, "AUDIT_ANCHOR_PATH", "")
    return Path(raw) if raw else None


def anchor_write(*, path: Path) -> Anchor | None:
    """Append the current head to `path` (opened for appending only, flushed to disk). None: no events."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hmac").first()
    if head is None:
        return None
    anchor = Anchor(seq=head[0], hmac=head[1], at=timezone.now().isoformat(timespec="seconds"))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.signed_line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


def _parse(line: str, number: int) -> Anchor:
    try:
        data = json.loads(line)
        seq, head, at = int(data["seq"]), str(data["hmac"]), str(data["at"])
        sig = str(data["sig"])
    except (ValueError, KeyError, TypeError) as error:
        raise AnchorError(f"anchor file line {number} is not an anchor") from error
    if not hmac.compare_digest(sig, _sign({"seq": seq, "hmac": head, "at": at})):
        raise AnchorError(f"anchor file line {number} has a bad signature (forged or edited)")
    return Anchor(seq=seq, hmac=head, at=at)


def newest_anchor(*, path: Path) -> Anchor | None:
    """The last anchor in the file, every line checked; None when there is no file or it is empty."""
    if not path.exists():
        return None
    newest = None
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                anchor = _parse(line, number)
                if newest is not None and anchor.seq < newest.seq:
                    raise AnchorError(f"anchor file line {number} goes back to #{anchor.seq}")
                newest = anchor
    return newest


def check_against(anchor: Anchor) -> None:
    """The chain still holds the anchored event, unchanged; raises AnchorError saying what is missing."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if head < anchor.seq:
        raise AnchorError(
            f"events #{head + 1} to #{anchor.seq} are missing: the anchor of {anchor.at} names #{anchor.seq}"
            " (newest events deleted?)"
        )
    stored = AuditEvent.objects.filter(seq=anchor.seq).values_list("hmac", flat=True).first()
    if stored is None:
        raise AnchorError(f"event #{anchor.seq}, named by the anchor of {anchor.at}, is missing")
    if not hmac.compare_digest(stored, anchor.hmac):
        raise AnchorError(f"event #{anchor.seq} differs from the anchor of {anchor.at} (rewritten chain?)")
