from django.db import migrations

# The clinic edits this list in the admin afterwards; the seed is only a starting point.
SPECIALISTS = [
    ("urologist", "Urologist", False),
    ("gynaecologist", "Gynaecologist", False),
    ("endocrinologist", "Endocrinologist", False),
    ("pelvic-floor-physiotherapist", "Pelvic floor physiotherapist", False),
    ("psychiatrist", "Psychiatrist", False),
    ("anxiety-phobia-treatment", "Anxiety / phobia treatment (adjunct)", True),
    ("other", "Other specialist", False),
]


def seed(apps, schema_editor):
    SpecialistType = apps.get_model("pathway", "SpecialistType")
    for order, (slug, label, adjunct) in enumerate(SPECIALISTS):
        SpecialistType.objects.update_or_create(
            slug=slug, defaults={"label": label, "adjunct": adjunct, "sort_order": order * 10}
        )


def unseed(apps, schema_editor):
    SpecialistType = apps.get_model("pathway", "SpecialistType")
    SpecialistType.objects.filter(slug__in=[s for s, _, _ in SPECIALISTS], referrals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pathway", "0001_pathway_records"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
