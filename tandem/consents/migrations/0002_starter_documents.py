"""The first version of each consent text: plain language, written for this project (synthetic)."""

import datetime as dt

from django.db import migrations

EFFECTIVE = dt.date(2026, 1, 1)

DOCUMENTS = [
    (
        "treatment",
        "Consent to treatment",
        """What you agree to
You agree to take part in relationship or sex therapy at this practice. Therapy starts with an intake and an
assessment; together with your therapist you then decide on a treatment plan.

What therapy asks of you
Sessions may touch on intimate subjects. You may always say that you do not want to talk about something, or
stop a session. Exercises between sessions are invitations, never obligations.

What we keep
We keep a record of your care: appointments, notes of sessions, questionnaire answers and letters. You may
ask to see your record or for a copy of it.

Stopping
You may stop therapy at any time. Tell your therapist, or write to the practice.""",
    ),
    (
        "confidentiality",
        "Couple confidentiality policy",
        """Why this matters
When a couple is in therapy together, each partner sometimes talks to the therapist alone. Before that
happens you both agree how the therapist handles what is said in those moments.

No secrets
What one partner tells the therapist alone may be brought into the joint sessions when the therapist finds it
important for the therapy. The therapist will give you the chance to say it yourself first.

Limited secrets
A partner may ask the therapist to keep something private. The therapist will respect that, except when
safety is at risk, and will not let it be shared with the other partner or released to anyone without that
partner's consent. The therapist may decide that therapy cannot continue if a secret makes it impossible.

Which one applies
The practice tells you which of the two applies to your case. Both of you must agree to the same one.""",
    ),
    (
        "telehealth",
        "Telehealth consent",
        """Sessions by video or phone
Some sessions may take place by video or phone. We use a service that encrypts the connection.

Your part
Join from a private place where nobody can overhear you. Do not record the session unless we have both agreed
to it. If the connection fails, we call you on the number we have for you.

Limits
Video sessions are not suitable in a crisis. In an emergency call the local emergency number.""",
    ),
    (
        "release",
        "Release of information",
        """What you allow
You allow the practice to share the parts of your record named below with the recipient named below, until the
date named below.

Only your own information
This release covers your own information only. Information about your partner is shared only if your partner
signs a release of their own. Process notes that therapists keep for themselves are never shared.

Withdrawing
You may withdraw this release at any time in the portal or by telling the practice. What was already sent
cannot be called back.""",
    ),
]


def load(apps, schema_editor):
    Document = apps.get_model("consents", "ConsentDocument")
    for kind, title, text in DOCUMENTS:
        Document.objects.update_or_create(
            kind=kind, version=1, defaults={"title": title, "text": text, "effective_on": EFFECTIVE}
        )


def unload(apps, schema_editor):
    Document = apps.get_model("consents", "ConsentDocument")
    Document.objects.filter(version=1, consents__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_consent_documents_and_signatures")]

    operations = [migrations.RunPython(load, unload)]
