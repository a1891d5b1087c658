"""Money arithmetic: Decimal only, every computed amount rounded ROUND_HALF_UP to the cent."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def cents(value: Decimal | int | str) -> Decimal:
    """`value` rounded half up to whole cents (2.345 -> 2.35, -2.345 -> -2.35)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return cents(amount * percent / HUNDRED)


def split_amount(amount: Decimal, percent_a: Decimal) -> tuple[Decimal, Decimal]:
    """Partner A's share is `percent_a` of the amount rounded half up to the cent; partner B gets exactly
    the rest. So the two always add up to the amount, and an odd cent of a 50/50 split goes to A."""
    amount = cents(amount)
    share_a = percent_of(amount, percent_a)
    return share_a, amount - share_a


def currency() -> str:
    return str(settings.PRACTICE_CURRENCY).upper()
