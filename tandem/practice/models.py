from django.db import models


class Practice(models.Model):
    """The one practice this deployment serves (a group practice may have several locations)."""

    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["practice", "name"], name="location_unique_name")]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    accessible = models.BooleanField(
        default=False, help_text="Step-free access and an accessible toilet nearby."
    )
    capacity = models.PositiveSmallIntegerField(default=4)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="room_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class TeamRule(models.TextChoices):
    MIXED_GENDER = "mixed_gender", "One female and one male therapist"
    ANY_PAIR = "any_pair", "Any two therapists"
    SINGLE_ALLOWED = "single_allowed", "Any two therapists, or one alone"


class PracticePolicy(models.Model):
    """The clinic's booking rules: one row, read through `current()` (defaults until someone saves one)."""

    team_rule = models.CharField(max_length=20, choices=TeamRule.choices, default=TeamRule.MIXED_GENDER)
    intensive_days = models.PositiveSmallIntegerField(default=10)
    intensive_minutes = models.PositiveSmallIntegerField(
        default=120, help_text="The longest an intensive day may be."
    )
    intensive_weekdays_only = models.BooleanField(
        default=True, help_text="Intensive blocks skip Saturdays and Sundays."
    )
    late_cancel_hours = models.PositiveSmallIntegerField(
        default=24, help_text="A cancellation closer to the start than this is flagged as late."
    )

    class Meta:
        verbose_name_plural = "practice policy"

    def __str__(self) -> str:
        return "Practice policy"

    @classmethod
    def current(cls) -> "PracticePolicy":
        # Unsaved defaults when nobody has set a policy: reading the rules must never write.
        return cls.objects.order_by("pk").first() or cls()


class PracticeClosure(models.Model):
    """A local day on which the practice is closed (public holiday, training day)."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}: {self.reason}"
