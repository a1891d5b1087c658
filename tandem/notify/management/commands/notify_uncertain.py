"""`manage.py notify_uncertain [--retry ID …]`: jobs whose worker stopped mid-send, and the operator's retry.

A worker never sends an uncertain job again (see tandem/notify/services.py). Look each Message-ID
(`tandem-job-ID`) up in the mail server's log first; retry only those that never left.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.notify.services import uncertain_jobs, uncertain_retry


class Command(BaseCommand):
    help = "List notification jobs that may or may not have been sent; --retry ID sends one again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retry", type=int, nargs="+", default=[], metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry"]:
            retried = uncertain_retry(job_ids=options["retry"])
            missing = sorted(set(options["retry"]) - set(retried))
            self.stdout.write(f"queued again: {', '.join(map(str, retried)) or 'none'}")
            if missing:
                raise CommandError(f"not uncertain (left alone): {', '.join(map(str, missing))}")
            return
        jobs = uncertain_jobs()
        for job in jobs:
            # Kind, id and times only: no address, no name.
            self.stdout.write(
                f"job {job.pk} {job.kind} due {job.due_at:%Y-%m-%d %H:%M} sending {job.sending_at}"
            )
        self.stdout.write(f"{len(jobs)} uncertain")
