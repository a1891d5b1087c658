"""Reads for the measures pages: each one scoped to what its reader may see."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from tandem.access.services import CareScope, care_scope, cases_visible_to, deny, get_object_for, in_care
from tandem.accounts.models import Role
from tandem.cases.models import Case, CaseLink, Client, case_link_columns, link_fields
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.time import local_today
from tandem.measures import charts, policy
from tandem.measures.engine import ReliableChange, reliable_change
from tandem.measures.models import CoupleReportShare, Instrument, MeasureRequest, Response, SafetyAlert
from tandem.measures.schedule import SCHEDULED_PHASES


def open_requests() -> QuerySet[MeasureRequest]:
    return MeasureRequest.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True)


def is_overdue(request: MeasureRequest, today: dt.date) -> bool:
    return request.due_on + dt.timedelta(days=policy.OVERDUE_AFTER_DAYS) < today


# --- The client's own --------------------------------------------------------------------------------


def own_clients(user: Any) -> list[Client]:
    if getattr(user, "role", None) != Role.CLIENT:
        return []
    return list(Client.objects.filter(user=user))


def client_due(*, user: Any, today: dt.date | None = None) -> list[MeasureRequest]:
    """The questionnaires this client owes now: their own only, in cases in care."""
    today = today or local_today()
    requests = (
        open_requests()
        .filter(client__user=user, due_on__lte=today, case__phase__in=SCHEDULED_PHASES)
        # Only in cases they are still in: a partner who left a case owes it nothing.
        .filter(case__in=cases_visible_to(user))
        .select_related("instrument", "case")
        .order_by("-due_on", "-id")
    )
    # One entry per questionnaire: answering it completes every older open request for it too.
    latest: dict[tuple[int, int], MeasureRequest] = {}
    for request in requests:
        latest.setdefault((request.case_id, request.instrument_id), request)
    return sorted(latest.values(), key=lambda r: (r.due_on, r.pk))


def client_request(*, user: Any, request_id: int) -> MeasureRequest:
    """One of this client's own open requests; anything else (the partner's, a stranger's) is 404."""
    request = (
        open_requests()
        .filter(pk=request_id, client__user=user, case__phase__in=SCHEDULED_PHASES)
        .filter(case__in=cases_visible_to(user))
        .select_related("instrument", "case", "client")
        .first()
    )
    if request is None:
        raise deny(user, what="measure_request", object_id=request_id)
    return request


def client_request_answered(*, user: Any, request_id: int) -> bool:
    """Whether this is one of the client's own requests already answered (Back after submitting)."""
    return MeasureRequest.objects.filter(
        pk=request_id, client__user=user, completed_at__isnull=False, cancelled_at__isnull=True
    ).exists()


def _shared() -> Exists:
    # Exists, not a join filter: "revoked_at is null" across a join also matches a case with no share.
    return Exists(CoupleReportShare.objects.filter(case=OuterRef("pk"), revoked_at__isnull=True))


def shared_couple_cases(*, user: Any) -> list[Case]:
    """The client's couple cases whose therapist shared the couple report."""
    return list(
        Case.objects.filter(Q(partner_a__user=user) | Q(partner_b__user=user))
        .filter(_shared())
        .distinct()
        .order_by("pk")
    )


@dataclass
class CoupleRow:
    day: dt.date
    instrument_title: str
    client_name: str
    total: Any
    band: str


def couple_report(*, user: Any, case_id: int) -> tuple[Case, list[CoupleRow]]:
    """Both partners' couple-measure totals, for a partner of a case whose report is shared; else 404."""
    case = (
        Case.objects.filter(Q(partner_a__user=user) | Q(partner_b__user=user), pk=case_id)
        .filter(_shared())
        .with_people()
        .first()
    )
    if case is None or getattr(user, "role", None) != Role.CLIENT:
        raise deny(user, what="couple_report", object_id=case_id)
    codes = [code for code in {policy.COUPLE_INSTRUMENT, policy.COUPLE_BRIEF_INSTRUMENT, "CSI16", "CSI4"}]
    # Totals and bands only: the item answers never leave the clinical record.
    responses = (
        Response.objects.filter(case=case, instrument__code__in=codes, total__isnull=False)
        .select_related("instrument", "client")
        .only("answered_at", "total", "band", "instrument__title", "client__first_name")
        .order_by("answered_at", "id")
    )
    rows = [
        CoupleRow(
            charts._local_day(r), r.instrument.title, r.client.first_name, r.total, charts.band_label(r.band)
        )
        for r in responses
    ]
    return case, rows


# --- Clinicians -------------------------------------------------------------------------------------


@dataclass
class CaseResults:
    charts: list[charts.Chart]
    open_requests: list[MeasureRequest]
    alerts: list[SafetyAlert]
    share: CoupleReportShare | None
    responses: list[Response]


def case_results(*, case: Case) -> CaseResults:
    """Everything on a case's results page in a fixed number of queries. The caller checked access."""
    case_responses = Response.objects.filter(case=case)
    responses = list(case_responses.select_related("client").order_by("answered_at", "id"))
    # Each instrument read once: joined to every response, its definition (the questionnaire with its
    # norms, 6-21 KB of JSON) was parsed again for each of them, most of the page's database time.
    instruments = {i.pk: i for i in Instrument.objects.filter(pk__in=case_responses.values("instrument_id"))}
    # The case's partners are the clients; reuse the case's own objects for the charts' names.
    partners = {c.pk: c for c in case.partners}
    for response in responses:
        response.instrument = instruments[response.instrument_id]
        response.client = partners.get(response.client_id, response.client)
    return CaseResults(
        charts=charts.charts_for(case, responses),
        open_requests=list(
            open_requests().filter(case=case).select_related("instrument", "client").order_by("due_on", "id")
        ),
        alerts=list(SafetyAlert.objects.filter(case=case).select_related("client", "acknowledged_by")),
        share=CoupleReportShare.objects.filter(case=case, revoked_at__isnull=True).first(),
        responses=responses,
    )


def response_for_staff(*, case: Case, response_id: int, user: Any) -> Response:
    responses = Response.objects.filter(case=case).select_related("instrument", "client", "entered_by")
    return get_object_for(user, responses, response_id, what="measure_response", case_id=case.pk)


def alert_for_staff(*, case: Case, alert_id: int, user: Any) -> SafetyAlert:
    alerts = SafetyAlert.objects.filter(case=case).select_related("case")
    return get_object_for(user, alerts, alert_id, what="safety_alert", case_id=case.pk)


@dataclass(frozen=True, slots=True)
class AlertLink:
    """An unacknowledged alert as Today's banner prints it (measures/_today_alerts.html)."""

    case: CaseLink
    client_first_name: str
    created_at: dt.datetime


def today_alerts(*, user: Any, scope: CareScope | None = None) -> list[AlertLink]:
    """Unacknowledged safety alerts on the therapist's own cases; the director sees every one."""
    if getattr(user, "role", None) not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    scope = scope or care_scope(user)
    return [
        AlertLink(CaseLink.from_row(case), first, at)
        for first, at, *case in _unacknowledged_alerts.rows(**scope.values())
    ]


TODAY_DUE_LIMIT = 100


def today_due(
    *, user: Any, today: dt.date | None = None, scope: CareScope | None = None
) -> list[MeasureRequest]:
    """Questionnaires due (or overdue) on the therapist's own cases, oldest first; `overdue` set on each."""
    if getattr(user, "role", None) != Role.THERAPIST:
        return []
    today = today or local_today()
    scope = scope or care_scope(user)
    due = _due_by.rows(day=today, **scope.values())
    for request in due:
        request.overdue = is_overdue(request, today)  # type: ignore[attr-defined]
    return due


# Today's two lists, read on every view of Today: compiled once per worker (lib/remembered_queries.py).


@remembered_query
def _unacknowledged_alerts(*, case_ids: Ids | None = None) -> QuerySet[SafetyAlert, Any]:
    # Plain values for what the banner prints: as model instances (the alert, its client, its case and
    # both partners), building them cost more than the query.
    return (
        SafetyAlert.objects.filter(in_care(case_ids=case_ids), acknowledged_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("client__first_name", "created_at", *case_link_columns("case__"))
    )


@remembered_query
def _due_by(*, day: dt.date, case_ids: Ids | None = None) -> QuerySet[MeasureRequest]:
    return (
        open_requests()
        .filter(in_care(case_ids=case_ids), due_on__lte=day, case__phase__in=SCHEDULED_PHASES)
        .select_related("instrument", "client", "case__partner_a", "case__partner_b")
        .only("due_on", "reason", "instrument__code", "client__first_name", *link_fields("case__"))
        .order_by("due_on", "case_id", "id")[:TODAY_DUE_LIMIT]
    )


@dataclass(frozen=True)
class MeasureChange:
    """One partner's first and last scored response to one instrument in this case."""

    client: Client
    first: Response
    last: Response | None  # None when the instrument was answered only once
    change: ReliableChange | None  # None when there is no second score or the instrument has no norms

    @property
    def instrument(self) -> Any:
        return self.first.instrument


def measures_start_end(*, case: Case) -> list[MeasureChange]:
    """Per partner and instrument: the first and last response with a total, and whether the change
    between them is reliable (Jacobson & Truax, by the instrument's own norms). One query."""
    series: dict[tuple[int, int], list[Response]] = {}
    for response in (
        Response.objects.filter(case=case, total__isnull=False)
        .select_related("instrument", "client")
        .order_by("client_id", "instrument__code", "answered_at", "id")
    ):
        series.setdefault((response.client_id, response.instrument_id), []).append(response)
    rows = []
    for responses in series.values():
        first, last = responses[0], responses[-1] if len(responses) > 1 else None
        change = None
        if last is not None and first.total is not None and last.total is not None:
            change = reliable_change(first.instrument.definition, first.total, last.total)
        rows.append(MeasureChange(first.client, first, last, change))
    return rows
