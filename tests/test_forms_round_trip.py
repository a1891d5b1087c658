"""Every edit form of the application, opened and saved unchanged, leaves the database as it was.

Which pages: every route of the URL conf (`tests/urlwalk.py`), opened with GET by every role of the
cast (each staff role and both partners), on a world whose objects have every optional field filled in.

Which forms are edit forms: a form in the page's template context that shows an existing object,
that is a ModelForm bound to a saved instance (`instance.pk`), or any form the view gave non-empty
`initial` values (that is how the plain forms here show an object: the plan, the findings, the
intake, the case's assignment, a note's sections...); and a hand-written `<form method=post>` (one
holding no field of a form in the context) that shows current values: a ticked box or radio, a
selected option, text in a textarea or a visible input (the calendar feed's detail setting, which
partner an assessment session was for). The rule over-approximates on purpose, so that a new edit
form is covered without anyone listing it: the few create forms that pre-fill a default (the
planner's dates, the booking page's key) are submitted too, and must not change an existing row
either.

How it is submitted: the page's `<form method=post>` that holds the form's fields is read as a
browser would (`tests/htmlforms.py`: a date input drops a value it cannot parse, an unchecked box
sends nothing, a select sends its selected option, the first submit button is the submitter) and
posted back unchanged, inside a transaction that is rolled back afterwards.

What must not change: every row that existed before the post, in every table, column by column
(encrypted text compared decrypted). Left out, because saving legitimately touches them: the audit
trail, sessions, the log-in throttling and second-factor bookkeeping tables, and the columns that
record when and by whom a row was last saved (`updated_at`, `updated_by`, an intake's `entered_by`).
New rows are allowed (a create form's row, a new version of the treatment plan) but an existing value
may not change nor a row disappear. And because a versioned object is saved as a new row, the page is
opened again after the save: its form must show exactly the values it showed before (hidden inputs
aside: tokens and keys that each rendering makes anew).

Besides, on every page walked, no input may render a value its type refuses (a date input showing
`16/11/1965`): that catches a wrong widget on a create form too.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.db import transaction
from django.forms import BaseForm
from django.test.utils import ContextList

from tests.htmlforms import HtmlForm, parse_forms
from tests.urlwalk import ROLES, World, client_for, routes

# Tables whose rows a save legitimately writes: the audit trail records the save itself; sessions,
# the log-in throttling (axes) and the second-factor devices record the visit.
IGNORED_TABLES = {
    "audit.AuditEvent",
    "sessions.Session",
    "admin.LogEntry",
    "otp_totp.TOTPDevice",
    "otp_static.StaticDevice",
    "axes.AccessAttempt",
    "axes.AccessAttemptExpiration",
    "axes.AccessLog",
    "axes.AccessFailureLog",
}
# Columns that say when a row was last saved, or by whom, not what it holds.
IGNORED_COLUMNS = {"updated_at", "updated_by_id", "last_login"}
IGNORED_TABLE_COLUMNS = {("pathway.IntakeRecord", "entered_by")}  # staff or the client, by the last save

Snapshot = dict[str, dict[Any, dict[str, Any]]]


def snapshot() -> Snapshot:
    """Every row of every table (but the ignored ones), by primary key, as the models read it."""
    rows: Snapshot = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.label in IGNORED_TABLES or meta.proxy or not meta.managed:
            continue
        columns = [
            f.attname
            for f in meta.concrete_fields
            if f.attname not in IGNORED_COLUMNS
            and (meta.label, f.attname) not in IGNORED_TABLE_COLUMNS
            and not getattr(f, "auto_now", False)
        ]
        pk = meta.pk.attname  # type: ignore[union-attr]
        rows[meta.label] = {row[pk]: row for row in model._base_manager.values(pk, *columns)}
    return rows


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Each existing row that changed or disappeared, named by table, key and column."""
    found = []
    for table, old_rows in before.items():
        new_rows = after[table]
        for pk, old in old_rows.items():
            new = new_rows.get(pk)
            if new is None:
                found.append(f"{table} {pk}: deleted")
                continue
            for column, value in old.items():
                if new[column] != value:
                    found.append(f"{table} {pk}.{column}: {value!r} -> {new[column]!r}")
    return found


def context_forms(context: Any) -> Iterator[BaseForm]:
    """The forms in a rendered page's template context (top level, or one level into a list or dict)."""
    contexts = context if isinstance(context, ContextList) else [context]
    seen: set[int] = set()
    for sub in contexts:
        for scope in getattr(sub, "dicts", [sub]):
            for value in scope.values():
                if isinstance(value, dict):
                    candidates = list(value.values())
                elif isinstance(value, (list, tuple)):
                    candidates = list(value)
                else:
                    candidates = [value]
                for candidate in candidates:
                    if isinstance(candidate, BaseForm) and id(candidate) not in seen:
                        seen.add(id(candidate))
                        yield candidate


def shows_existing(form: BaseForm) -> bool:
    """The rule of the module docstring: a saved instance, or initial values given by the view."""
    instance = getattr(form, "instance", None)
    if instance is not None and instance.pk is not None:
        return True
    return any(value not in (None, "", [], ()) for value in form.initial.values())


def _in_a_query_form(form: BaseForm, forms: list[HtmlForm]) -> bool:
    """Every field of the form is in one `<form method=get>`: a query with default values (a period to
    print), which saves nothing, so there is nothing to lose."""
    names = {form[name].html_name for name in form.fields}
    return any(candidate.method == "get" and names <= candidate.names() for candidate in forms)


def html_form_for(form: BaseForm, forms: list[HtmlForm]) -> HtmlForm | None:
    """The page's POST form holding most of the form's fields (and at least one)."""
    names = {form[name].html_name for name in form.fields}
    best, overlap = None, 0
    for candidate in forms:
        shared = len(names & candidate.names())
        if candidate.method == "post" and shared > overlap:
            best, overlap = candidate, shared
    return best


def pages(world: World) -> Iterator[tuple[str, str, str]]:
    """(route name, URL, role) for every route as every role: staff, and both partners (the client's
    pages live in several apps: portal, measures, consents)."""
    for route in routes():
        url = world.url(route)
        for role in ROLES:
            yield route.name, url, role


def _round_trip(world: World, name: str, url: str, role: str) -> tuple[int, int, list[str]]:
    """Open one page as one role and save each of its edit forms unchanged.

    Returns the forms checked, how many of the saves the application accepted (answered with a
    redirect; a create form that pre-fills only a default is refused), and the problems found."""
    http = client_for(world.cast, role)
    response = http.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return 0, 0, []
    html = response.content.decode()
    page_forms = parse_forms(html)
    problems = [
        f"{name} as {role}: <input name={field} type={kind}> renders {value!r}, which the browser drops"
        for form in page_forms
        for field, kind, value in form.refused_values()
    ]
    targets, found = edit_targets(response.context, html, page_forms)
    problems += [f"{name} as {role}: {problem}" for problem in found]
    saved = 0
    for target in targets:
        # Each save starts from the page as it was shown (a savepoint, rolled back).
        with transaction.atomic():
            accepted, found = _submit(http, name, role, urljoin(url, target.action), target)
            saved += accepted
            problems += found + _reloaded_the_same(http, name, role, url, target)
            transaction.set_rollback(True)
    return len(targets), saved, problems


def edit_targets(context: Any, html: str, page_forms: list[HtmlForm]) -> tuple[list[HtmlForm], list[str]]:
    """The page's `<form method=post>`s that are edit forms, by the rule of the module docstring.

    A Django form in the context that is an edit form must be found in the page (unless none of its
    fields is on the page at all: a form this role is not shown). A hand-written form, holding no field
    of any form in the context, is an edit form when it shows current values (a ticked radio, a chosen
    option...), such as the calendar feed's detail setting.
    """
    targets: list[HtmlForm] = []
    problems: list[str] = []
    matched: set[int] = set()
    for form in context_forms(context):
        target = html_form_for(form, page_forms)
        if target is not None:
            matched.add(id(target))
        if not shows_existing(form) or _in_a_query_form(form, page_forms):
            continue
        if target is None and any(f'name="{form[n].html_name}"' in html for n in form.fields):
            problems.append(f"{type(form).__name__} is in no <form method=post> of the page")
        elif target is not None and all(target is not t for t in targets):
            targets.append(target)  # one HTML form holding several Django forms is submitted once
    for candidate in page_forms:
        if candidate.method == "post" and id(candidate) not in matched and candidate.shows_state():
            targets.append(candidate)
    return targets, problems


def _reloaded_the_same(http: Any, name: str, role: str, url: str, target: HtmlForm) -> list[str]:
    """Opened again after the save, the form shows what it showed before (a versioned object, such as
    the treatment plan, is saved as a new row, so comparing rows alone would not see a lost value)."""
    response = http.get(url)
    if response.status_code != 200:
        return []
    again = [form for form in parse_forms(response.content.decode()) if form.names() == target.names()]
    if not again:
        return [f"{name} as {role}: the form is gone from the page after saving it unchanged"]
    before, after = target.entries(hidden=False), again[0].entries(hidden=False)
    if before == after:
        return []
    return [
        f"{name} as {role}: after saving unchanged the form shows {entry!r} instead of {was!r}"
        for was, entry in zip(before, after, strict=False)
        if was != entry
    ] or [f"{name} as {role}: the form shows {after!r} instead of {before!r}"]


def _submit(http: Any, name: str, role: str, action: str, target: HtmlForm) -> tuple[bool, list[str]]:
    unknown = target.unknown_controls()
    if unknown:
        return False, [f"{name} as {role}: cannot read the form's controls {unknown} as a browser would"]
    data: dict[str, list[str]] = {}
    for key, value in target.entries():
        data.setdefault(key, []).append(value)
    before = snapshot()
    response = http.post(action, data)
    if response.status_code >= 500:
        return False, [f"{name} as {role}: saving unchanged answered {response.status_code}"]
    accepted = response.status_code in (301, 302, 303)
    return accepted, [f"{name} as {role}: {change}" for change in changes(before, snapshot())]


@pytest.mark.django_db
def test_every_edit_form_saved_unchanged_changes_nothing(capsys):
    world = World()
    checked, saved, problems, seen = 0, 0, [], set()
    for name, url, role in pages(world):
        # Each page and its save start from the same world: GETs that write (an audited read, a record
        # created on first view) and the save itself are rolled back.
        with transaction.atomic():
            count, accepted, found = _round_trip(world, name, url, role)
            transaction.set_rollback(True)
        checked += count
        saved += accepted
        problems += found
        if count:
            seen.add(name)
    with capsys.disabled():
        print(
            f"\nedit-form round trip: {checked} edit forms checked ({saved} saves accepted) "
            f"on {len(seen)} pages: {', '.join(sorted(seen))}"
        )
    assert not problems, "\n".join(problems)
    # A walk that finds no edit form, or whose saves are all refused, proves nothing.
    assert checked > 0 and saved > 0
