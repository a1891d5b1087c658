from django.conf import settings
from django.db import models
from django.db.models import Q


class Category(models.TextChoices):
    SENSATE_FOCUS = "sensate_focus", "Sensate focus"
    COMMUNICATION = "communication", "Communication"
    SCHEDULING = "scheduling", "Scheduling intimacy"
    INDIVIDUAL = "individual", "Individual exercise"
    READING = "reading", "Reading"


class Audience(models.TextChoices):
    COUPLE = "couple", "Both partners together"
    INDIVIDUAL = "individual", "One partner on their own"
    EITHER = "either", "Both partners or one"


class Exercise(models.Model):
    """One entry of the clinic's exercise library; the clinic edits it in the set-up admin."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=20, choices=Category.choices)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.EITHER)
    summary = models.CharField(max_length=300, help_text="One line, shown in lists.")
    instructions = models.TextField(help_text="What the clients read in their portal. Plain words.")
    times_per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Suggested number of times per week."
    )
    minutes = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Suggested length, minutes.")
    stage = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Place in a staged sequence.")
    next_stage = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="previous_stage",
        help_text="The exercise the therapist can unlock once this one goes well.",
    )
    active = models.BooleanField(default=True, help_text="Retired exercises stay on old assignments.")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["category", "sort_order", "title"]
        constraints = [
            models.CheckConstraint(condition=~Q(next_stage=models.F("pk")), name="exercise_next_not_self"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def suggestion(self) -> str:
        parts = []
        if self.times_per_week:
            parts.append(f"{self.times_per_week} times a week")
        if self.minutes:
            parts.append(f"about {self.minutes} minutes")
        return ", ".join(parts)


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"  # the therapist moved on (e.g. unlocked the next stage)


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def active(self) -> "AssignmentQuerySet":
        return self.filter(status=AssignmentStatus.ACTIVE)


class Assignment(models.Model):
    """An exercise for a couple (client empty) or one partner (client set), until a date and/or n times."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="assignments")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="assignments")
    client = models.ForeignKey(
        "cases.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="individual_assignments",
        help_text="Empty: for the couple. Set: for this partner only.",
    )
    times_expected = models.PositiveSmallIntegerField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    therapist_note = models.TextField(blank=True, help_text="Shown to the clients with the instructions.")
    status = models.CharField(
        max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="unlocked"
    )
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-assigned_at", "-id"]
        indexes = [models.Index(fields=["case", "status"], name="assignment_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(times_expected__isnull=False) | Q(due_on__isnull=False),
                name="assignment_has_target",
            ),
            models.CheckConstraint(
                condition=Q(times_expected__isnull=True) | Q(times_expected__gte=1),
                name="assignment_times_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exercise} ({self.case})"

    @property
    def is_active(self) -> bool:
        return self.status == AssignmentStatus.ACTIVE

    @property
    def for_couple(self) -> bool:
        return self.client_id is None

    @property
    def expected(self) -> int:
        """How many times each partner is asked to do it; a due date alone means once."""
        return self.times_expected or 1

    def targets(self) -> list:
        """The clients asked to do it (needs case partners loaded)."""
        if self.client_id is not None:
            return [c for c in self.case.partners if c.pk == self.client_id]
        return self.case.partners


class AssignmentLog(models.Model):
    """One partner's entry for one time they did (or meant to do) an assignment.

    A private entry is seen by its author and the case's clinicians; a shared one also by the partner.
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="logs")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    logged_at = models.DateTimeField()
    done = models.BooleanField()
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    obstacles = models.TextField(blank=True)
    note = models.TextField(blank=True)
    shared = models.BooleanField(default=False)

    class Meta:
        ordering = ["-logged_at", "-id"]
        indexes = [models.Index(fields=["assignment", "client"], name="assignmentlog_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__lte=10), name="assignmentlog_rating_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} by {self.client_id} at {self.logged_at:%Y-%m-%d}"
