"""What is owed, kept by issue day (models.ReceivableDay) and by payer and issue day
(models.ReceivablePayerDay): refreshed by billing's services whenever an
invoice's balance or status changes, and rebuilt after bulk writes (the large seed, the migration).

A day's row is set again from that day's open invoices rather than moved by a difference, because the
services that change an invoice know its new balance but not always what it counted for before (an
allocation can close it, a credit can leave it overpaid). Two transactions refreshing one day must not
each sum without the other's change, so the row is locked first, and summed afterwards: on PostgreSQL
every statement under READ COMMITTED reads what was committed when it starts, so a writer that waited for
the lock sums after the other's commit and sees its invoices too; SQLite runs one writer at a time.
Days are locked in date order, so two writers never wait for each other crosswise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tandem.billing.models import (
    OPEN_INVOICE_STATUSES,
    Invoice,
    ReceivableDay,
    ReceivablePayerDay,
    invoice_balance,
    money_sum,
)
from tandem.lib.time import local_day_bounds, practice_zone


def owing(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """The invoices still to be collected: open (not paid, not written off) with a balance above zero.
    The statuses are written into the query (lib/lookups.py, `literal_in`): with them as parameters, a
    plan PostgreSQL keeps cannot use the open invoices' partial indexes, and the aged receivables read
    every invoice of the page's payers from the table instead of the covering index (2.5 ms became 5)."""
    open_ones = invoices.filter(status__literal_in=OPEN_INVOICE_STATUSES)
    return open_ones.alias(left=invoice_balance()).filter(left__gt=0)


def receivables_refresh(*, payer_id: int, issued: Iterable[dt.datetime]) -> None:
    """Set the rows of the days these invoices of one payer were issued on (their `issued_at`): the
    practice's day and the payer's, in the caller's transaction. The payer's row of a day is written
    under the day's lock, so it needs none of its own."""
    for day in sorted({timezone.localdate(at, practice_zone()) for at in issued}):
        # Insert the row if the day has none (waiting for a concurrent insert of it to commit), then lock it.
        ReceivableDay.objects.bulk_create([ReceivableDay(day=day)], ignore_conflicts=True)
        ReceivableDay.objects.select_for_update().filter(day=day).values_list("pk").get()
        start, end = local_day_bounds(day)
        that_day = owing(Invoice.objects.filter(issued_at__gte=start, issued_at__lt=end).order_by())
        # The practice's day and this payer's, in one read of the day's invoices.
        theirs = Q(payer_id=payer_id)
        owed = that_day.aggregate(
            practice=money_sum(invoice_balance()), payer=money_sum(invoice_balance(), only=theirs)
        )
        ReceivableDay.objects.filter(day=day).update(amount=owed["practice"])
        _payer_day_set(payer_id, day, owed["payer"])


def _payer_day_set(payer_id: int, day: dt.date, owed: Decimal) -> None:
    # Only days with something owed keep a row: the report reads a payer's rows, and paid days are most.
    if owed > 0:
        ReceivablePayerDay.objects.update_or_create(payer_id=payer_id, day=day, defaults={"amount": owed})
    else:
        ReceivablePayerDay.objects.filter(payer_id=payer_id, day=day).delete()


def receivables_rebuild() -> None:
    """Every day, the practice's and each payer's, again from the open invoices: after writes that went
    past the services."""
    open_days = owing(Invoice.objects.order_by()).annotate(day=TruncDate("issued_at", tzinfo=practice_zone()))
    by_day = open_days.values("day").annotate(owed=money_sum(invoice_balance()))
    by_payer = open_days.values("payer_id", "day").annotate(owed=money_sum(invoice_balance()))
    with transaction.atomic():
        ReceivableDay.objects.all().delete()
        ReceivableDay.objects.bulk_create(ReceivableDay(day=r["day"], amount=r["owed"]) for r in by_day)
        ReceivablePayerDay.objects.all().delete()
        ReceivablePayerDay.objects.bulk_create(
            (ReceivablePayerDay(payer_id=r["payer_id"], day=r["day"], amount=r["owed"]) for r in by_payer),
            batch_size=5000,
        )
