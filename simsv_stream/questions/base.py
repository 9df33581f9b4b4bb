"""Shared machinery for the question generators.

`View` is what every generator reads: the episode plus the per-episode facts questions are built
from (salient instances, display names, unique categories, first sightings, rooms visited).
The helpers here build QA records: multiple-choice options with a uniformly placed correct letter,
numeric answers with sensible rounding, and numeric multiple choice with spread options.

Rules (docs/questions.md), in one place so tests and docs can name them:

* An object may be *named* only when it is salient: its mask covers strictly more than 5% of at
  least one frame (``Episode.salient_ids``).
* A category that must be unique ("the sofa") has exactly one salient instance, and no other
  instance of the category is *noticeable* (covers more than ``NOTICEABLE_FRACTION`` of some frame)
  without being salient: a half-visible second sofa would make "the sofa" ambiguous to a viewer.
  Counting questions use the same rule ("clear" categories), so a visible-but-not-salient instance
  never makes a count debatable.
* Ambiguous questions are refused (the generator returns None), never emitted: distances within
  10% (and ``MIN_DISTANCE_GAP_M``) of each other, angles within 15 degrees of a direction boundary,
  first sightings in the same frame (under either of two visibility thresholds).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..episode import SALIENT_FRACTION, Episode
from ..scene.model import SceneObject
from .record import QA

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

NOTICEABLE_FRACTION = 0.01  # an instance a viewer would notice: > 1% of some frame
REL_DISTANCE_MARGIN = 0.10  # rel_distance: runner-up must be >= 10% farther than the answer ...
MIN_DISTANCE_GAP_M = 0.15  # ... and at least 15 cm farther (10% of a few cm is not visible)
ANGLE_MARGIN_DEG = 15.0  # directions: refuse within 15 degrees of a boundary
MIN_ABS_DISTANCE_M = 0.20  # abs_distance: touching / nearly touching pairs are not asked
MIN_SEPARATION_M = 0.75  # directions/routes: P-O and P-Q centre distance on the floor
AXIS_ALIGNED_TOL_DEG = 5.0  # object_size: the box is the object's own only when yaw ~ k*90

MC_POST_PROMPT = "Answer with the option's letter from the given choices directly."
OE_POST_PROMPT = "Please answer the question using a single word or phrase."


# ----------------------------------------------------------------------------------------------
# names

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")


def display_name(category: str) -> str:
    """Category as it is written in a question: 'dining_table' / 'DiningTable' -> 'dining table',
    'TVStand' -> 'tv stand'."""
    s = _CAMEL_2.sub(r"\1 \2", category)
    s = _CAMEL_1.sub(r"\1 \2", s)
    s = s.replace("_", " ").replace("-", " ")
    return " ".join(s.lower().split())


# ----------------------------------------------------------------------------------------------
# geometry (floor plane is (x, z); yaw 0 = +z, yaw 90 = +x, turning right increases yaw)


def box_distance(a: SceneObject, b: SceneObject) -> float:
    """Distance between the closest points of two axis-aligned 3D boxes (0 when they touch)."""
    gap = [max(0.0, abs(ca - cb) - (sa + sb) / 2.0) for ca, cb, sa, sb in zip(a.center, b.center, a.size, b.size)]
    return math.sqrt(sum(g * g for g in gap))


def floor_xy(o: SceneObject) -> tuple[float, float]:
    return (float(o.center[0]), float(o.center[2]))


def signed_turn_deg(forward: Sequence[float], target: Sequence[float]) -> float:
    """Signed angle in degrees from `forward` to `target` (both (x, z) floor vectors), in
    (-180, 180]; positive = to the right. With yaw 0 = +z and yaw 90 = +x (clockwise seen from
    above, the project's convention), the right-hand side of a heading (fx, fz) is (fz, -fx)."""
    fx, fz = forward
    tx, tz = target
    right = tx * fz - tz * fx  # target . (fz, -fx)
    ahead = tx * fx + tz * fz
    ang = math.degrees(math.atan2(right, ahead))
    return 180.0 if ang == -180.0 else ang


# ----------------------------------------------------------------------------------------------
# the per-episode view


@dataclass
class View:
    episode: Episode
    objects: dict[int, SceneObject]
    names: dict[int, str]  # id -> display name (every object in the house)
    max_fraction: dict[int, float]  # id -> max visible fraction over frames
    salient: frozenset[int]
    salient_by_name: dict[str, tuple[int, ...]]
    noticeable_by_name: dict[str, tuple[int, ...]]
    clear_names: frozenset[str]  # salient names whose noticeable instances are all salient
    unique: dict[str, int]  # clear names with exactly one salient instance -> id
    rooms_visited: list[str]
    frames_in_room: dict[str, int]
    first_any: dict[str, int] = field(default_factory=dict)  # name -> first frame with > 0
    first_noticeable: dict[str, int] = field(default_factory=dict)  # name -> first frame with > 1%

    @classmethod
    def build(cls, episode: Episode) -> "View":
        objects = {o.id: o for o in episode.house.objects if o.id > 0}
        names = {i: display_name(o.category) for i, o in objects.items()}
        max_fraction: dict[int, float] = {}
        first_any: dict[str, int] = {}
        first_not: dict[str, int] = {}
        frames_in_room: dict[str, int] = {}
        for a in episode.annotations:
            if a.room is not None:
                frames_in_room[a.room] = frames_in_room.get(a.room, 0) + 1
            for i, f in a.visible.items():
                if i not in objects or not f > 0.0:
                    continue
                if f > max_fraction.get(i, 0.0):
                    max_fraction[i] = float(f)
                n = names[i]
                if n not in first_any:
                    first_any[n] = a.index
                if f > NOTICEABLE_FRACTION and n not in first_not:
                    first_not[n] = a.index
        salient = frozenset(i for i, f in max_fraction.items() if f > SALIENT_FRACTION)
        sal_by: dict[str, list[int]] = {}
        not_by: dict[str, list[int]] = {}
        for i in sorted(max_fraction):
            if i in salient:
                sal_by.setdefault(names[i], []).append(i)
            if max_fraction[i] > NOTICEABLE_FRACTION:
                not_by.setdefault(names[i], []).append(i)
        clear = frozenset(n for n, ids in sal_by.items() if set(not_by.get(n, ())) <= set(ids))
        unique = {n: sal_by[n][0] for n in sorted(clear) if len(sal_by[n]) == 1}
        return cls(
            episode=episode,
            objects=objects,
            names=names,
            max_fraction=max_fraction,
            salient=salient,
            salient_by_name={n: tuple(v) for n, v in sal_by.items()},
            noticeable_by_name={n: tuple(v) for n, v in not_by.items()},
            clear_names=clear,
            unique=unique,
            rooms_visited=list(episode.rooms_visited),
            frames_in_room=frames_in_room,
            first_any=first_any,
            first_noticeable=first_not,
        )

    def obj(self, name: str) -> SceneObject:
        """The one salient instance of a unique name."""
        return self.objects[self.unique[name]]

    def sorted_unique(self) -> list[str]:
        return sorted(self.unique)


# ----------------------------------------------------------------------------------------------
# answers


def fmt_number(value: float, decimals: int) -> str:
    if decimals <= 0:
        return str(int(round(value)))
    return f"{value:.{decimals}f}"


def mc_options(rng: np.random.Generator, correct: str, distractors: Sequence[str]) -> tuple[list[str], str, list[str]]:
    """Shuffle `correct` among `distractors`; returns (["A. x", ...], correct letter, contents in
    option order). The permutation is uniform, so the correct letter is uniform over positions."""
    items = [correct, *distractors]
    if len(set(items)) != len(items):
        raise ValueError(f"duplicate options: {items}")
    perm = [int(k) for k in rng.permutation(len(items))]
    ordered = [items[k] for k in perm]
    letter = LETTERS[perm.index(0)]
    return [f"{LETTERS[i]}. {t}" for i, t in enumerate(ordered)], letter, ordered


@dataclass(frozen=True)
class NumericSpec:
    """How one numeric quantity is written: rounding decimals (a function of the value) and
    whether options must be integers (counts)."""

    decimals: Callable[[float], int]
    integer: bool = False
    minimum: float = 0.0  # smallest meaningful value for an integer distractor


def numeric_mc_values(
    rng: np.random.Generator, value: float, spec: NumericSpec, n: int = 4
) -> Optional[tuple[list[float], int]]:
    """n spread option values containing `value`, the correct one at a rank (position in sorted
    order) drawn uniformly from 0..n-1. Real quantities: neighbouring options differ by a factor
    drawn in [1.3, 1.6] (the closest wrong option is >= 30% off). Integers: a step of
    max(1, round(0.3 * value)); when the drawn rank would push an option below `spec.minimum`
    (e.g. a count of 1 cannot be the 3rd smallest of 4 counts >= 1) the question is refused (None)
    rather than re-drawn: re-drawing would put small answers at the smallest option far more often
    than 1 in 4, which a blind guesser learns ("pick the smallest"). Returns (values in a random
    order, index of the correct one) or None."""
    k = int(rng.integers(n))
    if spec.integer:
        v = int(round(value))
        step = max(1, int(round(0.3 * v)))
        if v - k * step < spec.minimum:
            return None
        vals = [float(v + (j - k) * step) for j in range(n)]
    else:
        vals = []
        for j in range(n):
            if j == k:
                vals.append(float(value))
                continue
            steps = j - k
            factor = 1.0
            for _ in range(abs(steps)):
                factor *= float(rng.uniform(1.3, 1.6))
            vals.append(float(value) * (factor if steps > 0 else 1.0 / factor))
    order = [int(i) for i in rng.permutation(n)]
    shuffled = [vals[i] for i in order]
    return shuffled, order.index(k)


def numeric_qa(
    rng: np.random.Generator,
    question_type: str,
    question: str,
    value: float,
    spec: NumericSpec,
    mode: str,
    evidence: dict[str, Any],
    template: str,
) -> Optional[QA]:
    """A numeric question, open-ended (answer = the value rounded as text) or multiple choice over
    4 spread values (None when numeric_mc_values refuses)."""
    d = spec.decimals(value)
    gt: Any = int(round(value)) if spec.integer else float(value)
    if mode == "oe":
        return QA(question_type, question, fmt_number(value, d), "oe", gt, None, {**evidence, "template": template})
    drawn = numeric_mc_values(rng, value, spec)
    if drawn is None:
        return None
    vals, idx = drawn
    texts = [fmt_number(v, spec.decimals(v) if not spec.integer else 0) for v in vals]
    if len(set(texts)) != len(texts):  # rounding collapsed two options: respread at finer precision
        texts = [fmt_number(v, spec.decimals(v) + 1) for v in vals]
    options = [f"{LETTERS[i]}. {t}" for i, t in enumerate(texts)]
    return QA(
        question_type,
        question,
        LETTERS[idx],
        "mc",
        gt,
        options,
        {**evidence, "template": template + "|mc", "option_values": [float(v) for v in vals]},
    )


def pick(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def pick_balanced(rng: np.random.Generator, groups: dict[Any, list[Any]]) -> tuple[Any, Any]:
    """Pick a group key uniformly among non-empty groups (sorted keys, for determinism), then a
    member uniformly. Used to flatten answer distributions (direction classes, count values)."""
    keys = sorted(k for k, v in groups.items() if v)
    key = keys[int(rng.integers(len(keys)))]
    return key, pick(rng, groups[key])


def choose_distinct(rng: np.random.Generator, seq: Sequence[Any], k: int) -> list[Any]:
    idx = rng.choice(len(seq), size=k, replace=False)
    return [seq[int(i)] for i in idx]


Builder = Callable[[View, np.random.Generator, str], Optional[QA]]


@dataclass(frozen=True)
class QuestionType:
    """One registered question type. `modes` lists the answer modes it supports, the first being
    its default; `vsi_name` is VSI-Bench's `question_type` for the same task (None for SIMS-V's
    extras)."""

    name: str
    category: str  # measurement | perspective | temporal | counting
    modes: tuple[str, ...]
    build: Builder
    vsi_name: Optional[str] = None
    description: str = ""

    @property
    def default_mode(self) -> str:
        return self.modes[0]

    @property
    def numeric(self) -> bool:
        return "oe" in self.modes
