"""PostgreSQL only: no two occupancy rows of one resource may overlap (half-open ranges).

SQLite has no exclusion constraints; there booking transactions are serialized instead (IMMEDIATE
transactions) and the booking service checks for overlaps inside the transaction.
"""

from django.db import migrations

CONSTRAINT = "occupancy_no_overlap"


def add_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE scheduling_occupancy ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(resource_kind WITH =, resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
    )


def drop_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE scheduling_occupancy DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_occupancy_series_changes"),
    ]

    operations = [
        migrations.RunPython(add_exclusion, drop_exclusion, elidable=False),
    ]
