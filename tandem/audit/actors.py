"""Who acts when no person does: the public site, the background workers and the seed.

System parts call the same services as people, passing a `SystemActor` where a person passes their user.
It is deliberately not a user: it has no role and answers "not signed in" to every predicate written for
people, so the permission layer grants it nothing unless a rule names it (see `tandem.access.services`).
"""

from dataclasses import dataclass
from typing import ClassVar, Final

# The system parts that may act, as their audit rows name them.
SYSTEM_PARTS: Final = ("public-site", "notify-worker", "planning-worker", "seed")


@dataclass(frozen=True)
class SystemActor:
    name: str

    # What user predicates read, answered as for nobody signed in: a system part can never pass a check
    # meant for staff (let alone a superuser's).
    pk: ClassVar[None] = None
    is_authenticated: ClassVar[bool] = False
    is_active: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False
    role: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.name not in SYSTEM_PARTS:
            raise ValueError(f"Unknown system part {self.name!r}; expected one of {', '.join(SYSTEM_PARTS)}.")

    @property
    def label(self) -> str:
        # ":" never occurs in a user name (Django's validator refuses it), so no person can pose as this.
        return f"system:{self.name}"

    def __str__(self) -> str:
        return self.label


PUBLIC_SITE: Final = SystemActor("public-site")
NOTIFY_WORKER: Final = SystemActor("notify-worker")
PLANNING_WORKER: Final = SystemActor("planning-worker")
SEED: Final = SystemActor("seed")
