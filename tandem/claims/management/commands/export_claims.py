"""`manage.py export_claims --from 2026-11-01 --to 2026-11-30 --out claims.837`: the period's
insurer-billed sessions as one X12 837P batch (each claim once; `--resend` includes those already sent)."""

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.claims.export import claims_export
from tandem.claims.services import ClaimsInvalid


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a date: {text!r} (write it as YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Write the insurer-billed sessions of a period as an X12 837P (005010X222A1) batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, help="First service date, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="Last service date, YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="The file to write")
        parser.add_argument("--resend", action="store_true", help="Include sessions already exported")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = claims_export(
                date_from=_date(options["date_from"]),
                date_to=_date(options["date_to"]),
                out=Path(options["out"]),
                resend=options["resend"],
            )
        except (ClaimsInvalid, OSError) as problem:
            raise CommandError(str(problem)) from None
        for line in result.skipped:
            self.stderr.write(f"Left out {line}")
        if result.export is None:
            self.stdout.write("No claims to export in this period; no file written.")
            return
        self.stdout.write(
            f"Wrote {result.claims} claims (batch {result.export.control_number}) to {options['out']}."
        )
