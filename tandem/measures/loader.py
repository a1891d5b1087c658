"""Loading the shipped definition files into the Instrument table."""

from typing import Any

from django.db import transaction

from tandem.measures import engine
from tandem.measures.models import Instrument


def _licence_note(definition: dict[str, Any]) -> str:
    return str(definition.get("licence", {}).get("note", ""))


@transaction.atomic
def load_instruments() -> list[tuple[str, str]]:
    """Create or update every shipped instrument; returns (code, what happened) pairs.

    Idempotent. An instrument whose licensed wording a clinic has imported keeps that wording when the
    shipped version is unchanged; a new version replaces the definition, so wording must be re-imported.
    """
    outcome = []
    for code in engine.instrument_codes():
        definition = engine.load_definition(code)
        existing = Instrument.objects.select_for_update().filter(code=code).first()
        if existing is None:
            Instrument.objects.create(
                code=code,
                version=definition["version"],
                title=definition["title"],
                definition=definition,
                licence_note=_licence_note(definition),
            )
            outcome.append((code, "created"))
        elif existing.version != definition["version"] or (
            not existing.has_licensed_wording and existing.definition != definition
        ):
            existing.version = definition["version"]
            existing.title = definition["title"]
            existing.definition = definition
            existing.licence_note = _licence_note(definition)
            existing.has_licensed_wording = False
            existing.save()
            outcome.append((code, "updated"))
        else:
            outcome.append((code, "unchanged"))
    return outcome
