from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    DIRECTOR = "director", "Clinical director"
    THERAPIST = "therapist", "Therapist"
    COORDINATOR = "coordinator", "Intake coordinator"
    CLIENT = "client", "Client"


STAFF_ROLES = (Role.DIRECTOR, Role.THERAPIST, Role.COORDINATOR)
CLINICAL_ROLES = (Role.DIRECTOR, Role.THERAPIST)


class User(AbstractUser):
    """Everyone who logs in: staff and (later, through the portal) clients.

    `is_staff` keeps Django's meaning (may use the admin for set-up tables); `role` is what Tandem's
    permission layer reads.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLIENT)
    # Unique when present (password reset finds the account by it); null, not "", when absent.
    email = models.EmailField("e-mail address", unique=True, null=True, blank=True)  # type: ignore[assignment]

    class Meta:
        ordering = ["last_name", "first_name"]
        # Staff by role and name (calendar pickers, set-up, audit filters): the clients' log-ins are most
        # of the table and grow with the practice, and the staff lists scanned them all.
        indexes = [models.Index(fields=["role", "last_name", "first_name"], name="user_role_name_idx")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_practice_staff(self) -> bool:
        return self.is_active and self.role in STAFF_ROLES

    @property
    def is_director(self) -> bool:
        return self.is_active and self.role == Role.DIRECTOR

    @property
    def is_therapist(self) -> bool:
        return self.is_active and self.role == Role.THERAPIST

    @property
    def is_coordinator(self) -> bool:
        return self.is_active and self.role == Role.COORDINATOR


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NON_BINARY = "non_binary", "Non-binary"
    UNDISCLOSED = "undisclosed", "Prefers not to say"


class TherapistProfile(models.Model):
    """What the practice needs to know about a therapist: gender (team rules) and licence."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="therapist_profile")
    gender = models.CharField(max_length=20, choices=Gender.choices)
    credentials = models.CharField(max_length=200, help_text="Degrees and titles, as shown to clients.")
    licence_number = models.CharField(max_length=60, blank=True)
    licence_body = models.CharField(max_length=120, blank=True)
    licence_expires = models.DateField(null=True, blank=True)
    bio = models.TextField(blank=True)
    offers_consultation = models.BooleanField(
        default=False, help_text="Clients may book a free consultation with this therapist online."
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.get_gender_display()})"


class WorkingHours(models.Model):
    """A weekly block in which a therapist sees clients at one location (local wall-clock time)."""

    therapist = models.ForeignKey(TherapistProfile, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey("practice.Location", on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ]
    )
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["therapist", "weekday", "starts"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="working_hours_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"  # noqa: RUF001


class CoTherapyTeam(models.Model):
    """Two therapists who see couples together (intensives). The team rule is checked when formed."""

    first = models.ForeignKey(User, on_delete=models.PROTECT, related_name="teams_as_first")
    second = models.ForeignKey(User, on_delete=models.PROTECT, related_name="teams_as_second")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(first=models.F("second")), name="team_two_different_therapists"
            ),
            models.UniqueConstraint(fields=["first", "second"], name="team_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.first} & {self.second}"

    @property
    def members(self) -> tuple[User, User]:
        return (self.first, self.second)


class StaffLinkPurpose(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    RESET = "reset", "Set-up again (reset by the director)"


class StaffInvitation(models.Model):
    """A single-use, expiring e-mailed link with which a staff member sets their password and enrols
    their second factor. It is the only way to enrol one without being logged in already: a password
    alone never does. Only a keyed hash of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_invitations")
    purpose = models.CharField(max_length=20, choices=StaffLinkPurpose.choices)
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    # None when printed by the `staff_link` command (the first director of a new installation).
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Staff link {self.pk} for user {self.user_id}"
