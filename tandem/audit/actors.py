"""Who acts when no person does: the public site, the background workers, the seed, the sign-in pages
(for a visitor not yet known) and the management commands run on the server.

System parts call the same services as people, passing a `SystemActor` where a person passes their user.
It is deliberately not a user: it has no role and answers "not signed in" to every predicate written for
people, so the permission layer grants it nothing unless a rule names it (see `tandem.access.services`).
"""

from dataclasses import dataclass
from typing import ClassVar, Final

# The system parts that may act, as their audit rows name them.
SYSTEM_PARTS: Final = (
    "public-site",
    "notify-worker",
    "planning-worker",
    "seed",
    "sign-in",
    "staff-command",
    "key-rotation",
    "export-command",
    "claims-export",
    "outcomes-rebuild",
)


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
# The log-in and password-reset pages, acting for a visitor who is nobody yet (a failed log-in, a
# lock-out, a reset asked for): the row names the page, never the name typed.
SIGN_IN: Final = SystemActor("sign-in")
# Management commands, run by an operator on the server.
STAFF_COMMAND: Final = SystemActor("staff-command")  # staff_link: the first director, a console link
KEY_ROTATION: Final = SystemActor("key-rotation")  # rotate_keys
EXPORT_COMMAND: Final = SystemActor("export-command")  # export_client_data
CLAIMS_EXPORT: Final = SystemActor("claims-export")  # export_claims
OUTCOMES_REBUILD: Final = SystemActor("outcomes-rebuild")  # outcomes_rebuild, the seed's rebuild
