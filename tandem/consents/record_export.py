"""Record release and export: what a release may include (the plan), and the FHIR R4 Bundle built from it.

A release that includes a partner's information needs that partner's own valid release of information to
the same recipient. Content about one partner (their individual notes, questionnaires, referrals) needs that
partner's consent for its category; content about the couple (joint sessions, the treatment plan) needs
every partner's. What is not covered is left out and the export says so. Psychotherapy (process) notes are
never part of any export: nothing here reads them.

FHIR: each questionnaire response and its scores are mapped by measures/fhir.py (the one mapping of that
data); the other resources are mapped here. Identifier and local code systems hang off the practice's
FHIR_IDENTIFIER_SYSTEM. fhir.resources 8 has no plain R4 package; R4B (4.3.0) kept every element used here as
in R4, so the bundle is checked against the R4B models (the tests check it against the R4 JSON schema too).
"""

import base64
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.clinical import can_export_record
from tandem.access.services import AccessDenied
from tandem.accounts.models import User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client, Phase
from tandem.consents.models import Consent, ConsentKind, ReleaseCategory
from tandem.consents.selectors import valid_release
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today, practice_zone
from tandem.measures.fhir import instant, local_system, response_author, response_to_fhir, score_observations
from tandem.measures.models import Response
from tandem.pathway.models import Referral, ReferralStatus, TreatmentPlan
from tandem.records.models import SessionNote
from tandem.records.selectors import notes_releasable, notes_withheld_count
from tandem.scheduling.models import Appointment, AppointmentStatus

ALL_CATEGORIES = frozenset(ReleaseCategory.values)
LOINC = "http://loinc.org"


@dataclass
class ReleasableNote:
    """A signed note as an export shows it: who it concerns, when, and its text (sections and amendments)."""

    pk: int
    title: str
    client_id: int | None  # None: a joint session note
    signed_at: dt.datetime
    author: User
    signer: User | None
    appointment_id: int | None
    text: str
    amended: bool


@dataclass
class ExportPlan:
    """Everything one export includes, and the plain sentences saying what it leaves out and why."""

    case: Case
    release: Consent | None
    recipient: str
    covered: list[Client]
    categories: dict[int, frozenset[str]]
    appointments: list[Appointment] = field(default_factory=list)
    appointment_owner: dict[int, int] = field(default_factory=dict)
    plan: TreatmentPlan | None = None
    referrals: list[Referral] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    notes: list[ReleasableNote] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    included: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.release is None

    def allows(self, category: str, client_id: int | None) -> bool:
        """One partner's content needs that partner's consent; the couple's needs every partner's."""
        if client_id is not None:
            return category in self.categories.get(client_id, frozenset())
        return all(category in self.categories.get(c.pk, frozenset()) for c in self.case.partners)


def _note_for_export(note: SessionNote) -> ReleasableNote:
    """The note's text as released: notes_releasable has already left out content kept private to a
    partner whose consent does not cover the export (`released_sections` / `released_amendments`)."""
    parts = [f"{s.label}\n{s.text}" for s in note.released_sections if s.text]  # type: ignore[attr-defined]
    amendments = note.released_amendments  # type: ignore[attr-defined]
    for amendment in amendments:
        when = timezone.localtime(amendment.at, practice_zone()).strftime("%Y-%m-%d %H:%M")
        parts.append(f"Amendment of {when}: {amendment.text}\nReason: {amendment.reason}")
    appointment = note.appointment
    assert note.signed_at is not None
    day = timezone.localtime(appointment.starts_at, practice_zone()).strftime("%Y-%m-%d")
    return ReleasableNote(
        pk=note.pk,
        title=f"Session note, {appointment.get_kind_display()} {day}",
        client_id=note.individual_with_id,
        signed_at=note.signed_at,
        author=note.author,
        signer=note.signed_by,
        appointment_id=note.appointment_id,
        text="\n\n".join(parts),
        amended=bool(amendments),
    )


def _names(clients: list[Client]) -> str:
    return " and ".join(c.full_name for c in clients)


def export_plan(*, case: Case, release: Consent | None = None) -> ExportPlan:
    """Decide what an export contains. `release` None is the practice's own complete copy of the record
    (for the case's clinicians; never to be handed to a third party as it stands)."""
    partners = case.partners
    if release is None:
        categories = {c.pk: ALL_CATEGORIES for c in partners}
        plan = ExportPlan(
            case=case, release=None, recipient="", covered=list(partners), categories=categories
        )
        plan.included.append("The practice's complete copy of the record (not a release to anyone).")
    else:
        if release.case_id != case.pk or release.document.kind != ConsentKind.RELEASE:
            raise Refusal("That release of information does not belong to this case.")
        if release.status_on(local_today()) != "signed":
            raise Refusal("That release of information is not valid today (unsigned, withdrawn or expired).")
        categories = {}
        for client in partners:
            own = (
                release
                if client.pk == release.client_id
                else valid_release(client=client, case=case, recipient=release.recipient)
            )
            if own is not None:
                categories[client.pk] = frozenset(own.categories)
        covered = [c for c in partners if c.pk in categories]
        plan = ExportPlan(
            case=case, release=release, recipient=release.recipient, covered=covered, categories=categories
        )
        missing = [c for c in partners if c.pk not in categories]
        if missing:
            plan.excluded.append(
                f"Nothing about {_names(missing)} is included: there is no valid release of information "
                f"from them to {release.recipient}. Joint sessions and the couple's treatment plan are left "
                "out for the same reason."
            )
    _fill(plan)
    return plan


def _fill(plan: ExportPlan) -> None:
    """Fill the plan with what the consents cover, category by category; say what is left out and why."""
    _fill_appointments(plan)
    _fill_treatment(plan)
    covered_ids = {c.pk for c in plan.covered}
    plan.consents = list(
        Consent.objects.filter(case=plan.case, client_id__in=covered_ids, signed_at__isnull=False)
        .select_related("document", "client")
        .order_by("signed_at", "id")
    )
    _fill_notes(plan)
    _fill_responses(plan)
    plan.excluded.append("Psychotherapy (process) notes are never part of a record export or release.")
    plan.included.append(
        f"{len(plan.appointments)} appointment(s), {'a' if plan.plan else 'no'} treatment plan, "
        f"{len(plan.referrals)} referral(s), {len(plan.consents)} signed consent(s), "
        f"{len(plan.notes)} signed session note(s), {len(plan.responses)} questionnaire response(s)."
    )


def _leave_out(plan: ExportPlan, category: str, what: str, client_id: int | None) -> None:
    """Say (once) that `what` is left out, naming the partners whose release does not cover it; nothing
    is said when no partner is covered at all (the export already says so)."""
    partners = plan.case.partners
    covered_ids = {c.pk for c in plan.covered}
    about = "the couple's" if client_id is None else "the"
    for_whom = [c for c in partners if category not in plan.categories.get(c.pk, frozenset())]
    if client_id is not None:
        for_whom = [c for c in for_whom if c.pk == client_id]
    if for_whom and any(c.pk in covered_ids for c in partners):
        label = str(dict(ReleaseCategory.choices)[category]).lower()
        sentence = f"{what} ({about} {label}) left out: not covered by the release of {_names(for_whom)}."
        if sentence not in plan.excluded:
            plan.excluded.append(sentence)


def _fill_appointments(plan: ExportPlan) -> None:
    case = plan.case
    appointments = (
        Appointment.objects.filter(case=case)
        .exclude(status=AppointmentStatus.CANCELLED)
        .prefetch_related("therapists", "attendees")
        .order_by("starts_at")
    )
    # A session is one partner's when that partner alone attends it or its note is marked as an
    # individual session; every other session of a couple is both partners'.
    individual = dict(
        SessionNote.objects.filter(case=case, individual_with__isnull=False).values_list(
            "appointment_id", "individual_with_id"
        )
    )
    left = 0
    for appt in appointments:
        attending = [c.pk for c in appt.attendees.all()]
        client_id = individual.get(appt.pk) or (attending[0] if len(attending) == 1 else None)
        client_id = client_id if case.is_couple else None
        if plan.allows(ReleaseCategory.APPOINTMENTS, client_id):
            plan.appointments.append(appt)
            if client_id is not None:
                plan.appointment_owner[appt.pk] = client_id
        else:
            left += 1
    if left:
        _leave_out(plan, ReleaseCategory.APPOINTMENTS, f"{left} appointment{'s' if left > 1 else ''}", None)


def _fill_treatment(plan: ExportPlan) -> None:
    """The latest treatment plan (the couple's) and the referrals (each one partner's)."""
    case = plan.case
    covered_ids = {c.pk for c in plan.covered}
    latest = TreatmentPlan.objects.filter(case=case).order_by("-version").first()
    if latest is not None:
        if plan.allows(ReleaseCategory.TREATMENT_PLAN, None):
            plan.plan = latest
        else:
            _leave_out(plan, ReleaseCategory.TREATMENT_PLAN, "The treatment plan", None)
    for referral in Referral.objects.filter(case=case).select_related("specialist_type", "referred_by"):
        if referral.client_id in covered_ids and plan.allows(
            ReleaseCategory.TREATMENT_PLAN, referral.client_id
        ):
            plan.referrals.append(referral)
        elif referral.client_id in covered_ids:
            _leave_out(plan, ReleaseCategory.TREATMENT_PLAN, "Referrals", referral.client_id)


def _fill_notes(plan: ExportPlan) -> None:
    case = plan.case
    covered_ids = {c.pk for c in plan.covered}
    note_clients = sorted(
        c for c in covered_ids if ReleaseCategory.NOTES in plan.categories.get(c, frozenset())
    )
    if note_clients:
        for note in notes_releasable(case=case, client_ids=note_clients):
            # An individual session's note is that partner's; any other note of a couple is both partners'.
            owner = note.individual_with_id if case.is_couple else None
            if plan.allows(ReleaseCategory.NOTES, owner):
                plan.notes.append(_note_for_export(note))
        withheld = notes_withheld_count(case=case, client_ids=note_clients)
        if withheld:
            plan.excluded.append(
                f"{withheld} passage{'s' if withheld > 1 else ''} of session notes that a partner asked to "
                "keep private (limited-secrets policy) left out: that partner has not consented to this "
                "release."
            )
    if not plan.allows(ReleaseCategory.NOTES, None):
        _leave_out(plan, ReleaseCategory.NOTES, "Notes of joint sessions", None)
    for client in plan.covered:
        if ReleaseCategory.NOTES not in plan.categories.get(client.pk, frozenset()):
            _leave_out(plan, ReleaseCategory.NOTES, "Individual session notes", client.pk)


def _fill_responses(plan: ExportPlan) -> None:
    responses = (
        Response.objects.filter(case=plan.case, client_id__in=[c.pk for c in plan.covered])
        .select_related("instrument", "client", "entered_by")
        .order_by("answered_at", "id")
    )
    for response in responses:
        if plan.allows(ReleaseCategory.MEASURES, response.client_id):
            plan.responses.append(response)
        else:
            _leave_out(plan, ReleaseCategory.MEASURES, "Questionnaire answers", response.client_id)


# --- FHIR ------------------------------------------------------------------------------------------------


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


class _Entries:
    """The bundle's entries, each with a urn:uuid fullUrl; references point at those urns only."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.urls: dict[Any, str] = {}

    def add(self, key: Any, resource: dict[str, Any]) -> dict[str, str]:
        url = f"urn:uuid:{uuid.uuid4()}"
        self.urls[key] = url
        self.entries.append({"fullUrl": url, "resource": resource})
        return {"reference": url}

    def ref(self, key: Any) -> dict[str, str]:
        return {"reference": self.urls[key]}

    def has(self, key: Any) -> bool:
        return key in self.urls

    def practitioner(self, user: User) -> dict[str, str]:
        key = ("user", user.pk)
        if not self.has(key):
            name = (
                {"family": user.last_name, "given": [user.first_name]}
                if user.last_name
                else {"text": user.get_username()}
            )
            self.add(key, {"resourceType": "Practitioner", "name": [name]})
        return self.ref(key)


_EPISODE_STATUS: dict[str, str] = {
    Phase.CONSULTATION: "planned",
    Phase.DISCHARGED: "finished",
    Phase.CLOSED: "cancelled",
}
_APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ATTENDED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
_PRIORITY = {"routine": "routine", "soon": "asap", "urgent": "urgent"}


def bundle_from_plan(plan: ExportPlan) -> dict[str, Any]:
    """The FHIR R4 collection Bundle of the plan. Entries keep a fixed order (people and the episode,
    then appointments, plan, referrals, consents, notes, questionnaires, and the summary list), and a
    practitioner's entry comes just before the first resource that refers to them."""
    out = _Entries()
    patients = _patient_entries(plan, out)
    subject = patients[0]
    care_team = _episode_entries(plan.case, subject, out)
    for appt in plan.appointments:
        out.add(("appointment", appt.pk), _appointment_resource(plan, appt, patients, out))
    if plan.plan is not None:
        out.add("careplan", _care_plan_resource(plan.plan, _is_open(plan.case), subject, care_team, out))
    for referral in plan.referrals:
        out.add(("referral", referral.pk), _referral_resource(referral, out))
    for consent in plan.consents:
        out.add(("consent", consent.pk), _consent_resource(consent, out))
    for note in plan.notes:
        out.add(("note", note.pk), _note_resource(note, subject, out))
    for response in plan.responses:
        _measure_resources(response, out)
    summary: dict[str, Any] = {
        "resourceType": "List",
        "status": "current",
        "mode": "snapshot",
        "title": "What this export contains and leaves out",
        "date": instant(timezone.now()),
        "note": [{"text": line} for line in plan.included + plan.excluded],
        "entry": [{"item": {"reference": e["fullUrl"]}} for e in out.entries],
    }
    out.add("summary", summary)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": instant(timezone.now()),
        "entry": out.entries,
    }


def _is_open(case: Case) -> bool:
    return case.phase not in (Phase.DISCHARGED, Phase.CLOSED)


def _patient_entries(plan: ExportPlan, out: _Entries) -> list[dict[str, str]]:
    """A Patient per covered partner (references to them, first the subject), and for an individual
    case the partner who does not attend, as a RelatedPerson."""
    patients: list[dict[str, str]] = []
    for client in plan.covered:
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": local_system("client"), "value": str(client.pk)}],
            "name": [{"family": client.last_name, "given": [client.first_name]}],
            # The client record holds pronouns but no administrative gender, and pronouns do not say it.
            "gender": "unknown",
        }
        if client.date_of_birth:
            resource["birthDate"] = client.date_of_birth.isoformat()
        patients.append(out.add(("client", client.pk), resource))
    if not plan.case.is_couple:
        role = _coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "SIGOTHR", "significant other")
        relationship = {
            "coding": [role],
            "text": f"Partner, not attending: {plan.case.get_absent_partner_display()}",
        }
        out.add(
            "absent",
            {"resourceType": "RelatedPerson", "patient": patients[0], "relationship": [relationship]},
        )
    return patients


def _episode_entries(case: Case, subject: dict[str, str], out: _Entries) -> dict[str, str]:
    """The case's care team and its episode of care; returns the reference to the care team."""
    members = [
        {"member": out.practitioner(user), "role": [{"text": "Therapist"}]} for user in case.clinicians
    ]
    care_team = out.add(
        "careteam",
        {
            "resourceType": "CareTeam",
            "status": "active" if _is_open(case) else "inactive",
            "name": f"Care team of case {case.reference}",
            "subject": subject,
            **({"participant": members} if members else {}),
        },
    )
    period: dict[str, str] = {"start": case.opened_on.isoformat()}
    if case.closed_on:
        period["end"] = case.closed_on.isoformat()
    episode: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "identifier": [{"system": local_system("case"), "value": str(case.reference)}],
        "status": _EPISODE_STATUS.get(case.phase, "active"),
        "type": [{"text": "Couple therapy" if case.is_couple else "Individual therapy (partner absent)"}],
        "patient": subject,
        "period": period,
        "team": [care_team],
    }
    if case.clinicians:
        episode["careManager"] = out.practitioner(case.clinicians[0])
    out.add("episode", episode)
    return care_team


def _appointment_resource(
    plan: ExportPlan, appt: Appointment, patients: list[dict[str, str]], out: _Entries
) -> dict[str, Any]:
    owner_id = plan.appointment_owner.get(appt.pk)
    attending = [out.ref(("client", owner_id))] if owner_id else patients
    participants = [{"actor": p, "status": "accepted"} for p in attending]
    participants += [{"actor": out.practitioner(t), "status": "accepted"} for t in appt.therapists.all()]
    return {
        "resourceType": "Appointment",
        "status": _APPOINTMENT_STATUS[AppointmentStatus(appt.status)],
        "serviceType": [{"text": appt.get_kind_display()}],
        "description": f"{appt.get_kind_display()} ({appt.get_mode_display().lower()})",
        "start": instant(appt.starts_at),
        "end": instant(appt.ends_at),
        "participant": participants,
    }


def _care_plan_resource(
    treatment: TreatmentPlan,
    open_case: bool,
    subject: dict[str, str],
    care_team: dict[str, str],
    out: _Entries,
) -> dict[str, Any]:
    care_plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active" if open_case else "completed",
        "intent": "plan",
        "title": f"Treatment plan, version {treatment.version}: {treatment.get_format_display()}",
        "description": treatment.goals,
        "subject": subject,
        "created": instant(treatment.created_at),
        "author": out.practitioner(treatment.created_by),
        "careTeam": [care_team],
    }
    if treatment.focus_areas:
        care_plan["note"] = [{"text": f"Focus areas: {treatment.focus_areas}"}]
    return care_plan


def _referral_resource(referral: Referral, out: _Entries) -> dict[str, Any]:
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "completed" if referral.status == ReferralStatus.RESULT_RECEIVED else "active",
        "intent": "order",
        "priority": _PRIORITY.get(referral.urgency, "routine"),
        "code": {"text": f"Referral to {referral.specialist_type.label}"},
        "subject": out.ref(("client", referral.client_id)),
        "authoredOn": instant(referral.sent_at),
        "requester": out.practitioner(referral.referred_by),
        "reasonCode": [{"text": referral.reason}],
    }
    if referral.finding:
        request["note"] = [{"text": f"Result: {referral.finding} ({referral.get_physical_cause_display()})"}]
    return request


def _note_resource(note: ReleasableNote, subject: dict[str, str], out: _Entries) -> dict[str, Any]:
    signer = note.signer or note.author
    reference: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "amended" if note.amended else "final",
        "type": {"coding": [_coding(LOINC, "11506-3", "Progress note")]},
        "description": note.title,
        "subject": out.ref(("client", note.client_id)) if note.client_id else subject,
        "date": instant(note.signed_at),
        "author": [out.practitioner(note.author)],
        "authenticator": out.practitioner(signer),
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "title": note.title,
                    "data": base64.b64encode(note.text.encode()).decode(),
                }
            }
        ],
    }
    if note.appointment_id and out.has(("appointment", note.appointment_id)):
        reference["context"] = {"related": [out.ref(("appointment", note.appointment_id))]}
    return reference


def _consent_resource(consent: Consent, out: _Entries) -> dict[str, Any]:
    kind = consent.document.kind
    release = kind == ConsentKind.RELEASE
    assert consent.signed_at is not None
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active" if consent.status_on(local_today()) == "signed" else "inactive",
        "scope": {
            "coding": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/consentscope",
                    "treatment"
                    if kind in (ConsentKind.TREATMENT, ConsentKind.TELEHEALTH)
                    else "patient-privacy",
                )
            ]
        },
        "category": [
            {
                "coding": [
                    _coding(LOINC, "64292-6", "Release of information consent")
                    if release
                    else _coding(LOINC, "59284-0", "Patient Consent")
                ],
                "text": consent.document.title,
            }
        ],
        "patient": out.ref(("client", consent.client_id)),
        "dateTime": instant(consent.signed_at),
        "policyRule": {"text": f"{consent.document.title}, version {consent.document.version}"},
    }
    provision: dict[str, Any] = {"type": "permit"}
    if consent.valid_until:
        provision["period"] = {"end": consent.valid_until.isoformat()}
    if release:
        recipient = out.add(
            ("recipient", consent.pk),
            {
                "resourceType": "Organization",
                "name": consent.recipient,
                **({"alias": [consent.recipient_detail]} if consent.recipient_detail else {}),
            },
        )
        provision["actor"] = [
            {
                "role": {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "IRCP",
                            "information recipient",
                        )
                    ]
                },
                "reference": recipient,
            }
        ]
        provision["code"] = [{"text": label} for label in consent.category_labels]
    if consent.revoked_at is not None:
        provision["type"] = "deny"
        provision["period"] = {"start": instant(consent.revoked_at)}
    resource["provision"] = provision
    return resource


def _measure_resources(response: Response, out: _Entries) -> None:
    subject = out.ref(("client", response.client_id))
    staff = response_author(response)
    answers = response_to_fhir(
        response, subject=subject, author=out.practitioner(staff) if staff is not None else None
    )
    answers_ref = out.add(("response", response.pk), answers)
    for observation in score_observations(response, subject=subject, derived_from=answers_ref):
        out.add(("observation", observation["id"]), observation)


def validate_bundle(bundle: dict[str, Any]) -> Any:
    """Parse with the FHIR models: an export that does not validate is a bug, never something to send."""
    # Imported here: the FHIR models take seconds to import, and every page's URL loading would pay for it.
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)


def case_export_bundle(*, actor: User, case: Case, release: Consent | None = None) -> dict[str, Any]:
    """The case's record as a FHIR R4 Bundle (collection), limited to what `release` covers."""
    plan = export_plan_for(actor=actor, case=case, release=release)
    bundle = bundle_from_plan(plan)
    validate_bundle(bundle)
    _audit_export(actor, plan, "json")
    return bundle


def export_plan_for(*, actor: User, case: Case, release: Consent | None = None) -> ExportPlan:
    if not can_export_record(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can export the record.")
    return export_plan(case=case, release=release)


def _audit_export(actor: User, plan: ExportPlan, form: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="record.export",
            target=plan.release,
            case=plan.case,
            detail={
                "format": form,
                "release": plan.release.pk if plan.release else None,
                "clients": [c.pk for c in plan.covered],
                "notes": len(plan.notes),
                "responses": len(plan.responses),
            },
        )
