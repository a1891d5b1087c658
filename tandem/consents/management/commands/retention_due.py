from typing import Any

from django.core.management.base import BaseCommand

from tandem.consents.retention import RETENTION_YEARS, retention_due


class Command(BaseCommand):
    help = (
        f"List archived cases kept longer than the retention period ({RETENTION_YEARS} years after the last "
        "contact). Deletes nothing: deleting needs a decision of the clinical director."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = retention_due()
        for row in rows:
            self.stdout.write(
                f"{row.case.reference}\tlast contact {row.last_contact:%Y-%m-%d}\tkept until "
                f"{row.keep_until:%Y-%m-%d}"
            )
        self.stdout.write(f"{len(rows)} case(s) past retention. Nothing was deleted.")
