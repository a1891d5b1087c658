"""The clinic's measurement policy: which questionnaires are asked, of whom, and when.

Constants with defaults chosen for a couples and sex-therapy practice; each reads an override from Django
settings (TANDEM_MEASURES_*), so a deployment changes its policy without touching code.
"""

from django.conf import settings

# The couple measure asked of both partners at the main occasions, and the short one for daily checks
# during an intensive (sixteen items every day of a block is a burden; four items keep the trend).
COUPLE_INSTRUMENT: str = getattr(settings, "TANDEM_MEASURES_COUPLE_INSTRUMENT", "CSI16")
COUPLE_BRIEF_INSTRUMENT: str = getattr(settings, "TANDEM_MEASURES_COUPLE_BRIEF_INSTRUMENT", "CSI4")

# Asked of each partner: depression and anxiety screens.
MOOD_INSTRUMENTS: tuple[str, ...] = getattr(settings, "TANDEM_MEASURES_MOOD_INSTRUMENTS", ("PHQ9", "GAD7"))

# Sexual-function instruments by presenting-problem slug, asked of the partner the problem names (or
# the one client of an individual case). The record holds no anatomy, so gender-neutral problems
# (low desire, aversion, other) get none automatically; ICD-10-CM F52.22 (arousal) and dyspareunia are
# scored with the FSFI, whose domains cover them.
SEXUAL_FUNCTION_INSTRUMENTS: dict[str, tuple[str, ...]] = getattr(
    settings,
    "TANDEM_MEASURES_SEXUAL_FUNCTION_INSTRUMENTS",
    {
        "erectile-disorder": ("IIEF5",),
        "erectile-dysfunction-organic": ("IIEF5",),
        "premature-ejaculation": ("PEDT",),
        "female-orgasmic-disorder": ("FSFI", "FSDSR"),
        "arousal-disorder": ("FSFI", "FSDSR"),
        "vaginismus": ("FSFI", "FSDSR"),
        "sexual-pain": ("FSFI", "FSDSR"),
    },
)

# Standard (weekly) format: the couple and mood measures after every N attended sessions.
SESSIONS_BETWEEN_MEASURES: int = getattr(settings, "TANDEM_MEASURES_SESSIONS_BETWEEN", 4)

# Intensives: "daily" (the brief couple measure after each day's session, plus the full set at the end
# of the block) or "block_end" (the full set at the end of the block only).
INTENSIVE_SCHEDULE: str = getattr(settings, "TANDEM_MEASURES_INTENSIVE_SCHEDULE", "daily")

# A questionnaire is overdue this many days after its due date.
OVERDUE_AFTER_DAYS: int = getattr(settings, "TANDEM_MEASURES_OVERDUE_AFTER_DAYS", 7)

# Engine flags that raise a safety alert to the assigned therapists.
SAFETY_FLAGS: tuple[str, ...] = getattr(settings, "TANDEM_MEASURES_SAFETY_FLAGS", ("suicidal_ideation",))

# Shown to a client right after an answer that raised a safety flag (the practice is in the Netherlands
# by default; a deployment elsewhere sets its own numbers).
CRISIS_TEXT: str = getattr(
    settings,
    "TANDEM_MEASURES_CRISIS_TEXT",
    "If you are in danger now, call 112. If you are thinking about ending your life, you can talk to "
    "someone at 113 Suicide Prevention, day and night: call 113 or 0800-0113 (free).",
)

# A response completes the client's open requests for that questionnaire due up to this many days after
# the day it was answered (a therapist who enters answers at a session just before the due day).
COMPLETES_EARLY_DAYS: int = getattr(settings, "TANDEM_MEASURES_COMPLETES_EARLY_DAYS", 3)
