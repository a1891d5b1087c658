"""Encryption at rest: the database holds no note text, and rotate_keys moves every value to a new key."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from tandem.lib import crypto
from tandem.records import selectors
from tandem.records.models import NoteAmendment, PsychotherapyNote, SessionNoteSection
from tandem.records.services import note_amend, process_note_create
from tests.records_support import signed_dap

SECRETS = ("PLAINTEXT-BODY-7731", "PLAINTEXT-AMEND-7731", "PLAINTEXT-REASON-7731", "PLAINTEXT-PROCESS-7731")


def _write_everything(cast) -> None:
    note = signed_dap(cast, text=SECRETS[0])
    note_amend(actor=cast.therapist_a, note=note, text=SECRETS[1], reason=SECRETS[2])
    process_note_create(actor=cast.therapist_a, case=cast.couple_case, text=SECRETS[3])


def _raw_values() -> list[str]:
    values = []
    with connection.cursor() as cursor:
        for model, columns in crypto.encrypted_fields():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} FROM {table}")  # noqa: S608
            values += [v for row in cursor.fetchall() for v in row if v]
    return values


def _decrypted() -> set[str]:
    return (
        set(SessionNoteSection.objects.values_list("text", flat=True))
        | set(NoteAmendment.objects.values_list("text", flat=True))
        | set(NoteAmendment.objects.values_list("reason", flat=True))
        | set(PsychotherapyNote.objects.values_list("text", flat=True))
    )


def test_encrypted_models_are_the_clinical_free_text():
    labels = {model._meta.label: columns for model, columns in crypto.encrypted_fields()}
    assert labels["records.SessionNoteSection"] == ["text"]
    assert labels["records.NoteAmendment"] == ["text", "reason"]
    assert labels["records.PsychotherapyNote"] == ["text"]


def test_raw_rows_hold_no_plaintext(cast):
    _write_everything(cast)
    raw = _raw_values()
    assert len(raw) == 6  # three DAP sections (one empty), amendment text + reason, process note
    joined = " ".join(raw)
    for secret in SECRETS:
        assert secret not in joined
    assert all(value.startswith("gAAAAA") for value in raw)  # Fernet tokens
    assert set(SECRETS) <= _decrypted()


def test_full_sql_dump_holds_no_plaintext(cast):
    _write_everything(cast)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        dump = "\n".join(connection.connection.iterdump())
    else:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
            rows = []
            for table in tables:
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
                rows += [repr(row) for row in cursor.fetchall()]
        dump = "\n".join(rows)
    assert "Dana" in dump  # the dump really holds the data (names are not encrypted)
    for secret in SECRETS:
        assert secret not in dump


def test_rotate_keys_moves_every_value_to_the_new_key(cast, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TANDEM_FIELD_KEYS = [old]
    _write_everything(cast)
    before = _raw_values()

    settings.TANDEM_FIELD_KEYS = [new, old]
    assert _decrypted() >= set(SECRETS)  # readers keep working during the rotation
    out = io.StringIO()
    call_command("rotate_keys", "--batch-size", "2", stdout=out)
    assert "records.SessionNoteSection: 3 rows checked, 3 re-encrypted" in out.getvalue()
    assert "Done: 5 rows re-encrypted" in out.getvalue()
    after = _raw_values()
    assert not set(before) & set(after)
    assert all(crypto.is_current(value) for value in after)

    again = io.StringIO()
    call_command("rotate_keys", stdout=again)
    assert "Done: 0 rows re-encrypted" in again.getvalue()
    assert _raw_values() == after

    settings.TANDEM_FIELD_KEYS = [new]  # the old key is gone
    assert _decrypted() >= set(SECRETS)
    note_texts = [
        s.text
        for n in selectors.notes_releasable(case=cast.couple_case, client_ids=[])
        for s in n.released_sections
    ]
    assert SECRETS[0] in note_texts


def test_a_removed_key_without_rotation_cannot_read(cast, settings):
    old = Fernet.generate_key().decode()
    settings.TANDEM_FIELD_KEYS = [old]
    _write_everything(cast)
    settings.TANDEM_FIELD_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        list(SessionNoteSection.objects.all())


def test_no_key_refuses_to_encrypt(settings):
    settings.TANDEM_FIELD_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="TANDEM_FIELD_KEYS must be set"):
        crypto.encrypt("anything")


def test_deploy_check_warns_without_keys(settings):
    from tandem.lib.checks import tandem_security

    settings.TANDEM_FIELD_KEYS = []
    assert "tandem.W004" in [w.id for w in tandem_security(None)]
    settings.TANDEM_FIELD_KEYS = [Fernet.generate_key().decode()]
    assert "tandem.W004" not in [w.id for w in tandem_security(None)]
