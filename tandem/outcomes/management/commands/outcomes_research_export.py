from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.access.clinical import can_read_outcomes
from tandem.audit.services import audit_record
from tandem.outcomes.research import as_csv, columns, research_rows


class Command(BaseCommand):
    help = "Write the de-identified outcomes export for research (CSV; see the README for what it keeps)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--director", required=True, help="user name of the clinical director exporting")
        parser.add_argument("--out", required=True, help="the CSV file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        # Run as a named director, so that the permission layer scopes it and the audit trail says who.
        user = get_user_model().objects.filter(username=options["director"]).first()
        if user is None or not can_read_outcomes(user):
            raise CommandError("Give the user name of an active clinical director.")
        rows = research_rows(user)
        Path(options["out"]).write_text(as_csv(columns(), rows), encoding="utf-8")
        audit_record(
            actor=user, action="outcomes.export_research", detail={"rows": len(rows), "via": "command"}
        )
        self.stdout.write(f"Wrote {len(rows)} de-identified rows to {options['out']}.")
