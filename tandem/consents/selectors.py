"""Reads about consents: which are valid on a day, what a page lists. Callers have already checked access."""

import datetime as dt
from typing import Any

from django.db.models import Q

from tandem.cases.models import Case, Client
from tandem.consents.models import Consent, ConsentDocument, ConsentKind
from tandem.lib.time import local_day_bounds, local_today
from tandem.pathway.models import TreatmentConsent
from tandem.records.models import ConfidentialityPolicy


def current_document(kind: str, *, on: dt.date | None = None) -> ConsentDocument | None:
    """The version new requests use: the latest one in effect on `on` (today by default)."""
    day = on or local_today()
    return ConsentDocument.objects.filter(kind=kind, effective_on__lte=day).order_by("-version").first()


def has_valid_consent(*, client: Client, case: Case, kind: str, on: dt.date | None = None) -> bool:
    """Did this partner hold a signed, unrevoked (and, for a release, unexpired) consent of `kind` on `on`?

    Consent to treatment may also have been recorded on paper through the pathway (TreatmentConsent):
    signing one here creates that record, revoking it withdraws it, so both routes count the same way.
    """
    day = on or local_today()
    valid = Consent.objects.valid_on(day).filter(client=client, case=case, document__kind=kind)
    if kind == ConsentKind.CONFIDENTIALITY:
        # Agreement is to one policy: after the case's policy changes, both partners must agree again.
        policy = ConfidentialityPolicy.objects.filter(case=case).first()
        if policy is not None:
            valid = valid.filter(confidentiality_mode=policy.kind)
    if valid.exists():
        return True
    if kind == ConsentKind.TREATMENT:
        _, end = local_day_bounds(day)
        return TreatmentConsent.objects.filter(case=case, client=client, given_at__lt=end).exists()
    return False


def valid_release(
    *, client: Client, case: Case, recipient: str = "", on: dt.date | None = None
) -> Consent | None:
    """This partner's newest valid release of information (to `recipient`, matched without regard to case
    or spacing, when one is named)."""
    releases = Consent.objects.valid_on(on or local_today()).filter(
        client=client, case=case, document__kind=ConsentKind.RELEASE
    )
    wanted = " ".join(recipient.split()).casefold()
    for release in releases.order_by("-signed_at", "-id"):
        if not wanted or " ".join(release.recipient.split()).casefold() == wanted:
            return release
    return None


def case_consents(*, case: Case) -> list[Consent]:
    """Every consent of the case, newest first, with what the list page shows (no per-row queries)."""
    return list(
        Consent.objects.filter(case=case)
        .select_related("client", "document", "requested_by", "signed_by_user", "revoked_by")
        .order_by("client_id", "-requested_at", "-id")
    )


def client_consents(*, user: Any) -> list[Consent]:
    """A portal user's own consents only: never the other partner's, whatever the case."""
    if not user.is_authenticated:
        return []
    return list(
        Consent.objects.filter(client__user=user)
        .select_related("case", "document")
        .order_by("-requested_at", "-id")
    )


def client_consent(*, user: Any, consent_id: Any) -> Consent | None:
    try:
        pk = int(consent_id)
    except (TypeError, ValueError):
        return None
    return (
        Consent.objects.filter(pk=pk, client__user=user)
        .select_related("case", "client", "document", "signed_by_user", "revoked_by")
        .first()
    )


def pending_for(*, user: Any) -> int:
    """How many consents wait for this portal user's signature."""
    if not user.is_authenticated:
        return 0
    today = local_today()
    return (
        Consent.objects.filter(client__user=user, signed_at__isnull=True, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .count()
    )


def has_any(*, user: Any) -> bool:
    return bool(user.is_authenticated) and Consent.objects.filter(client__user=user).exists()
