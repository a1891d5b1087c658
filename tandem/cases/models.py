import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from tandem.cases import scopes


class Client(models.Model):
    """A person receiving care. Portal log-in (when invited) is the optional `user`."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="client"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"], name="client_name_idx")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Phase(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    INTAKE = "intake", "Intake"
    ASSESSMENT = "assessment", "Assessment"
    TREATMENT = "treatment", "Treatment"
    FOLLOW_UP = "follow_up", "Follow-up"
    DISCHARGED = "discharged", "Discharged"
    CLOSED = "closed", "Closed without treatment"


OPEN_PHASES = (Phase.CONSULTATION, Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP)


class AbsentPartner(models.TextChoices):
    UNAVAILABLE = "unavailable", "Partner unavailable"
    UNWILLING = "unwilling", "Partner unwilling to attend"
    NO_PARTNER = "no_partner", "No current partner"


def link_fields(prefix: str = "") -> tuple[str, ...]:
    """The columns a link to a case prints (cases/_case_links.jinja, display_name), for only(): the case's
    own (prefix "") or through a relation to it (prefix "case__")."""
    names = ("reference", "phase", "opened_on", "partner_a", "partner_b")
    people = (f"{p}__{n}" for p in ("partner_a", "partner_b") for n in ("first_name", "last_name"))
    return tuple(prefix + name for name in (*names, *people))


def case_label(names: list[str], *, couple: bool) -> str:
    """How a case is named wherever it is listed: its partners' names (Case.display_name, CaseLink)."""
    joined = " & ".join(names)
    return joined if couple else f"{joined} (individual)"


def case_link_columns(prefix: str = "") -> tuple[str, ...]:
    """The values a CaseLink is made of, for values_list(): the case's own (prefix "") or through a
    relation to it (prefix "case__"); CaseLink.from_row takes them in this order."""
    key = f"{prefix[:-2]}_id" if prefix else "pk"
    names = ("reference", "phase", "opened_on", "partner_b_id")
    people = (f"{p}__{n}" for p in ("partner_a", "partner_b") for n in ("first_name", "last_name"))
    return (key, *(prefix + name for name in (*names, *people)))


_LINK_COLUMNS = case_link_columns()


@dataclass(frozen=True, slots=True)
class CaseLink:
    """A case as a list links it (cases/_case_links.jinja): read as plain values by `CaseQuerySet.links()`.
    Today prints four lists of up to twenty; as model instances (a case and its two clients each, through
    select_related and only()), building and compiling the rows cost Django 1.3 ms a list more."""

    pk: int
    reference: str
    phase: str
    opened_on: dt.date
    display_name: str

    @property
    def phase_label(self) -> str:
        return str(Phase(self.phase).label)

    @classmethod
    def from_row(cls, row: tuple[Any, ...] | list[Any]) -> "CaseLink":
        """From the values of `case_link_columns()`, in that order."""
        pk, reference, phase, opened_on, partner_b_id, a_first, a_last, b_first, b_last = row
        names = [f"{a_first} {a_last}"] + ([f"{b_first} {b_last}"] if partner_b_id is not None else [])
        return cls(pk, reference, phase, opened_on, case_label(names, couple=partner_b_id is not None))


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> "CaseQuerySet":
        # The phases in the query text, so that the open cases' partial index serves a prepared query's
        # generic plan too (tandem/lib/lookups.py).
        return self.filter(phase__literal_in=OPEN_PHASES)

    def links(self, limit: int | None = None) -> list[CaseLink]:
        """The cases (the first LIMIT) as CaseLinks, in this queryset's order: runs the query."""
        rows = self.values_list(*_LINK_COLUMNS)
        return [CaseLink.from_row(row) for row in (rows[:limit] if limit is not None else rows)]

    def with_people(self) -> "CaseQuerySet":
        return self.select_related("partner_a", "partner_b", "therapist", "team__first", "team__second")

    def locked(self) -> "CaseQuerySet":
        """The cases locked until the transaction ends, which makes two writers to one case take turns.
        FOR NO KEY UPDATE rather than FOR UPDATE: a row another transaction adds that names the case
        (a plan version, a booking) checks its foreign key at commit with a KEY SHARE lock, which FOR
        UPDATE would make wait for this whole transaction. Only the case row itself is locked, not the
        partners or team a select_related joins. (SQLite serializes every writing transaction.)"""
        return self.select_for_update(no_key=True, of=("self",))

    def assigned_to(self, user: Any) -> "CaseQuerySet":
        # The therapist's own cases and their teams' cases, each an indexed lookup: see cases/scopes.py.
        return self.filter(pk__in=scopes.assigned_ids(user.pk))


class Case(models.Model):
    """The unit of care: a couple, or one client whose partner does not attend (and why)."""

    # Null only between insert and the update that derives it from the row id.
    reference = models.CharField(max_length=20, unique=True, null=True, editable=False)
    partner_a = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases_as_a")
    partner_b = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="cases_as_b"
    )
    absent_partner = models.CharField(
        max_length=20,
        choices=AbsentPartner.choices,
        blank=True,
        help_text="For an individual case: why the partner does not attend.",
    )
    absent_partner_note = models.CharField(max_length=300, blank=True)
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.CONSULTATION)
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    team = models.ForeignKey(
        "accounts.CoTherapyTeam", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    presenting_notes = models.TextField(blank=True)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_on", "-id"]
        indexes = [
            models.Index(fields=["phase", "-opened_on"], name="case_phase_idx"),
            models.Index(fields=["therapist", "phase"], name="case_therapist_idx"),
            # A therapist's case ids straight from the index (their scope, cases/scopes.py), without
            # visiting rows spread over the whole table.
            models.Index(fields=["therapist", "id"], name="case_therapist_ids_idx"),
            models.Index(fields=["team", "id"], name="case_team_ids_idx"),
            # A team's open cases by phase (cases/scopes.py: assigned_sql with phases), as
            # case_therapist_idx for one therapist's.
            models.Index(fields=["team", "phase"], name="case_team_phase_idx"),
            models.Index(fields=["-opened_on", "-id"], name="case_opened_idx"),
            # The open cases oldest first (Today's lists): walking every case by opening day passed the
            # practice's years of discharged cases before the first open one.
            models.Index(
                fields=["opened_on", "id"], condition=Q(phase__in=OPEN_PHASES), name="case_open_opened_idx"
            ),
            # The cases waiting for a therapist (the director's Today), oldest first. Its condition has no
            # value in it, so a prepared statement's generic plan can use it too; one whose condition
            # compares with values (the open phases) is usable only when the values are in the query text.
            models.Index(
                fields=["opened_on", "id"],
                condition=Q(therapist__isnull=True, team__isnull=True),
                name="case_unassigned_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(partner_a=models.F("partner_b")), name="case_partners_differ"
            ),
            models.CheckConstraint(
                condition=Q(therapist__isnull=True) | Q(team__isnull=True), name="case_therapist_or_team"
            ),
            # A couple case has no absent-partner reason; an individual case must give one.
            models.CheckConstraint(
                condition=(Q(partner_b__isnull=True) & ~Q(absent_partner=""))
                | (Q(partner_b__isnull=False) & Q(absent_partner="")),
                name="case_absent_reason_iff_individual",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or ""

    @property
    def is_couple(self) -> bool:
        return self.partner_b_id is not None

    @property
    def partners(self) -> list[Client]:
        return [c for c in (self.partner_a, self.partner_b) if c is not None]

    @property
    def display_name(self) -> str:
        return case_label([c.full_name for c in self.partners], couple=self.is_couple)

    @property
    def clinicians(self) -> list:
        if self.team is not None:
            return [self.team.first, self.team.second]
        return [self.therapist] if self.therapist_id else []


class PresentingProblem(models.Model):
    """A coded presenting problem (ICD-10-CM and ICD-11 where a code exists)."""

    slug = models.SlugField(unique=True)
    label = models.CharField(max_length=120)
    icd10cm = models.CharField("ICD-10-CM", max_length=12, blank=True)
    icd11 = models.CharField("ICD-11", max_length=12, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "label"]

    def __str__(self) -> str:
        codes = ", ".join(c for c in (self.icd10cm, self.icd11) if c)
        return f"{self.label} ({codes})" if codes else self.label


class CaseProblem(models.Model):
    """A presenting problem on a case, optionally naming the partner it concerns."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="problems")
    problem = models.ForeignKey(PresentingProblem, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "problem", "client"], name="case_problem_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.problem} ({self.case})"


class PhaseChange(models.Model):
    """Every move of a case between phases: who, when and why (the care pathway adds the rules)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="phase_changes")
    from_phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    to_phase = models.CharField(max_length=20, choices=Phase.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    # Set only when a therapist moved the case past a rule that would have blocked it: kept and shown.
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="phasechange_case_idx")]

    def __str__(self) -> str:
        return f"{self.case}: {self.from_phase or 'new'} → {self.to_phase}"


class PartnerJoin(models.Model):
    """An individual case becoming a couple case: the partner who joined, and the reason they had been
    absent, which the case row itself can no longer hold once it has two partners."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="partner_joins")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    was_absent = models.CharField(max_length=20, choices=AbsentPartner.choices)
    was_absent_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case}: partner joined"


class PartnerLeave(models.Model):
    """A partner leaving a couple case, which goes on as the other partner's individual case: who left,
    when, who recorded it and why. The leaver's records stay with the case (retention decides their end);
    their portal no longer reaches it, since the case no longer names them."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="partner_leaves")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # Why they no longer attend (it becomes the individual case's reason) and the clinician's words.
    absent_partner = models.CharField(max_length=20, choices=AbsentPartner.choices)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case}: partner left"
