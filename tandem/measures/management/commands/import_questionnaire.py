from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.measures.importing import ImportRefused, import_questionnaire


class Command(BaseCommand):
    help = "Import a clinic's licensed item wording from a FHIR Questionnaire JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            instrument = import_questionnaire(options["file"])
        except ImportRefused as exc:
            raise CommandError(f"{options['file']}: {exc} (nothing was changed)") from exc
        self.stdout.write(f"{instrument.code}: imported wording for {instrument.title}")
