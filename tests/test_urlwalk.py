"""The URL walk that the round-trip, fuzz and accessibility tests share reaches every URL of the app."""

import pytest

from tests.urlwalk import World, routes


def test_the_walk_finds_the_whole_url_conf():
    names = {route.name for route in routes()}
    # One URL from each app, so that a broken walk (e.g. a namespace lost) cannot pass quietly.
    assert {"today", "cases:detail", "records:note_edit", "portal:home", "public:consultation"} <= names
    assert not any(name.startswith("admin:") for name in names)
    assert len(names) > 100


@pytest.mark.django_db
def test_every_parameter_of_every_url_has_an_object():
    world = World()
    for route in routes():
        assert world.url(route).startswith("/"), route
