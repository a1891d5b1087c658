"""`manage.py make_instance --size small|medium|large [--seed N] [--out FILE]`: a synthetic instance.

The same size and seed always write the same bytes (see ``tandem.planning.generator``); the examples in
``tandem/planning/examples/`` are the three sizes at the default seed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.planning.generator import EXAMPLE_SEED, SIZES, dumps, make_instance


class Command(BaseCommand):
    help = "Write a synthetic intensive-planning instance (JSON), the same for the same size and seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", required=True, choices=sorted(SIZES), help="how many couples and staff")
        parser.add_argument("--seed", type=int, default=EXAMPLE_SEED, help=f"default {EXAMPLE_SEED}")
        parser.add_argument("--out", help="where to write the instance (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        text = dumps(make_instance(options["size"], options["seed"]))
        if not options["out"]:
            self.stdout.write(text, ending="")
            return
        out = Path(options["out"])
        if not out.parent.is_dir():
            raise CommandError(f"cannot write instance: directory {out.parent} does not exist")
        # Temporary file and rename: an interrupted run never leaves half an instance behind.
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".instance-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the example unreadable to others
            os.replace(tmp, out)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CommandError(f"cannot write instance {out}: {exc.strerror or exc}") from None
        shape = SIZES[options["size"]]
        self.stdout.write(
            f"{options['size']} instance (seed {options['seed']}): {shape.couples} couples, "
            f"{shape.therapists} therapists, {shape.rooms} rooms, {shape.weeks} weeks, written to {out}"
        )
