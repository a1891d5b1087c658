"""Reading one row by its primary key."""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def by_pk(queryset: QuerySet[M], pk: Any) -> M | None:
    """The row of `queryset` with this primary key, or None.

    Rather than `.filter(pk=...).first()`: first() orders by the model's ordering (or the key), and
    Django's compiler matches each ORDER BY term against every selected column by comparing
    expressions, each compared by inspecting its constructor's signature. For a case read with its
    partners, therapist and team (77 columns) that cost a millisecond on every case page, for an order
    that a single row does not need."""
    return next(iter(queryset.filter(pk=pk).order_by()[:1]), None)
