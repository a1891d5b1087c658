"""What a client sees in their portal: only their own cases, their own and the couple's homework."""

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from tandem.access.services import cases_visible_to, client_sees_partners_individual_sessions
from tandem.accounts.models import Role
from tandem.cases.models import Case, Client
from tandem.homework.selectors import client_assignments
from tandem.lib.remembered_queries import remembered_query
from tandem.pathway.models import IntakeRecord
from tandem.pathway.rules import CLIENT_INTAKE_PHASES
from tandem.portal.messaging import client_conversations, unread_for_client
from tandem.portal.models import Invitation
from tandem.records.models import ConfidentialityPolicy
from tandem.scheduling.models import INDIVIDUAL_KINDS, Appointment, AppointmentStatus


def upcoming_appointments(*, user: Any, now: dt.datetime, limit: int = 10) -> list[Appointment]:
    """The client's own booked sessions (those they attend), and, where the case's confidentiality policy
    lets them (access.client_sees_partners_individual_sessions), their partner's individual sessions,
    marked `mine = False`. A session under way is still listed (its video room is joined from here).
    Four queries."""
    if user.role != Role.CLIENT:
        return []
    cases = cases_visible_to(user)
    policies = ConfidentialityPolicy.objects.filter(case__in=cases).select_related("case")
    shared = [p.case_id for p in policies if client_sees_partners_individual_sessions(p)]
    rows = list(
        Appointment.objects.with_attendees()
        .filter(
            Q(attendees__user=user) | Q(case_id__in=shared, kind__in=INDIVIDUAL_KINDS),
            case__in=cases,
            ends_at__gt=now,
            status=AppointmentStatus.BOOKED,
        )
        .distinct()
        .order_by("starts_at")[:limit]
    )
    for appointment in rows:
        attending = list(appointment.attendees.all())
        appointment.mine = any(c.user_id == user.pk for c in attending)  # type: ignore[attr-defined]
        appointment.attending_names = ", ".join(c.first_name for c in attending)  # type: ignore[attr-defined]
    return rows


def client_appointment(*, user: Any, appointment_id: int) -> Appointment | None:
    """One booked appointment this client attends (for add-to-calendar), or None."""
    if user.role != Role.CLIENT:
        return None
    return (
        Appointment.objects.filter(
            case__in=cases_visible_to(user),
            attendees__user=user,
            status=AppointmentStatus.BOOKED,
            pk=appointment_id,
        )
        .select_related("room__location")
        .first()
    )


def intake_status(*, conversations: list[tuple[Case, Client]]) -> list[tuple[Case, IntakeRecord | None]]:
    """Each case whose intake this client may still fill in, with their own record so far (if any)."""
    open_cases = [(case, me) for case, me in conversations if case.phase in CLIENT_INTAKE_PHASES]
    if not open_cases:
        return []
    mine = {
        r.case_id: r
        for r in IntakeRecord.objects.filter(
            case__in=[case for case, _ in open_cases], client__in=[me for _, me in open_cases]
        )
    }
    return [(case, mine.get(case.pk)) for case, me in open_cases if me is not None]


def portal_home(*, user: Any, now: dt.datetime) -> dict[str, Any]:
    assignments = client_assignments(user=user)
    conversations = client_conversations(user=user)
    return {
        "conversations": conversations,
        "intakes": intake_status(conversations=conversations),
        "unread": unread_for_client(user=user),
        "appointments": upcoming_appointments(user=user, now=now),
        "active": [a for a in assignments if a.assignment.is_active],
        "finished": [a for a in assignments if not a.assignment.is_active],
    }


@remembered_query
def _usable_invitations(*, first_id: int, second_id: int, now: dt.datetime) -> QuerySet[Invitation]:
    # Always two ids (a client alone is given twice), so that the text is the same for every case page,
    # which reads this on every view: compiled once per worker (lib/remembered_queries.py). Not `__in`,
    # which drops a repeated id and so would write another text for a client alone.
    return Invitation.objects.filter(
        Q(client_id=first_id) | Q(client_id=second_id),
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).order_by("client_id", "-created_at")


def pending_invitations(*, clients: list[Client], now: dt.datetime) -> dict[int, Invitation]:
    """The latest usable invitation of each client (a case's one or two partners), by client id."""
    first, second = clients[0].pk, clients[-1].pk
    latest: dict[int, Invitation] = {}
    for invitation in _usable_invitations.rows(first_id=first, second_id=second, now=now):
        latest.setdefault(invitation.client_id, invitation)
    return latest


def case_portal_status(*, case: Case, now: dt.datetime) -> list[tuple[Client, Invitation | None]]:
    pending = pending_invitations(clients=case.partners, now=now)
    return [(client, pending.get(client.pk)) for client in case.partners]
