from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.cases.models import AbsentPartner, Case, Client, Phase, PresentingProblem
from tandem.cases.services import OPENING_PHASES, ClientDetails
from tandem.lib.forms import DateInput, ModelForm
from tandem.lib.lookups import Ids
from tandem.lib.time import local_today

PAGE_SIZE = 25


class ClientForm(ModelForm):
    class Meta:
        model = Client
        fields = ["first_name", "last_name", "preferred_name", "pronouns", "date_of_birth", "email", "phone"]
        widgets = {
            "date_of_birth": DateInput(),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        error_messages = {
            "first_name": {"required": "Enter the first name."},
            "last_name": {"required": "Enter the last name."},
        }

    def clean_date_of_birth(self) -> Any:
        born = self.cleaned_data.get("date_of_birth")
        if born and born >= local_today():
            raise forms.ValidationError("The date of birth must be in the past.")
        if born and born.year < 1900:
            raise forms.ValidationError("Check the year of the date of birth.")
        return born

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "").strip()
        if phone and not all(ch.isdigit() or ch in "+-() " for ch in phone):
            raise forms.ValidationError("A phone number has only digits, spaces, +, - and brackets.")
        return phone

    def details(self) -> ClientDetails:
        return ClientDetails(**{name: self.cleaned_data[name] for name in self.Meta.fields})


def therapist_choices() -> Any:
    return User.objects.filter(role=Role.THERAPIST, is_active=True).order_by("last_name", "first_name")


def team_choices() -> Any:
    return CoTherapyTeam.objects.filter(active=True).select_related("first", "second")


class AssignmentForm(forms.Form):
    therapist = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="— none —")
    team = forms.ModelChoiceField(
        queryset=CoTherapyTeam.objects.none(),
        required=False,
        empty_label="— none —",
        label="Co-therapy team",
    )
    absent_partner = forms.ChoiceField(
        choices=[("", "—"), *AbsentPartner.choices],
        required=False,
        label="Why the partner does not attend",
    )
    absent_partner_note = forms.CharField(max_length=300, required=False, label="Note about the partner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].queryset = therapist_choices()  # type: ignore[attr-defined]
        self.fields["team"].queryset = team_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("therapist") and data.get("team"):
            raise forms.ValidationError("Choose one therapist or one co-therapy team, not both.")
        return data


class CaseOpenForm(AssignmentForm):
    kind = forms.ChoiceField(
        choices=[
            ("couple", "A couple (both partners attend)"),
            ("individual", "One client, partner not attending"),
        ],
        widget=forms.RadioSelect,
        initial="couple",
        label="Who is the case for?",
    )
    phase = forms.ChoiceField(
        choices=[(p.value, p.label) for p in OPENING_PHASES],
        initial=Phase.CONSULTATION,
        label="Starting phase",
    )
    field_order = ["kind", "absent_partner", "absent_partner_note", "therapist", "team", "phase"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == "individual" and not data.get("absent_partner"):
            self.add_error("absent_partner", "For an individual case, say why the partner does not attend.")
        return data


class ProblemsForm(forms.Form):
    """Presenting problems as coded checkboxes, each optionally naming the partner it concerns."""

    presenting_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
        label="In the clients' words",
        help_text="What brings them, as they describe it.",
    )

    def __init__(self, *args: Any, case: Case | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problems = list(PresentingProblem.objects.all())
        partners = case.partners if case else []
        self.partner_choices = [("both", "Both / the relationship")] + [
            (str(c.pk), c.full_name) for c in partners
        ]
        for problem in self.problems:
            self.fields[f"problem_{problem.pk}"] = forms.ChoiceField(
                label=str(problem),
                required=False,
                choices=[("", "Not present"), *self.partner_choices],
            )

    def selected(self, case: Case) -> list[tuple[PresentingProblem, Client | None]]:
        by_id = {str(c.pk): c for c in case.partners}
        chosen = []
        for problem in self.problems:
            value = self.cleaned_data.get(f"problem_{problem.pk}")
            if value:
                chosen.append((problem, by_id.get(value)))
        return chosen

    def problem_fields(self) -> list[forms.BoundField]:
        return [self[f"problem_{p.pk}"] for p in self.problems]


# More clients than this sharing the start of a name (a word of one or two letters) and the search
# keeps them as a subquery, where reading every case is the right plan anyway.
NAMED_CLIENTS_READ = 1000


def _clients_named(word: str) -> Ids | QuerySet[Client]:
    """The clients whose first or last name starts with WORD: their ids, read first, when there are not
    too many. As a subquery, PostgreSQL guessed the matches from the name index's statistics (313 for a
    surname 22 clients have) and hash-joined them to every case of the practice, twice; given the ids,
    it probes the partner indexes for each."""
    named = Client.objects.filter(Q(first_name__istartswith=word) | Q(last_name__istartswith=word))
    ids = list(named.order_by().values_list("pk", flat=True)[: NAMED_CLIENTS_READ + 1])
    return named.values("pk") if len(ids) > NAMED_CLIENTS_READ else Ids(ids)  # type: ignore[return-value]


class CaseFilterForm(forms.Form):
    """The case list's search. Sent by POST: a client's name must not end up in URLs or access logs."""

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Name or reference",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    phase = forms.ChoiceField(
        choices=[("", "Any phase"), ("open", "All open phases"), *Phase.choices], required=False
    )
    therapist = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Any therapist"
    )
    page = forms.IntegerField(required=False, min_value=1, initial=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].queryset = therapist_choices()  # type: ignore[attr-defined]

    def name_filter(self) -> Q:
        q = (self.cleaned_data.get("q") or "").strip()
        if not q:
            return Q()
        # Every word must match the start of some partner's first or last name. Each word finds its
        # clients through the name indexes (migration 0006) and their cases through the two partner
        # indexes, joined by UNION: an OR across the two partner joins read every case in the practice.
        by_name = Case.objects.order_by()
        for word in q.split()[:4]:
            named = _clients_named(word)
            lookup = "any_of" if isinstance(named, Ids) else "in"
            as_a = Case.objects.filter(**{f"partner_a__{lookup}": named}).order_by().values("pk")
            as_b = Case.objects.filter(**{f"partner_b__{lookup}": named}).order_by().values("pk")
            by_name = by_name.filter(pk__in=as_a.union(as_b))
        by_reference = Case.objects.filter(reference__iexact=q).order_by().values("pk")
        return Q(pk__in=by_reference.union(by_name.values("pk")))
