"""Metric measurement: abs_distance, object_size, room_size (numeric) and rel_distance (mc).

Wording follows VSI-Bench's templates so a model trained here is asked the way the benchmark asks.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .base import (
    AXIS_ALIGNED_TOL_DEG,
    MIN_ABS_DISTANCE_M,
    MIN_DISTANCE_GAP_M,
    REL_DISTANCE_MARGIN,
    NumericSpec,
    QuestionType,
    View,
    box_distance,
    choose_distinct,
    mc_options,
    numeric_qa,
    pick,
    pick_balanced,
)
from .record import QA

METRES = NumericSpec(decimals=lambda v: 1 if v >= 1.0 else 2)
CENTIMETRES = NumericSpec(decimals=lambda v: 0)
SQUARE_METRES = NumericSpec(decimals=lambda v: 1)

T_ABS = (
    "Measuring from the closest point of each object, what is the direct distance between the "
    "{a} and the {b} (in meters)?"
)
T_SIZE = "What is the length of the longest dimension (length, width, or height) of the {a}, measured in centimeters?"
T_ROOM = (
    "What is the size of this room (in square meters)? If multiple rooms are shown, estimate "
    "the size of the combined space."
)
T_REL = (
    "Measuring from the closest point of each object, which of these objects ({c0}, {c1}, {c2}, "
    "{c3}) is the closest to the {r}? If there are multiple instances of an object category, "
    "measure to the closest."
)


def abs_distance(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    """Two unique salient categories, at least MIN_ABS_DISTANCE_M apart (closest points)."""
    names = view.sorted_unique()
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = box_distance(view.obj(a), view.obj(b))
            if d >= MIN_ABS_DISTANCE_M:
                pairs.append((a, b, d))
    if not pairs:
        return None
    a, b, d = pick(rng, pairs)
    if rng.random() < 0.5:
        a, b = b, a
    ev = {
        "objects": {"a": view.unique[a], "b": view.unique[b]},
        "names": {"a": a, "b": b},
        "value_m": d,
        "candidates": len(pairs),
    }
    return numeric_qa(rng, "abs_distance", T_ABS.format(a=a, b=b), d, METRES, mode, ev, T_ABS)


def _axis_aligned(yaw_deg: float) -> bool:
    r = yaw_deg % 90.0
    return min(r, 90.0 - r) <= AXIS_ALIGNED_TOL_DEG


def object_size(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    """Longest box dimension of a unique salient object, in cm. Objects whose yaw is not a multiple
    of 90 degrees are not asked: their axis-aligned box is larger than the object itself."""
    names = [n for n in view.sorted_unique() if _axis_aligned(view.obj(n).yaw_deg)]
    if not names:
        return None
    a = pick(rng, names)
    o = view.obj(a)
    cm = max(o.size) * 100.0
    ev = {
        "objects": {"a": o.id},
        "names": {"a": a},
        "value_cm": cm,
        "size_m": [float(s) for s in o.size],
        "candidates": len(names),
    }
    return numeric_qa(rng, "object_size", T_SIZE.format(a=a), cm, CENTIMETRES, mode, ev, T_SIZE)


def room_size(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    """Floor area of the room(s) the camera walks through (combined when several)."""
    if not view.rooms_visited:
        return None
    house = view.episode.house
    areas = {r: float(house.room(r).area_m2) for r in view.rooms_visited}
    total = sum(areas.values())
    if not total > 0:
        return None
    ev = {"rooms": list(view.rooms_visited), "areas_m2": areas, "value_m2": total}
    return numeric_qa(rng, "room_size", T_ROOM, total, SQUARE_METRES, mode, ev, T_ROOM)


def _category_distance(view: View, ref: int, name: str) -> float:
    r = view.objects[ref]
    return min(box_distance(r, view.objects[i]) for i in view.salient_by_name[name])


def separated(d_answer: float, d_other: float) -> bool:
    """True when `d_other` is clearly farther than `d_answer` (>= 10% and >= MIN_DISTANCE_GAP_M)."""
    return d_other >= d_answer * (1.0 + REL_DISTANCE_MARGIN) and d_other - d_answer >= MIN_DISTANCE_GAP_M


def rel_distance(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    """Reference: a unique salient object. Candidates: 4 other clear salient categories (several
    instances allowed: the closest one counts, as VSI-Bench says). The answer must be clearly closer
    than each of the 3 others. The answer category is drawn uniformly among the categories that can
    be an answer (then a reference for it, then 3 clearly farther distractors): big objects that are
    close to many things would otherwise be the answer far more often than they are offered, a
    category prior a blind guesser can learn."""
    cands = sorted(view.clear_names)
    setups: dict[str, list] = {}  # answer name -> [(ref name, answer name, names clearly farther, distances)]
    for r in view.sorted_unique():
        ref = view.unique[r]
        dist = {c: _category_distance(view, ref, c) for c in cands if c != r}
        for w, dw in dist.items():
            far = [c for c, dc in dist.items() if c != w and separated(dw, dc)]
            if len(far) >= 3:
                setups.setdefault(w, []).append((r, w, far, dist))
    if not setups:
        return None
    _, (r, w, far, dist) = pick_balanced(rng, setups)
    others = choose_distinct(rng, far, 3)
    options, letter, ordered = mc_options(rng, w, others)
    question = T_REL.format(c0=ordered[0], c1=ordered[1], c2=ordered[2], c3=ordered[3], r=r)
    ev = {
        "objects": {"reference": view.unique[r]},
        "names": {"reference": r, "choices": ordered},
        "choice_ids": {c: list(view.salient_by_name[c]) for c in ordered},
        "distances_m": {c: dist[c] for c in ordered},
        "template": T_REL,
        "candidates": sum(len(v) for v in setups.values()),
    }
    return QA("rel_distance", question, letter, "mc", w, options, ev)


TYPES = [
    QuestionType(
        "abs_distance",
        "measurement",
        ("oe", "mc"),
        abs_distance,
        "object_abs_distance",
        "distance in metres between the closest points of two objects' 3D boxes",
    ),
    QuestionType(
        "object_size",
        "measurement",
        ("oe", "mc"),
        object_size,
        "object_size_estimation",
        "longest dimension of an object in centimetres",
    ),
    QuestionType(
        "room_size",
        "measurement",
        ("oe", "mc"),
        room_size,
        "room_size_estimation",
        "floor area in square metres of the room(s) the walkthrough covers",
    ),
    QuestionType(
        "rel_distance",
        "measurement",
        ("mc",),
        rel_distance,
        "object_rel_distance",
        "which of 4 categories is closest (closest points) to a reference object",
    ),
]
