"""The clinic's starter note templates (DAP, SOAP, couple session), written out as data.

The clinic may edit or retire them in the set-up admin; unloading removes only templates no note uses.
"""

from django.db import migrations

TEMPLATES = [
    (
        "dap",
        "DAP",
        "Data, assessment, plan: a short note for most sessions.",
        False,
        10,
        [
            ("data", "Data", "What happened in the session: what was said and observed.", False),
            ("assessment", "Assessment", "Your clinical understanding of what you saw and heard.", False),
            ("plan", "Plan", "Next steps, homework given, and the next session's focus.", False),
        ],
    ),
    (
        "soap",
        "SOAP",
        "Subjective, objective, assessment, plan.",
        False,
        20,
        [
            ("subjective", "Subjective", "What the clients reported, in their words where it helps.", False),
            ("objective", "Objective", "What you observed; measures and scores.", False),
            ("assessment", "Assessment", "Your clinical impression and progress towards the goals.", False),
            ("plan", "Plan", "Interventions, homework, referrals and the next session.", False),
        ],
    ),
    (
        "couple-session",
        "Couple session",
        "A joint session: the relationship, then each partner, then the plan.",
        True,
        30,
        [
            ("relationship", "The couple", "The interaction between the partners in this session.", False),
            ("partner", "Partner", "This partner's contribution, state and concerns.", True),
            ("plan", "Plan", "Agreed next steps and homework for the couple.", False),
        ],
    ),
]


def load(apps, schema_editor):
    NoteTemplate = apps.get_model("records", "NoteTemplate")
    for slug, name, description, couples_only, order, sections in TEMPLATES:
        NoteTemplate.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "couples_only": couples_only,
                "sort_order": order,
                "sections": [
                    {"key": key, "label": label, "hint": hint, "per_partner": per_partner}
                    for key, label, hint, per_partner in sections
                ],
            },
        )


def unload(apps, schema_editor):
    NoteTemplate = apps.get_model("records", "NoteTemplate")
    SessionNote = apps.get_model("records", "SessionNote")
    used = SessionNote.objects.values_list("template_id", flat=True)
    NoteTemplate.objects.filter(slug__in=[t[0] for t in TEMPLATES]).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0001_notes_and_confidentiality")]

    operations = [migrations.RunPython(load, unload)]
