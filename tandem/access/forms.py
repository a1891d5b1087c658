from django import forms

DURATIONS = [("0.5", "30 minutes"), ("1", "1 hour"), ("2", "2 hours"), ("4", "4 hours")]


class BreakGlassForm(forms.Form):
    reference = forms.CharField(max_length=20, label="Case reference", help_text="For example T-2026-00012.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        min_length=15,
        label="Why you need access now",
        help_text="Kept in the audit trail and shown to the case's therapists.",
        error_messages={"min_length": "Write the reason in a sentence (at least 15 characters)."},
    )
    hours = forms.TypedChoiceField(choices=DURATIONS, coerce=float, initial="1", label="For how long")
