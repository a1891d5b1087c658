"""Addresses for long lists: reverse a URL pattern once, then put each row's id into it.

A page listing hundreds of rows with a link each would otherwise resolve the same URL pattern hundreds
of times (`{% url %}` walks the resolver on every call); formatting an id into a string reversed once
gives the same address at a small fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse


def id_url(name: str, kwarg: str | None = None) -> Callable[[int], str]:
    """`id_url("cases:detail", "case_id")(7) == reverse("cases:detail", kwargs={"case_id": 7})`,
    for a pattern whose only argument is one integer id (given by position when `kwarg` is None)."""
    keywords = (kwarg,) if kwarg else ()
    split = _id_pattern(name, 0 if kwarg else 1, keywords, None, get_script_prefix(), _urlconf())
    if split is None:
        raise ValueError(f"{name} does not hold its {kwarg} exactly once")
    (prefix, suffix), _ = split

    def url(pk: int) -> str:
        return f"{prefix}{int(pk)}{suffix}"

    return url


@lru_cache(maxsize=128)
def _cached(name: str, prefix: str) -> Callable[[int], str]:
    return id_url(name)


def link_to(name: str, pk: int) -> str:
    """The address of a one-id page, its pattern reversed once per process (and per script prefix, which
    reverse() puts in front): for the `link` template filter."""
    return _cached(name, get_script_prefix())(pk)


# Ids no table will reach, one per argument, all of one length so that none is part of another (nor, in
# practice, of anything else in an address).
_ARG_SENTINELS = tuple(987654321000 + i for i in range(8))


@lru_cache(maxsize=1024)
def _id_pattern(
    name: str, positional: int, keywords: tuple[str, ...], current_app: str | None, prefix: str, urlconf: str
) -> tuple[tuple[str, ...], tuple[int | str, ...]] | None:
    """The address of NAME split around its id arguments (literal pieces, and which argument goes between
    each two), or None where putting ids in by hand could differ from reverse() (a pattern that refuses
    the sentinels, or prints one of them other than once, as a converter with its own to_url would).
    Tandem's addresses are path() routes, whose int converter takes every non-negative int; a regex
    route narrower than that for an id (say, no leading zero) would need to stay with reverse()."""
    if positional + len(keywords) > len(_ARG_SENTINELS):
        return None
    sentinels = iter(_ARG_SENTINELS)
    args = [next(sentinels) for _ in range(positional)]
    kwargs = {key: next(sentinels) for key in keywords}
    try:
        address = reverse(name, args=args, kwargs=kwargs, current_app=current_app)
    except NoReverseMatch:
        return None
    slots: list[tuple[int, int | str]] = []
    named: list[tuple[int | str, int]] = [*enumerate(args), *((key, kwargs[key]) for key in keywords)]
    for slot, sentinel in named:
        text = str(sentinel)
        if address.count(text) != 1:
            return None
        slots.append((address.index(text), slot))
    slots.sort()
    pieces, start = [], 0
    for at, _ in slots:
        pieces.append(address[start:at])
        start = at + len(str(_ARG_SENTINELS[0]))
    pieces.append(address[start:])
    return tuple(pieces), tuple(slot for _, slot in slots)


def reverse_ids(name: str, args: list[Any], kwargs: dict[str, Any], *, current_app: str | None = None) -> str:
    """reverse(NAME, args, kwargs), with the pattern reversed once per process where every argument is an
    id (a non-negative int): the `{% url %}` of every Django template (lib/templatetags/remembered_urls.py).
    A case page prints some thirty addresses, each walking the resolver for about 40 µs."""
    values = [*args, *kwargs.values()]
    if all(type(v) is int and v >= 0 for v in values):
        split = _id_pattern(name, len(args), tuple(kwargs), current_app, get_script_prefix(), _urlconf())
        if split is not None:
            pieces, slots = split
            out = [pieces[0]]
            for piece, slot in zip(pieces[1:], slots, strict=True):
                out.append(str(args[slot] if isinstance(slot, int) else kwargs[slot]))
                out.append(piece)
            return "".join(out)
    return reverse(name, args=args, kwargs=kwargs, current_app=current_app)


def _urlconf() -> str:
    # A test that swaps ROOT_URLCONF must not get the other URLconf's addresses.
    return str(get_urlconf() or settings.ROOT_URLCONF)
