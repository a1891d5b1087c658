"""Re-encrypt every encrypted column with the current key (the first of TANDEM_FIELD_KEYS).

No downtime: readers decrypt with any listed key while this runs, and each batch is its own short
transaction, so rows are locked only for a moment. Safe to run again (already-current values are left
alone) and to interrupt. When it reports nothing left under old keys, remove the old key from the list.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from tandem.audit.actors import KEY_ROTATION
from tandem.audit.services import audit_record
from tandem.lib.crypto import encrypted_fields, is_current, rotate


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the current key, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        total_rotated = 0
        for model, columns in encrypted_fields():
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(str(model._meta.pk.column))  # type: ignore[union-attr]
            quoted = [connection.ops.quote_name(c) for c in columns]
            rotated = scanned = 0
            last = None
            while True:
                with transaction.atomic():
                    where = f"WHERE {pk} > %s " if last is not None else ""
                    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"SELECT {pk}, {', '.join(quoted)} FROM {table} {where}"  # noqa: S608
                            f"ORDER BY {pk} LIMIT %s{lock}",
                            ([last] if last is not None else []) + [batch_size],
                        )
                        rows = cursor.fetchall()
                        for row in rows:
                            changes = {
                                column: rotate(value)
                                for column, value in zip(quoted, row[1:], strict=True)
                                if value is not None and not is_current(value)
                            }
                            if changes:
                                sets = ", ".join(f"{column} = %s" for column in changes)
                                cursor.execute(
                                    f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608
                                    [*changes.values(), row[0]],
                                )
                                rotated += 1
                if not rows:
                    break
                scanned += len(rows)
                last = rows[-1][0]
            total_rotated += rotated
            self.stdout.write(f"{model._meta.label}: {scanned} rows checked, {rotated} re-encrypted")
        with transaction.atomic():
            audit_record(
                actor=KEY_ROTATION, action="crypto.rotate_keys", detail={"rows_reencrypted": total_rotated}
            )
        self.stdout.write(f"Done: {total_rotated} rows re-encrypted with the current key.")
