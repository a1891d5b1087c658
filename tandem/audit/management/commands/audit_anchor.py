"""`manage.py audit_anchor`: append the audit chain's current head, signed, to AUDIT_ANCHOR_PATH.

Run it often (the notify worker does, every AUDIT_ANCHOR_SECONDS); `audit_verify` checks against the
newest anchor, so deleting the newest events is detected back to the last anchor.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.audit.anchor import anchor_path, anchor_write


class Command(BaseCommand):
    help = "Append the audit chain's head (seq, HMAC, time), signed, to the anchor file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", help="Anchor file (default: AUDIT_ANCHOR_PATH).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"]) if options["path"] else anchor_path()
        if path is None:
            raise CommandError("Set AUDIT_ANCHOR_PATH (or pass --path): where the anchors are appended.")
        anchor = anchor_write(path=path)
        if anchor is None:
            self.stdout.write("no audit events yet: nothing to anchor")
        else:
            self.stdout.write(f"anchored #{anchor.seq} at {anchor.at}")
