"""Question-type mixes: presets, explicit weights, validation errors naming the offender, sampling."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from simsv_stream.errors import ConfigError
from simsv_stream.questions import REGISTRY
from simsv_stream.questions.mix import Mix


def test_3q_preset_is_simsv_proportions():
    m = Mix.parse("3q")
    counts = {
        "abs_distance": 8616,
        "appearance_order": 6384,
        "rel_direction_medium": 3905,
        "rel_direction_hard": 3853,
        "rel_direction_easy": 2242,
    }
    total = sum(counts.values())  # 25,000
    assert total == 25000
    assert m.name == "3q"
    assert set(m.weights) == set(counts)
    for k, v in counts.items():
        assert m.weights[k] == pytest.approx(v / total)
    assert sum(m.weights.values()) == pytest.approx(1.0)


def test_vsi_preset_is_eight_tasks_equal():
    m = Mix.parse("vsi")
    w = m.weights
    assert "temporal_order" not in w and "room_count" not in w
    for k in (
        "object_count",
        "abs_distance",
        "object_size",
        "room_size",
        "rel_distance",
        "route_plan",
        "appearance_order",
    ):
        assert w[k] == pytest.approx(1 / 8)
    for k in ("rel_direction_easy", "rel_direction_medium", "rel_direction_hard"):
        assert w[k] == pytest.approx(1 / 24)
    assert sum(w.values()) == pytest.approx(1.0)


def test_all_preset_is_every_registered_type():
    w = Mix.parse("all").weights
    assert set(w) == set(REGISTRY)
    assert all(v == pytest.approx(1 / len(REGISTRY)) for v in w.values())


@pytest.mark.parametrize(
    "spec",
    [
        "abs_distance=0.5 appearance_order=0.5",
        "abs_distance=1,appearance_order=1",
        {"abs_distance": 2, "appearance_order": 2},
        {"abs_distance": "0.5", "appearance_order": 0.5},
        "abs_distance=3 appearance_order=3 object_count=0",  # 0 switches a type off
    ],
)
def test_explicit_weights(spec):
    m = Mix.parse(spec)
    assert m.weights == {"abs_distance": 0.5, "appearance_order": 0.5}
    assert m.name == "custom"
    assert Mix.parse(m.to_dict()) == m
    assert Mix.parse(m.spec()) == m
    assert Mix.parse(m) is m


def test_single_type_and_roundtrip():
    assert Mix.parse("appearance_order").weights == {"appearance_order": 1.0}
    for name in ("3q", "vsi", "all"):
        m = Mix.parse(name)
        again = Mix.parse(m.to_dict())
        assert again == m and again.name == name
        assert str(m) == name


@pytest.mark.parametrize(
    "spec,field,words",
    [
        ("abs_distanse=1", "mix.abs_distanse", ["unknown question type", "abs_distance"]),
        ({"bogus": 1, "abs_distance": 1}, "mix.bogus", ["unknown"]),
        ("abs_distance=-1", "mix.abs_distance", [">= 0", "-1"]),
        ({"abs_distance": -0.5}, "mix.abs_distance", [">= 0"]),
        ("abs_distance=nan", "mix.abs_distance", ["finite"]),
        ({"abs_distance": math.inf}, "mix.abs_distance", ["finite"]),
        ("abs_distance=lots", "mix.abs_distance", ["number", "lots"]),
        ({"abs_distance": True}, "mix.abs_distance", ["number"]),
        ({"abs_distance": None}, "mix.abs_distance", ["number"]),
        ("abs_distance=0 appearance_order=0", "mix", ["all weights are zero"]),
        ({}, "mix", ["no question types"]),
        ("", "mix", ["empty"]),
        ("4q", "mix", ["unknown preset", "3q", "vsi", "all"]),
        ("abs_distance", None, None),
        ("abs_distance=1 abs_distance=2", "mix.abs_distance", ["twice"]),
        ("abs_distance=1 =2", "mix", ["TYPE=WEIGHT"]),
        (42, "mix", ["expected"]),
    ],
)
def test_validation_names_the_offender(spec, field, words):
    if field is None:
        assert Mix.parse(spec).weights == {"abs_distance": 1.0}
        return
    with pytest.raises(ConfigError) as e:
        Mix.parse(spec)
    assert e.value.field == field
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert "\n" not in str(e.value)


def test_choose_follows_weights_and_is_deterministic():
    m = Mix.parse("3q")
    rng = np.random.default_rng(0)
    draws = [m.choose(rng) for _ in range(20000)]
    c = Counter(draws)
    names = list(m.weights)
    _, p = chisquare([c[n] for n in names], [20000 * m.weights[n] for n in names])
    assert p > 0.01
    assert [m.choose(np.random.default_rng(5)) for _ in range(3)] == [m.choose(np.random.default_rng(5))] * 3
    one = Mix.parse({"room_count": 1, "abs_distance": 0})
    assert {one.choose(rng) for _ in range(100)} == {"room_count"}
