"""Load the coded list of presenting problems (ICD-10-CM and ICD-11 where a code exists).

The data is written out here rather than imported from app code, so that this migration keeps working
however the app changes later.
"""

from django.db import migrations

PROBLEMS = [
    # slug, label, ICD-10-CM, ICD-11
    ("low-desire", "Low sexual desire or lack of interest", "F52.0", "HA00"),
    ("sexual-aversion", "Sexual aversion, anxiety or phobia about sex", "F52.1", ""),
    ("erectile-disorder", "Erectile difficulties", "F52.21", "HA01.1"),
    ("erectile-dysfunction-organic", "Erectile dysfunction of physical origin", "N52.9", "HA01.1"),
    ("arousal-disorder", "Lack of response to sexual stimulation (arousal)", "F52.22", "HA01.0"),
    ("female-orgasmic-disorder", "Difficulty reaching orgasm (female)", "F52.31", "HA02.0"),
    ("delayed-ejaculation", "Delayed ejaculation or difficulty reaching orgasm (male)", "F52.32", "HA03.1"),
    ("premature-ejaculation", "Premature (early) ejaculation", "F52.4", "HA03.0"),
    ("vaginismus", "Vaginismus", "F52.5", "HA20"),
    ("sexual-pain", "Pain with sex (dyspareunia)", "F52.6", "HA20"),
    ("other-sexual-dysfunction", "Other sexual difficulty", "F52.8", "HA0Y"),
    ("low-sexual-confidence", "Low sexual confidence", "", ""),
    ("relationship-distress", "Relationship distress", "Z63.0", "QE51.0"),
    ("intimacy-problems", "Intimacy problems", "", ""),
]


def load(apps, schema_editor):
    PresentingProblem = apps.get_model("cases", "PresentingProblem")
    for order, (slug, label, icd10, icd11) in enumerate(PROBLEMS):
        PresentingProblem.objects.update_or_create(
            slug=slug, defaults={"label": label, "icd10cm": icd10, "icd11": icd11, "sort_order": order * 10}
        )


def unload(apps, schema_editor):
    apps.get_model("cases", "PresentingProblem").objects.filter(slug__in=[p[0] for p in PROBLEMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_clients_cases_problems_phases")]
    operations = [migrations.RunPython(load, unload)]
