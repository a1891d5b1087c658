"""`manage.py audit_verify`: check that nobody edited, inserted or deleted audit events behind Tandem's back.

Exit status 0 when the chain is whole, 1 when it is not, so cron or monitoring can alert on it. With
AUDIT_ANCHOR_PATH set, the chain must also reach the newest anchor unchanged (deleted newest events).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.audit.anchor import AnchorError, anchor_path, check_against, newest_anchor
from tandem.audit.services import verify_audit_chain


class Command(BaseCommand):
    help = "Walk the audit trail's HMAC chain and report the first event that does not fit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Report every event that does not fit, not only the first (slower on a damaged chain).",
        )
        parser.add_argument("--anchors", help="Anchor file (default: AUDIT_ANCHOR_PATH).")

    def _check_anchor(self, path: Path | None) -> None:
        if path is None:
            self.stdout.write("no anchor file (AUDIT_ANCHOR_PATH): deleted newest events cannot be detected")
            return
        try:
            anchor = newest_anchor(path=path)
            if anchor is None:
                self.stdout.write(f"no anchor in {path} yet")
                return
            check_against(anchor)
        except AnchorError as problem:
            raise CommandError(f"audit chain BROKEN: {problem}", returncode=1) from problem
        self.stdout.write(f"anchor OK: the chain reaches #{anchor.seq} anchored at {anchor.at}")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_audit_chain(stop_at_first=not options["all"])
        if report.ok:
            self.stdout.write(f"audit chain OK: {report.events} events")
            if report.head_seq is not None and options["verbosity"] >= 1:
                # The chain alone cannot tell that its newest events were removed: the anchor can.
                self.stdout.write(f"head: #{report.head_seq} {report.head_hmac}")
            self._check_anchor(Path(options["anchors"]) if options["anchors"] else anchor_path())
            return
        if options["all"]:
            for problem in report.problems:
                self.stderr.write(f"bad event #{problem.seq} (id {problem.pk}): {problem.reason}")
        first = report.problems[0]
        summary = f" ({len(report.problems)} bad events)" if options["all"] else ""
        raise CommandError(
            f"audit chain BROKEN at event #{first.seq} (id {first.pk}): {first.reason}{summary}", returncode=1
        )
