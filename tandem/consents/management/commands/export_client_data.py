from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.audit.actors import EXPORT_COMMAND
from tandem.cases.models import Client
from tandem.consents.client_export import client_data_export


class Command(BaseCommand):
    help = "Write everything the practice holds about one client to a JSON file (a subject access request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", type=int, required=True, help="the client's id")
        parser.add_argument("--out", required=True, help="the file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client.objects.filter(pk=options["client"]).first()
        if client is None:
            raise CommandError("No client with that id.")
        Path(options["out"]).write_text(
            client_data_export(actor=EXPORT_COMMAND, client=client), encoding="utf-8"
        )
        # No name on the terminal: logs of commands are kept longer than anyone reads them.
        self.stdout.write(f"Wrote the data of client {client.pk} to {options['out']}.")
