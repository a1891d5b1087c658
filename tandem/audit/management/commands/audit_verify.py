"""`manage.py audit_verify`: check that nobody edited, inserted or deleted audit events behind Tandem's back.

Exit status 0 when the chain is whole, 1 when it is not, so cron or monitoring can alert on it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.audit.services import verify_audit_chain


class Command(BaseCommand):
    help = "Walk the audit trail's HMAC chain and report the first event that does not fit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Report every event that does not fit, not only the first (slower on a damaged chain).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_audit_chain(stop_at_first=not options["all"])
        if report.ok:
            self.stdout.write(f"audit chain OK: {report.events} events")
            if report.head_seq is not None and options["verbosity"] >= 1:
                # Writing the head down somewhere else (a ticket, a log server) is what detects a
                # truncated tail later: the chain alone cannot tell that its newest events were removed.
                self.stdout.write(f"head: #{report.head_seq} {report.head_hmac}")
            return
        if options["all"]:
            for problem in report.problems:
                self.stderr.write(f"bad event #{problem.seq} (id {problem.pk}): {problem.reason}")
        first = report.problems[0]
        summary = f" ({len(report.problems)} bad events)" if options["all"] else ""
        raise CommandError(
            f"audit chain BROKEN at event #{first.seq} (id {first.pk}): {first.reason}{summary}", returncode=1
        )
