"""Indexes for the case search on PostgreSQL: case-insensitive name prefixes and the reference.

Django's `istartswith` and `iexact` compare `UPPER(column::text)` on PostgreSQL; these expression indexes
match that exactly, and `text_pattern_ops` lets `LIKE 'PREFIX%'` use a B-tree whatever the collation.
A B-tree serves any prefix length, which a trigram index does not (trigrams need three characters).
SQLite runs the same lookups on its small practices without them, with the same results.
"""

from django.db import migrations

INDEXES = {
    "cases_client_first_name_upper_idx": "cases_client ((UPPER(first_name::text)) text_pattern_ops)",
    "cases_client_last_name_upper_idx": "cases_client ((UPPER(last_name::text)) text_pattern_ops)",
    "cases_case_reference_upper_idx": "cases_case ((UPPER(reference::text)))",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_partner_join"),
    ]

    operations = [migrations.RunPython(create, drop)]
