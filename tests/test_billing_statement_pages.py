"""A payer's statement in pages: an insurer receives thousands of invoices a year, and the page must show
fifty at a time with what is owed over all of them, in the same number of queries at any size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.billing.charging import client_payer
from tandem.billing.selectors import STATEMENT_PAGE
from tests.billing_support import issued, paid
from tests.cast import login

pytestmark = pytest.mark.django_db


def statement_of(client, payer, **query):
    response = client.get(reverse("billing:payer", kwargs={"payer_id": payer.pk}), query)
    assert response.status_code == 200
    return response


@pytest.fixture
def many(cast):
    """Fifty-five invoices of 10.00 to one payer, the oldest of them paid."""
    payer = client_payer(cast.couple_case.partner_a)
    invoices = [issued(cast, payer, "10.00", 60 - n) for n in range(STATEMENT_PAGE + 5)]
    paid(cast, payer, "10.00", invoices[0])
    return payer, invoices


def test_the_statement_shows_fifty_invoices_and_owes_all_of_them(cast, client, many):
    payer, invoices = many
    login(client, cast.coordinator)
    first = statement_of(client, payer)
    shown = first.context["statement"].invoices
    assert [i.pk for i in shown] == [i.pk for i in reversed(invoices)][:STATEMENT_PAGE]
    # What is owed counts every open invoice, not only this page's.
    assert first.context["statement"].owed == Decimal("10.00") * (len(invoices) - 1)
    html = first.content.decode()
    assert "1\N{EN DASH}50 of 55 invoices" in html and "?invoices=2" in html
    second = statement_of(client, payer, invoices=2, payments=1)
    assert [i.pk for i in second.context["statement"].invoices] == [i.pk for i in reversed(invoices[:5])]
    # The other list keeps its page in the links.
    assert "payments=1" in second.content.decode()


@pytest.mark.parametrize("page", ["0", "abc", "999", "-1"])
def test_a_bad_page_number_shows_a_page_not_an_error(cast, client, many, page):
    payer, _invoices = many
    login(client, cast.coordinator)
    shown = statement_of(client, payer, invoices=page).context["statement"].invoices
    assert len(shown) in (5, STATEMENT_PAGE)


def test_the_statement_reads_the_same_number_of_queries_at_two_sizes(cast, client):
    payer = client_payer(cast.couple_case.partner_a)
    login(client, cast.coordinator)
    counts = []
    for extra in (3, STATEMENT_PAGE + 10):
        for n in range(extra):
            issued(cast, payer, "5.00", 30 + n)
        with CaptureQueriesContext(connection) as queries:
            statement_of(client, payer)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_portal_statement_is_paged_too(cast, client, many):
    _payer, invoices = many
    login(client, cast.couple_case.partner_a.user)
    response = client.get(reverse("portal:invoices"), {"invoices": 2})
    assert response.status_code == 200
    assert [i.pk for i in response.context["statement"].invoices] == [i.pk for i in reversed(invoices[:5])]


def test_each_statement_links_its_documents_where_its_reader_may_open_them(cast, client, many):
    payer, invoices = many
    newest = invoices[-1]
    login(client, cast.coordinator)
    staff = statement_of(client, payer).content.decode()
    assert f'href="{reverse("billing:invoice", args=[newest.pk])}"' in staff
    client.logout()
    login(client, cast.couple_case.partner_a.user)
    portal = client.get(reverse("portal:invoices")).content.decode()
    assert f'href="{reverse("portal:invoice_pdf", args=[newest.pk])}"' in portal
    assert reverse("billing:invoice", args=[newest.pk]) not in portal
