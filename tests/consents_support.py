"""Builders for the consent and export tests: requests signed by the partner themself."""

import datetime as dt

from tandem.accounts.models import User
from tandem.cases.models import Case, Client
from tandem.consents.models import Consent, ReleaseCategory
from tandem.consents.services import consent_request, consent_sign, release_create
from tandem.lib.time import local_today

EVERYTHING = list(ReleaseCategory.values)
RECIPIENT = "Dr. Rowan Example, general practice"


def signed(case: Case, client: Client, kind: str, *, staff: User, mode: str = "") -> Consent:
    consent = consent_request(actor=staff, case=case, client=client, kind=kind, confidentiality_mode=mode)
    return consent_sign(actor=staff, consent=consent, typed_name=client.full_name, ip="192.0.2.7")


def release(
    case: Case,
    client: Client,
    *,
    staff: User,
    categories: list[str] | None = None,
    recipient: str = RECIPIENT,
    sign: bool = True,
    days: int = 90,
) -> Consent:
    consent = release_create(
        actor=staff,
        case=case,
        client=client,
        recipient=recipient,
        categories=categories or EVERYTHING,
        valid_until=local_today() + dt.timedelta(days=days),
    )
    if sign:
        consent = consent_sign(actor=staff, consent=consent, typed_name=client.full_name, ip="192.0.2.7")
    return consent
