"""Perspective taking: rel_direction_easy / _medium / _hard and route_plan (all mc).

Directions are measured in the floor plane (x, z) for an observer at P's centre looking at O's
centre (docs/questions.md). The signed angle theta from the facing direction to Q is positive
to the right (yaw 0 = +z, yaw 90 = +x: turning right increases yaw).

* easy:   left (theta < 0) / right (theta > 0); boundaries 0 and 180 degrees.
* medium: back when |theta| > 135 ("I would have to turn at least 135 degrees"), otherwise left /
          right; boundaries 0 and +-135.
* hard:   front-left, front-right, back-left, back-right (quadrants); boundaries 0, +-90, 180.

A triple whose angle lies within 15 degrees of one of its difficulty's boundaries is refused. P, O
and Q are unique salient categories whose centres are at least MIN_SEPARATION_M from P's on the
floor. The answer class is drawn uniformly among the classes the episode can ask, then a triple of
that class, so answer contents stay balanced (a blind guesser cannot win by always saying "left").
"""

from __future__ import annotations

import itertools
import math
from typing import Optional

import numpy as np

from ..scene.model import SceneObject
from .base import (
    ANGLE_MARGIN_DEG,
    MIN_SEPARATION_M,
    QuestionType,
    View,
    floor_xy,
    mc_options,
    pick,
    pick_balanced,
    signed_turn_deg,
)
from .record import QA

T_EASY = "If I am standing by the {p} and facing the {o}, is the {q} to the left or the right of the {o}?"
T_MEDIUM = (
    "If I am standing by the {p} and facing the {o}, is the {q} to my left, right, or back? "
    "An object is to my back if I would have to turn at least 135 degrees in order to face it."
)
T_HARD = (
    "If I am standing by the {p} and facing the {o}, is the {q} to my front-left, front-right, "
    "back-left, or back-right? The directions refer to the quadrants of a Cartesian plane (if I "
    "am standing at the origin and facing along the positive y-axis)."
)

CLASSES = {
    "easy": ("left", "right"),
    "medium": ("left", "right", "back"),
    "hard": ("front-left", "front-right", "back-left", "back-right"),
}
BOUNDARIES = {"easy": (0.0, 180.0), "medium": (0.0, 135.0), "hard": (0.0, 90.0, 180.0)}
TEMPLATES = {"easy": T_EASY, "medium": T_MEDIUM, "hard": T_HARD}


def direction_class(level: str, theta: float) -> Optional[str]:
    """Class of a signed angle (degrees, + = right) at a difficulty level, or None when it lies
    within ANGLE_MARGIN_DEG of one of the level's boundaries (boundaries are symmetric in sign)."""
    a = abs(theta)
    if any(abs(a - b) < ANGLE_MARGIN_DEG for b in BOUNDARIES[level]):
        return None
    side = "right" if theta > 0 else "left"
    if level == "easy":
        return side
    if level == "medium":
        return "back" if a > 135.0 else side
    return ("front-" if a < 90.0 else "back-") + side


def _vec(a: SceneObject, b: SceneObject) -> tuple[float, float]:
    (ax, az), (bx, bz) = floor_xy(a), floor_xy(b)
    return (bx - ax, bz - az)


def _rel_direction(level: str, view: View, rng: np.random.Generator) -> Optional[QA]:
    names = view.sorted_unique()
    groups: dict[str, list[tuple[str, str, str, float]]] = {c: [] for c in CLASSES[level]}
    for p in names:
        po = view.obj(p)
        for o, q in itertools.permutations([n for n in names if n != p], 2):
            f = _vec(po, view.obj(o))
            t = _vec(po, view.obj(q))
            if math.hypot(*f) < MIN_SEPARATION_M or math.hypot(*t) < MIN_SEPARATION_M:
                continue
            theta = signed_turn_deg(f, t)
            c = direction_class(level, theta)
            if c is not None:
                groups[c].append((p, o, q, theta))
    if not any(groups.values()):
        return None
    answer, (p, o, q, theta) = pick_balanced(rng, groups)
    options, letter, _ = mc_options(rng, answer, [c for c in CLASSES[level] if c != answer])
    template = TEMPLATES[level]
    ev = {
        "objects": {"p": view.unique[p], "o": view.unique[o], "q": view.unique[q]},
        "names": {"p": p, "o": o, "q": q},
        "angle_deg": theta,
        "template": template,
        "candidates": sum(len(v) for v in groups.values()),
    }
    return QA(f"rel_direction_{level}", template.format(p=p, o=o, q=q), letter, "mc", answer, options, ev)


def rel_direction_easy(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    return _rel_direction("easy", view, rng)


def rel_direction_medium(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    return _rel_direction("medium", view, rng)


def rel_direction_hard(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    return _rel_direction("hard", view, rng)


# ----------------------------------------------------------------------------------------------
# route_plan

T_ROUTE = (
    "You are a robot beginning at the {x} facing the {y}. You want to navigate to the {z}. "
    "You will perform the following actions (Note: for each [please fill in], choose either "
    "'turn back,' 'turn left,' or 'turn right.'): {actions}"
)

FIRST_LEG_MAX_DEG = 15.0  # first waypoint lies within 15 degrees of the facing direction
TURN_SIDE_DEG = (45.0, 120.0)  # a clear left/right turn
TURN_BACK_DEG = 150.0  # a clear turn back (>= 135 + 15)
WALL_DOOR_MARGIN_M = 0.10  # a leg crosses a wall only inside a door opening, 10 cm from its jambs
OBSTACLE_MARGIN_M = 0.05
MAX_EXPANSIONS = 6000
MIN_TURNS, MAX_TURNS = 2, 3  # fill-ins per route (see route_plan)


def turn_class(theta: float) -> Optional[str]:
    a = abs(theta)
    if a >= TURN_BACK_DEG:
        return "back"
    if TURN_SIDE_DEG[0] <= a <= TURN_SIDE_DEG[1]:
        return "right" if theta > 0 else "left"
    return None


def _segments_cross(p, q, a, b) -> Optional[tuple[float, float]]:
    """Proper intersection of segments pq and ab; returns (t on pq, u on ab) or None."""
    rx, rz = q[0] - p[0], q[1] - p[1]
    sx, sz = b[0] - a[0], b[1] - a[1]
    den = rx * sz - rz * sx
    if abs(den) < 1e-12:
        return None
    qpx, qpz = a[0] - p[0], a[1] - p[1]
    t = (qpx * sz - qpz * sx) / den
    u = (qpx * rz - qpz * rx) / den
    if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0:
        return t, u
    return None


def _segment_hits_rect(p, q, lo, hi) -> bool:
    """Liang-Barsky: does segment pq pass through the open rectangle [lo, hi] (x, z)?"""
    t0, t1 = 0.0, 1.0
    d = (q[0] - p[0], q[1] - p[1])
    for k in range(2):
        if abs(d[k]) < 1e-12:
            if not lo[k] < p[k] < hi[k]:
                return False
            continue
        ta, tb = (lo[k] - p[k]) / d[k], (hi[k] - p[k]) / d[k]
        if ta > tb:
            ta, tb = tb, ta
        t0, t1 = max(t0, ta), min(t1, tb)
        if t0 >= t1:
            return False
    return True


class _Walkable:
    """Whether the straight leg between two objects' floor centres is walkable: it stays inside
    the rooms the walkthrough visited, crosses walls only through door openings, and passes no
    other floor-standing object."""

    def __init__(self, view: View):
        house = view.episode.house
        self.view = view
        self.rooms = [house.room(r) for r in view.rooms_visited]
        doors = {d.id: d for d in house.doors}
        self.walls = []
        for w in house.walls:
            openings = []
            for did in w.doors:
                if did in doors:
                    openings.append((doors[did].center, doors[did].width / 2.0 - WALL_DOOR_MARGIN_M))
            self.walls.append((w.start, w.end, openings))
        self.floor_objs = [o for o in view.objects.values() if o.parent is None]
        self.cache: dict[tuple[int, int], bool] = {}

    def _related(self, o: SceneObject) -> set[int]:
        ids = {o.id}
        if o.parent is not None:
            ids.add(o.parent)
        ids.update(c.id for c in self.view.objects.values() if c.parent == o.id)
        return ids

    def __call__(self, a: SceneObject, b: SceneObject) -> bool:
        key = (min(a.id, b.id), max(a.id, b.id))
        if key not in self.cache:
            self.cache[key] = self._check(a, b)
        return self.cache[key]

    def _check(self, a: SceneObject, b: SceneObject) -> bool:
        p, q = floor_xy(a), floor_xy(b)
        n = max(2, int(math.hypot(q[0] - p[0], q[1] - p[1]) / 0.1) + 1)
        for k in range(n + 1):
            t = k / n
            pt = (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))
            if not any(r.contains(pt) for r in self.rooms):
                return False
        for start, end, openings in self.walls:
            hit = _segments_cross(p, q, start, end)
            if hit is None:
                continue
            t = hit[0]
            x = (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))
            if not any(math.hypot(x[0] - c[0], x[1] - c[1]) <= half for c, half in openings):
                return False
        skip = self._related(a) | self._related(b)
        for o in self.floor_objs:
            if o.id in skip:
                continue
            lo = (o.center[0] - o.size[0] / 2 + OBSTACLE_MARGIN_M, o.center[2] - o.size[2] / 2 + OBSTACLE_MARGIN_M)
            hi = (o.center[0] + o.size[0] / 2 - OBSTACLE_MARGIN_M, o.center[2] + o.size[2] / 2 - OBSTACLE_MARGIN_M)
            if lo[0] < hi[0] and lo[1] < hi[1] and _segment_hits_rect(p, q, lo, hi):
                return False
        return True


def _route_text(waypoints: list[str], dest: str) -> str:
    steps = [f"1. Go forward until the {waypoints[0]}."]
    n = 2
    for w in waypoints[1:]:
        steps.append(f"{n}. [please fill in]")
        steps.append(f"{n + 1}. Go forward until the {w}.")
        n += 2
    steps.append(f"{n}. You have reached the final destination.")
    return " ".join(steps)


def _turns_text(turns) -> str:
    return ", ".join(f"Turn {t.capitalize()}" for t in turns)


def route_plan(view: View, rng: np.random.Generator, mode: str) -> Optional[QA]:
    """Start at X facing Y; walk to W1 (within 15 degrees of the facing direction, often Y itself),
    then turn clearly left (45-120 degrees), right, or back (>= 150 degrees) at each waypoint and walk
    straight to the next, ending at the destination Z. Every leg is at least MIN_SEPARATION_M long
    and walkable (inside visited rooms, through doors, around furniture). 1-3 turns are asked; the
    options are 4 turn sequences (3 when only one turn: left/right/back).

    Routes are enumerated (up to MAX_EXPANSIONS leg checks, in a random order) and grouped by their
    turn sequence; the number of turns is drawn uniformly among those found, then the sequence
    uniformly among those found with that many turns, then a route. Without this, sequences such
    as "Turn Right, Turn Right" (walking around a room) dominate and a blind guesser learns them."""
    names = view.sorted_unique()
    if len(names) < 3:
        return None
    objs = {n: view.obj(n) for n in names}
    walk = _Walkable(view)
    n = len(names)
    xz = np.array([floor_xy(objs[m]) for m in names])
    far = np.hypot(*(xz[:, None, :] - xz[None, :, :]).transpose(2, 0, 1)) >= MIN_SEPARATION_M
    clear: dict[tuple[int, int], bool] = {}

    def leg_ok(i: int, j: int) -> bool:
        if i == j or not far[i, j]:
            return False
        if (i, j) not in clear:
            clear[(i, j)] = clear[(j, i)] = walk(objs[names[i]], objs[names[j]])
        return clear[(i, j)]

    def heading(i: int, j: int) -> tuple[float, float]:
        return (float(xz[j, 0] - xz[i, 0]), float(xz[j, 1] - xz[i, 1]))

    found: dict[tuple[str, ...], list[tuple[int, tuple[int, ...]]]] = {}  # turns -> [(y, path)]
    budget = MAX_EXPANSIONS

    def extend(y: int, path: tuple[int, ...], turns: tuple[str, ...]) -> None:
        """path = (x, w1, ...): the walked waypoints; y only sets the initial facing."""
        nonlocal budget
        if len(turns) >= MIN_TURNS:
            found.setdefault(turns, []).append((y, path))
        if len(turns) == MAX_TURNS:
            return
        prev, cur = path[-2], path[-1]
        h = heading(prev, cur)
        for nxt in (int(k) for k in rng.permutation(n)):
            if budget <= 0:
                return
            if nxt in path or not far[cur, nxt]:
                continue
            budget -= 1
            c = turn_class(signed_turn_deg(h, heading(cur, nxt)))
            if c is None or not leg_ok(cur, nxt):
                continue
            extend(y, path + (nxt,), turns + (c,))

    starts = [(x, y) for x in range(n) for y in range(n) if x != y and far[x, y]]
    for si in rng.permutation(len(starts)):
        if budget <= 0:
            break
        x, y = starts[int(si)]
        facing = heading(x, y)
        for w1 in range(n):
            if w1 == x or not far[x, w1]:
                continue
            budget -= 1
            if abs(signed_turn_deg(facing, heading(x, w1))) > FIRST_LEG_MAX_DEG or not leg_ok(x, w1):
                continue
            extend(y, (x, w1), ())
    if not found:
        return None
    by_len: dict[int, list[tuple[str, ...]]] = {}
    for turns in found:
        by_len.setdefault(len(turns), []).append(turns)
    _, turns = pick_balanced(rng, {k: sorted(v) for k, v in by_len.items()})
    y_i, path = pick(rng, found[turns])
    x, *ways = (names[i] for i in path)
    y = names[y_i]
    same_len = [list(t) for t in sorted(found) if len(t) == len(turns) and t != turns]
    return _route_qa(view, rng, x, y, [x, *ways], list(turns), same_len, sum(len(v) for v in found.values()))


def _route_qa(
    view: View,
    rng: np.random.Generator,
    x: str,
    y: str,
    path: list[str],
    turns: list[str],
    achievable: list[list[str]],
    candidates: int,
) -> QA:
    """Distractors are first drawn from the other turn sequences of the same length that routes in
    this house actually have (the answer is drawn from the same set, so the options are
    exchangeable and a prior over sequences does not single out the answer), then from the
    remaining sequences."""
    waypoints = path[1:]
    z = waypoints[-1]
    seqs = [list(s) for s in itertools.product(("left", "right", "back"), repeat=len(turns))]
    k = min(3, len(seqs) - 1)
    first = [achievable[int(i)] for i in rng.permutation(len(achievable))][:k]
    rest = [s for s in seqs if s != turns and s not in first]
    distract = first + [rest[int(i)] for i in rng.permutation(len(rest))][: k - len(first)]
    options, letter, _ = mc_options(rng, _turns_text(turns), [_turns_text(s) for s in distract])
    question = T_ROUTE.format(x=x, y=y, z=z, actions=_route_text(waypoints, z))
    ev = {
        "objects": {"x": view.unique[x], "y": view.unique[y]},
        "names": {"x": x, "y": y, "waypoints": waypoints},
        "waypoint_ids": [view.unique[w] for w in waypoints],
        "turns": list(turns),
        "template": T_ROUTE + f"|{len(turns)}",
        "candidates": candidates,
    }
    return QA("route_plan", question, letter, "mc", list(turns), options, ev)


TYPES = [
    QuestionType(
        "rel_direction_easy",
        "perspective",
        ("mc",),
        rel_direction_easy,
        "object_rel_direction_easy",
        "standing by P facing O, is Q to the left or the right",
    ),
    QuestionType(
        "rel_direction_medium",
        "perspective",
        ("mc",),
        rel_direction_medium,
        "object_rel_direction_medium",
        "standing by P facing O, is Q to the left, right or back",
    ),
    QuestionType(
        "rel_direction_hard",
        "perspective",
        ("mc",),
        rel_direction_hard,
        "object_rel_direction_hard",
        "standing by P facing O, is Q front-left, front-right, back-left or back-right",
    ),
    QuestionType(
        "route_plan",
        "perspective",
        ("mc",),
        route_plan,
        "route_planning",
        "fill in the turns of a route between objects",
    ),
]
