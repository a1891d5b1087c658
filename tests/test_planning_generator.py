"""The instance generator: deterministic for a size and seed, and the committed examples are exactly what
it writes at the documented seed (so anyone can regenerate them and get the same bytes)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tandem.planning.generator import EXAMPLE_SEED, SIZES, dumps, make_instance
from tandem.planning.instance import parse

EXAMPLES = Path(__file__).resolve().parent.parent / "tandem" / "planning" / "examples"


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_the_committed_example_is_the_generator_output_at_the_documented_seed(size, tmp_path):
    out = tmp_path / f"{size}.json"
    call_command(
        "make_instance", "--size", size, "--seed", str(EXAMPLE_SEED), "--out", str(out), stdout=StringIO()
    )
    assert out.read_bytes() == (EXAMPLES / f"{size}.json").read_bytes()


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_an_example_is_a_valid_instance_of_its_size(size):
    p = parse(make_instance(size, EXAMPLE_SEED))
    shape = SIZES[size]
    assert (len(p.couples), len(p.therapists), len(p.rooms)) == (shape.couples, shape.therapists, shape.rooms)
    assert {t.gender for t in p.therapists} == {"female", "male"}
    assert any(r.accessible for r in p.rooms)
    # The horizon spans the spring daylight-saving change, so plans show both offsets.
    assert p.days[0].isoformat() < "2027-03-28" < p.days[-1].isoformat()


def test_the_same_seed_gives_the_same_instance_and_another_seed_another():
    assert dumps(make_instance("small", 7)) == dumps(make_instance("small", 7))
    assert make_instance("small", 7) != make_instance("small", 8)


def test_the_command_writes_to_standard_output_without_out():
    out = StringIO()
    call_command("make_instance", "--size", "small", stdout=out)
    assert out.getvalue() == dumps(make_instance("small", EXAMPLE_SEED))
