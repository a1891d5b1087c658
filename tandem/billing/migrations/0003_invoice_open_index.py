"""The unpaid invoices, indexed apart: aged receivables read only them (billing/reports.py).

On PostgreSQL also a covering index (payer, issued_at INCLUDE total, allocated, credited) over the same
rows, so the report's sums are read from the index alone; SQLite has no covering indexes, and a model
index with `include` would warn there, so that one is created here for PostgreSQL only.
"""

from django.db import migrations, models

OPEN = "status IN ('open', 'sent', 'partly_paid')"


def covering_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS billing_invoice_open_cover_idx ON billing_invoice "
            f"(payer_id, issued_at) INCLUDE (total, allocated, credited) WHERE {OPEN}"
        )


def drop_covering_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS billing_invoice_open_cover_idx")


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_counters'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('status__in', ['open', 'sent', 'partly_paid'])), fields=['payer', 'issued_at'], name='billing_invoice_open_idx'),
        ),
        migrations.RunPython(covering_index, drop_covering_index, elidable=False),
    ]
