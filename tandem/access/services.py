"""The one permission layer: who may see and do what.

Every view and selector asks here. Anything a user may not see is answered with 404 (never 403, so that
existence is not revealed) and the denial is audited.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal, Protocol, TypeVar

from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from tandem.access.models import BreakGlassGrant
from tandem.accounts.models import Role, User
from tandem.audit.actors import PUBLIC_SITE, SystemActor
from tandem.audit.services import audit_record
from tandem.cases import scopes
from tandem.cases.models import OPEN_PHASES, Case, CaseQuerySet, Client, Phase
from tandem.lib.errors import Refusal
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.rows import by_pk

BREAK_GLASS_MAX = timedelta(hours=4)

M = TypeVar("M", bound=Model)


class AccessDenied(Exception):
    """A rule refused an action; the message is fit to show to the user."""


def cases_visible_to(user: Any) -> CaseQuerySet:
    """Every case this user may open at all (clinical content is a further question)."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if _sees_whole_practice(user):
        return Case.objects.all()
    # Each way of reaching a case is its own indexed lookup, joined by UNION. An OR across joins (the
    # team's two members, the two partners) made the database read every case of the practice, so a
    # therapist's or a client's pages slowed down as the practice grew.
    # (The SQL of each scope is written once in cases/scopes.py: see there why.)
    if user.role == Role.THERAPIST:
        return _therapists_cases(user.pk, timezone.now())
    if user.role == Role.CLIENT:
        return Case.objects.filter(pk__in=scopes.partner_ids(user.pk))
    return Case.objects.none()


def _therapists_cases(user_id: int, now: datetime) -> CaseQuerySet:
    """Assigned to the therapist (alone or in a team) or opened to them by an unexpired grant."""
    sql = scopes.evaluated_first(f"{scopes.assigned_sql()} UNION {_granted_sql()}")
    scope = RawSQL(sql, (*[user_id] * 4, connection.ops.adapt_datetimefield_value(now)))  # noqa: S611
    return Case.objects.filter(pk__in=scope)


# One case with its people, as get_case_for reads it on every case page: compiled once per worker
# (lib/remembered_queries.py says why); the scope is cases_visible_to's.


@remembered_query
def _any_case(*, case_id: int) -> CaseQuerySet:
    return Case.objects.filter(pk=case_id).with_people().order_by()[:1]


@remembered_query
def _therapists_case(*, case_id: int, user_id: int, now: datetime) -> CaseQuerySet:
    return _therapists_cases(user_id, now).filter(pk=case_id).with_people().order_by()[:1]


def _staff_case(user: Any, case_id: int) -> Case | None:
    """The case if it is in staff_cases_visible_to(user), with its partners, therapist and team."""
    reach = _staff_reach(user)
    if reach == "practice":
        return _any_case.first(case_id=case_id)
    if reach == "therapist":
        return _therapists_case.first(case_id=case_id, user_id=user.pk, now=timezone.now())
    return None


def _staff_reach(user: Any) -> Literal["practice", "therapist"] | None:
    """Which scope of staff_cases_visible_to is the user's, for the remembered reads that need one query
    per scope: the whole practice, a therapist's own and granted cases, or none."""
    if _sees_whole_practice(user):
        return "practice"
    if user.is_authenticated and user.is_active and user.role == Role.THERAPIST:
        return "therapist"
    return None


# The cases of a page of appointments (a calendar), with who is assigned to each: read on every view of
# a calendar, compiled once per worker; the scope is cases_visible_to's, as for _staff_case above.
_ASSIGNED = ("pk", "therapist_id", "team__first", "team__second")


@remembered_query
def _cases_among(*, case_ids: Ids) -> QuerySet[Case, tuple[Any, ...]]:
    return Case.objects.filter(pk__any_of=case_ids).order_by().values_list(*_ASSIGNED)


@remembered_query
def _therapists_cases_among(*, case_ids: Ids, user_id: int, now: datetime) -> QuerySet[Case, tuple[Any, ...]]:
    return _therapists_cases(user_id, now).filter(pk__any_of=case_ids).order_by().values_list(*_ASSIGNED)


def openable_and_assigned(user: Any, case_ids: Collection[int]) -> tuple[set[int], set[int]]:
    """Among these cases, those in staff_cases_visible_to(user), and those whose sessions the user may
    record: every one for the director and the front desk, a therapist's own (is_assigned) otherwise.
    In one query, for a page listing many appointments."""
    reach = _staff_reach(user) if case_ids else None
    if reach == "practice":
        rows = _cases_among.rows(case_ids=Ids(case_ids))
    elif reach == "therapist":
        rows = _therapists_cases_among.rows(case_ids=Ids(case_ids), user_id=user.pk, now=timezone.now())
    else:
        return set(), set()
    visible: set[int] = set()
    assigned: set[int] = set()
    for pk, therapist_id, first_id, second_id in rows:
        visible.add(pk)
        team = (first_id, second_id) if first_id is not None else None
        if reach == "practice" or _holds(user.pk, therapist_id, team):
            assigned.add(pk)
    return visible, assigned


def _sees_whole_practice(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in (Role.DIRECTOR, Role.COORDINATOR))


@cache
def _granted_sql() -> str:
    """The cases a user's unexpired break-glass grants open (parameters: user id, now)."""
    grant = scopes.SqlNames(BreakGlassGrant)
    return (
        f"SELECT {grant.col('case')} FROM {grant.table} "  # noqa: S608
        f"WHERE {grant.col('user')} = %s AND {grant.col('expires_at')} > %s"
    )


def staff_cases_visible_to(user: Any) -> CaseQuerySet:
    """Cases for the staff pages: clients never reach these (their place is the portal)."""
    if not user.is_authenticated or user.role == Role.CLIENT:
        return Case.objects.none()
    return cases_visible_to(user)


@dataclass(frozen=True)
class CareScope:
    """The cases in a member of staff's care (care_scope), read once for a page that asks about them
    many times (Today).

    Today's dozen lists come from several apps and each is scoped to the cases in the user's care.
    Nested in each query, the scope (a UNION) made PostgreSQL plan every list afresh, 1.5-4 ms each,
    more than it spent answering, and read a therapist's years of cases again for each list. Read
    once as ids and passed as one array parameter (`__any_of`), every list keeps its plan and starts
    from the ids. The ids are read when the page is and kept nowhere else. `None` is the whole
    practice (the director and the front desk), where no list needs narrowing by case."""

    ids: Ids | None
    open_ids: Ids | None

    def cases(self, path: str = "case", *, open_only: bool = False) -> Q:
        """The condition on a model whose case is reached by `path` ("" for Case itself)."""
        return in_care(path, open_only=open_only, **self.values(open_only=open_only))

    def values(self, *, open_only: bool = False) -> dict[str, Ids]:
        """The scope as a remembered query's value (lib/remembered_queries.py): `case_ids`, or nothing for
        the whole practice. The query's builder hands it on to `in_care`."""
        ids = self.open_ids if open_only else self.ids
        return {} if ids is None else {"case_ids": ids}


def in_care(path: str = "case", *, case_ids: Ids | None = None, open_only: bool = False) -> Q:
    """CareScope.cases for a builder of a remembered query, given the scope as CareScope.values gave it."""
    if case_ids is not None:
        return Q(**{f"{path}_id__any_of" if path else "pk__any_of": case_ids})
    if open_only:
        return Q(**{f"{path}__phase__literal_in" if path else "phase__literal_in": OPEN_PHASES})
    return Q()


def care_scope(user: Any) -> CareScope:
    """The cases a member of staff acts on from Today, and the open ones among them: a therapist's own
    and their teams' (not the ones a break-glass grant opens: narrower than what they may open), the
    whole practice for the director and the front desk, nothing for anyone else. One query for a
    therapist (the ids with their phases), none otherwise."""
    if getattr(user, "role", None) == Role.THERAPIST and user.is_active:
        rows = scopes.assigned_phases(user.pk)
        return CareScope(
            ids=Ids(pk for pk, _ in rows), open_ids=Ids(pk for pk, phase in rows if phase in OPEN_PHASES)
        )
    if _sees_whole_practice(user):
        return CareScope(ids=None, open_ids=None)
    return CareScope(ids=Ids(()), open_ids=Ids(()))


def is_assigned(user: Any, case: Case) -> bool:
    team = case.team
    return _holds(user.pk, case.therapist_id, (team.first_id, team.second_id) if team is not None else None)


def _holds(user_id: int | None, therapist_id: int | None, team: tuple[int, int] | None) -> bool:
    """A case with a team belongs to the team's two therapists, any other to its therapist."""
    if user_id is None:
        return False
    return user_id in team if team is not None else user_id == therapist_id


def active_break_glass(user: Any, case: Case) -> BreakGlassGrant | None:
    return BreakGlassGrant.objects.filter(user=user, case=case, expires_at__gt=timezone.now()).first()


def can_see_clinical(user: Any, case: Case) -> bool:
    """Presenting problems and (later) notes, measures, referrals: not for the front desk."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role == Role.DIRECTOR:
        return True
    if user.role == Role.THERAPIST:
        return is_assigned(user, case) or active_break_glass(user, case) is not None
    return False


def can_edit_case(user: Any, case: Case) -> bool:
    """Demographics and assignment: the front desk, the director, and the case's own therapists."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in (Role.DIRECTOR, Role.COORDINATOR):
        return True
    return user.role == Role.THERAPIST and is_assigned(user, case)


def can_create_case(user: Any) -> bool:
    if isinstance(user, SystemActor):
        # The public site opens the case of a free consultation booked online; no other system part may.
        return user == PUBLIC_SITE
    return (
        user.is_authenticated
        and user.is_active
        and user.role in (Role.DIRECTOR, Role.COORDINATOR, Role.THERAPIST)
    )


def deny(user: Any, *, what: str, object_id: Any, case_id: Any = None) -> Http404:
    """Audit a refused look and return the 404 to raise. The audit row commits on its own."""
    audit_record(
        actor=user, action="access.denied", case=case_id, detail={"object": what, "id": str(object_id)}
    )
    return Http404("Not found")


def get_object_for(
    user: Any,
    queryset: QuerySet[M],
    object_id: Any,
    *,
    what: str,
    allowed: Callable[[M], bool] = lambda _: True,
    case_id: Any = None,
) -> M:
    """The one object of `queryset` with this id if `allowed` says this user may have it; otherwise the
    audited 404 (naming its case when it has one). For objects of the apps above this layer, whose
    `get_<object>_for` helpers keep their queries and pass the rule from here."""
    found = by_pk(queryset, object_id)
    if found is None or not allowed(found):
        case = getattr(found, "case_id", None) if found is not None else None
        raise deny(user, what=what, object_id=object_id, case_id=case if case is not None else case_id)
    return found


def get_case_for(user: Any, case_id: Any, *, clinical: bool = False, audit_view: bool = True) -> Case:
    """The case if this user may see it (and its clinical content, if asked); otherwise 404."""
    try:
        case_pk = int(case_id)
    except (TypeError, ValueError):
        raise Http404("Not found") from None
    case = _staff_case(user, case_pk)
    if case is None or (clinical and not can_see_clinical(user, case)):
        raise deny(user, what="case", object_id=case_pk, case_id=case_pk if case else None)
    if audit_view:
        audit_record(
            actor=user,
            action="case.view_clinical" if can_see_clinical(user, case) else "case.view",
            target=case,
            case=case,
        )
    return case


def get_partner_of(case: Case, client_id: Any) -> Client:
    """One partner of a case the caller already may see; any other client id answers 404."""
    for client in case.partners:
        if client.pk == client_id:
            return client
    raise Http404("Not found")


def break_glass_open(*, user: Any, case_id: int, reason: str, hours: float = 1.0) -> BreakGlassGrant:
    """Emergency access for the director or a covering therapist: written reason, time-limited."""
    reason = reason.strip()
    if user.role not in (Role.DIRECTOR, Role.THERAPIST) or not user.is_active:
        raise AccessDenied("Only the clinical director or a therapist can use emergency access.")
    if len(reason) < 15:
        raise Refusal("Write the reason for emergency access (at least 15 characters).")
    duration = timedelta(hours=hours)
    if duration <= timedelta(0) or duration > BREAK_GLASS_MAX:
        raise Refusal("Emergency access lasts between a few minutes and 4 hours.")
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        raise deny(user, what="case", object_id=case_id)
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=user, case=case, reason=reason, started_at=now, expires_at=now + duration
        )
        audit_record(
            actor=user,
            action="access.break_glass",
            target=grant,
            case=case,
            detail={"expires_at": grant.expires_at.isoformat()},
        )
    return grant


# --- predicates the pathway and the public inbox share with their pages (one home for permissions) ---


class ClinicalStep(Protocol):
    """All the permission layer needs of a pathway step (`pathway.rules.Transition`)."""

    @property
    def to_phase(self) -> str: ...

    @property
    def clinical(self) -> bool: ...


def is_case_clinician(user: Any, case: Case) -> bool:
    """May write clinical records and make clinical moves: the director, or a therapist of the case.
    (Emergency access lets a therapist read, not steer the case.)"""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.role == Role.DIRECTOR or (user.role == Role.THERAPIST and is_assigned(user, case))


def can_move_case(actor: User | SystemActor, case: Case, step: ClinicalStep) -> bool:
    if isinstance(actor, SystemActor):
        # The one move a system part makes: the public site closes the case of a free consultation the
        # visitor cancelled online, before anyone has taken it further.
        return actor == PUBLIC_SITE and case.phase == Phase.CONSULTATION and step.to_phase == Phase.CLOSED
    return is_case_clinician(actor, case) if step.clinical else can_edit_case(actor, case)


def can_book_free_consultation(actor: Any) -> bool:
    """Free consultations are booked and cancelled online by the public site for the visitor; staff book
    ordinary appointments instead."""
    return isinstance(actor, SystemActor) and actor == PUBLIC_SITE


def can_use_inbox(user: Any) -> bool:
    """The front desk and the director answer the public; therapists meet the visitor in the
    consultation itself and find it on their own calendar."""
    return bool(user.is_authenticated and user.is_active and user.role in (Role.COORDINATOR, Role.DIRECTOR))


# The value of records.SecretsPolicy.NO_SECRETS (records sits above this layer, so it is named here).
NO_SECRETS_POLICY = "no_secrets"


def client_sees_partners_individual_sessions(policy: Any) -> bool:
    """Whether a partner sees the other partner's individual sessions (individual assessment, conjunctive)
    in their portal, under the case's confidentiality policy (`records.ConfidentialityPolicy` or None).

    Under "no secrets", agreed by both, what one partner tells the therapist may be shared, so the other
    sees that such a session is booked: when, and whose; never a reminder or a calendar file, since they
    do not attend. Under "limited secrets", or while no policy is agreed by both, they see nothing of it:
    when and how often a partner talks to the therapist alone may be what they keep private.
    """
    return policy is not None and policy.kind == NO_SECRETS_POLICY and bool(policy.agreed_by_all)
