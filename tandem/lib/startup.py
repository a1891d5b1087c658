"""What a web process does once Django is loaded, before its first request."""

import gc

from django.urls import get_resolver


def settle() -> None:
    """Load every view module now and hide what start-up built from the garbage collector.

    A full collection walks every object the process tracks, and a loaded Django holds a few hundred
    thousand; a page that builds a thousand small objects (a practice's calendar week) set one off every
    few requests, which doubled that page's 95th percentile. gc.freeze() moves the start-up objects to a
    generation the collector skips, as Python's documentation suggests for long-lived server processes.
    """
    get_resolver().url_patterns  # noqa: B018 -- imports the URL map and every view module
    gc.collect()
    gc.freeze()
