"""Walkthrough: a person with a camera at eye height walks through every room of a house.

Route. Each room has a *hub*: a small circle (centre, radius) in free floor space. The walker
visits the rooms in depth-first order over the door graph (the deepest branch last, so little
is walked twice), and inside a room circles around the hub, which turns the camera smoothly
through every direction: on a room's first visit the arc is at least LOOK_AROUND_RAD, on a
pass-through only what it takes to reach the exit. Between rooms the route runs straight from
the hub circle (on a tangent) to an approach point in front of the door, through the door
perpendicular to the wall, and on to the next room's approach point; those corners are rounded
with fillets. So the route is a smooth chain of lines and arcs and lies inside `walk_envelope`,
the capsules the procedural generator keeps free of furniture (hubs come from
`house.meta["walk_hubs"]`; houses without them use room centres, with no clearance promise).

Timing (the documented choice for frames/fps vs. tour length). The clip spans
D = (frames - 1) / fps seconds and the tour is L metres:
* L / D in [V_MIN, V_MAX]: the walker moves at L / D and frames are taken every 1/fps s;
* L / D > V_MAX: the walker moves at V_MAX and the frames subsample that walk evenly in
  distance (a time-lapse; `time_s` is the walking time, so its steps exceed 1/fps);
* L / D < V_MIN: extra laps around the hubs are added (up to MAX_EXTRA_LAPS per room) to
  lengthen the tour; only if that is not enough does the walker go slower than V_MIN.
Either way consecutive frames are equally spaced along the route (constant speed). A time-lapse
can step over a small room entirely when very few frames cover many rooms (e.g. 16 frames for
12 rooms); with >= 2 frames per room every room shows up in practice.

Gaze. The yaw is the walking direction averaged over GAZE_WINDOW_M metres of route, which
removes the kinks of fillets while keeping the steady turn along hub circles; the pitch is a
constant small look-down so floors and furniture are in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from .camera import CameraPose
from .config import Scales
from .scene.model import House, Vec2
from .scene.walkways import FILLET_MAX, Hub, approaches, circle_point, room_hubs

EYE_HEIGHT = 1.5  # m above the floor
V_MIN, V_MAX = 0.5, 1.0  # m/s, walking speed range
LOOK_AROUND_RAD = 1.6 * math.pi  # minimum turn on a first visit (with a 75 deg view: all round)
MAX_EXTRA_LAPS = 2  # per room, to stretch short tours over long clips
GAZE_WINDOW_M = 1.0  # m of route the gaze direction is averaged over
PITCH_RANGE_DEG = (-18.0, -10.0)
SAMPLE_STEP = 0.02  # m, dense sampling of the route before frames are picked


@dataclass(frozen=True)
class _Line:
    a: np.ndarray
    b: np.ndarray

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.b - self.a))

    def sample(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points and walking yaw (rad, atan2(dx, dz)) at fractions u of the segment."""
        d = self.b - self.a
        return self.a + u[:, None] * d, np.full(len(u), math.atan2(d[0], d[1]))


@dataclass(frozen=True)
class _Arc:
    center: np.ndarray
    radius: float
    phi0: float  # start angle: point = centre + radius * (cos phi, sin phi) in (x, z)
    sweep: float  # signed, radians; > 0 walks towards increasing phi

    @property
    def length(self) -> float:
        return abs(self.sweep) * self.radius

    def sample(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi = self.phi0 + u * self.sweep
        pts = self.center + self.radius * np.stack([np.cos(phi), np.sin(phi)], axis=1)
        sign = math.copysign(1.0, self.sweep)
        return pts, np.arctan2(-sign * np.sin(phi), sign * np.cos(phi))


_Prim = Union[_Line, _Arc]


# --------------------------------------------------------------------------------- room order
def _door_graph(house: House) -> dict[str, list[tuple[str, str]]]:
    """room id -> [(neighbour room id, door id)], doors sorted by id for determinism."""
    graph: dict[str, list[tuple[str, str]]] = {r.id: [] for r in house.rooms}
    for d in sorted(house.doors, key=lambda d: d.id):
        if len(d.rooms) == 2 and d.rooms[0] != d.rooms[1]:
            a, b = d.rooms
            graph[a].append((b, d.id))
            graph[b].append((a, d.id))
    return graph


def _visit_order(graph, start: str, rng: np.random.Generator) -> list[tuple[str, Optional[str]]]:
    """Depth-first walk (room, door used to enter it) over a spanning tree of the door graph,
    coming back through the same door after each branch; the deepest branch goes last and the
    final walk back is dropped, so every reachable room is visited and the tour ends in a new room."""
    parent: dict[str, Optional[str]] = {start: None}
    children: dict[str, list[tuple[str, str]]] = {}
    stack = [start]
    while stack:  # spanning tree, children in random order
        room = stack.pop()
        kids = [(n, d) for n, d in graph[room] if n not in parent]
        kids = [kids[i] for i in rng.permutation(len(kids))]
        for n, _ in kids:
            parent[n] = room
        children[room] = kids
        stack.extend(n for n, _ in kids)

    def depth(room: str) -> int:
        return 1 + max((depth(n) for n, _ in children[room]), default=0)

    order: list[tuple[str, Optional[str]]] = []

    def visit(room: str, via: Optional[str]) -> None:
        order.append((room, via))
        for n, door in sorted(children[room], key=lambda c: depth(c[0])):
            visit(n, door)
            order.append((room, door))

    visit(start, None)
    seen: set[str] = set()
    last_new = 0
    for i, (room, _) in enumerate(order):
        if room not in seen:
            seen.add(room)
            last_new = i
    return order[: last_new + 1]


# ------------------------------------------------------------------------------ route shapes
def _tangent_angle(hub: Hub, p: Vec2, sigma: float, entering: bool) -> float:
    """Angle on the hub circle where a straight line from/to p joins it tangentially, walking
    the circle in direction sigma (+1: increasing angle)."""
    c = np.asarray(hub.center)
    d = np.asarray(p) - c
    dist = float(np.linalg.norm(d))
    beta, alpha = math.atan2(d[1], d[0]), math.acos(min(1.0, hub.radius / dist))
    for phi in (beta + alpha, beta - alpha):
        t_pt = c + hub.radius * np.array([math.cos(phi), math.sin(phi)])
        tangent = sigma * np.array([-math.sin(phi), math.cos(phi)])
        direction = (t_pt - p) if entering else (p - t_pt)
        if float(direction @ tangent) >= 0:
            return phi
    raise AssertionError("unreachable: one tangent always matches")


def _filleted(points: list[np.ndarray]) -> list[_Prim]:
    """Polyline through `points` with interior corners rounded by circular arcs."""
    prims: list[_Prim] = []
    cursor = points[0]
    for prev, v, nxt in zip(points, points[1:], points[2:]):
        u1, u2 = v - prev, nxt - v
        l1, l2 = float(np.linalg.norm(u1)), float(np.linalg.norm(u2))
        u1, u2 = u1 / l1, u2 / l2
        cross = u1[0] * u2[1] - u1[1] * u2[0]
        turn = math.atan2(cross, float(u1 @ u2))
        if abs(turn) < 1e-6:
            continue
        t = min(FILLET_MAX, 0.45 * l1, 0.45 * l2)
        r = t / math.tan(abs(turn) / 2)
        q1, q2 = v - u1 * t, v + u2 * t
        center = q1 + math.copysign(r, turn) * np.array([-u1[1], u1[0]])
        prims.append(_Line(cursor, q1))
        phi0 = math.atan2(q1[1] - center[1], q1[0] - center[0])
        prims.append(_Arc(center, r, phi0, turn))
        cursor = q2
    prims.append(_Line(cursor, points[-1]))
    return prims


@dataclass(frozen=True)
class _Plan:
    """The seed's choices; the route is a deterministic function of the plan and the extra laps."""

    order: list[tuple[str, Optional[str]]]
    sigma: float  # circulation sense around every hub
    start_phi: float  # where a tour with no exit starts on its circle
    pitch_deg: float


def _plan(house: House, rng: np.random.Generator) -> _Plan:
    graph = _door_graph(house)
    start = house.rooms[int(rng.integers(len(house.rooms)))].id
    order = _visit_order(graph, start, rng)
    sigma = 1.0 if rng.random() < 0.5 else -1.0
    return _Plan(order, sigma, float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(*PITCH_RANGE_DEG)))


def _route(house: House, plan: _Plan, extra_laps: dict[str, int]) -> list[_Prim]:
    hubs = room_hubs(house)
    approach = approaches(house.rooms, house.walls, house.doors)
    order, sigma = plan.order, plan.sigma
    prims: list[_Prim] = []
    seen: set[str] = set()
    for i, (room, via) in enumerate(order):
        hub = hubs[room]
        exit_door = order[i + 1][1] if i + 1 < len(order) else None
        min_arc = 0.0
        if room not in seen:
            seen.add(room)
            min_arc = LOOK_AROUND_RAD + 2 * math.pi * extra_laps.get(room, 0)
        phi_out = _tangent_angle(hub, approach[(exit_door, room)], sigma, False) if exit_door else None
        if via is not None and phi_out is not None:  # passing through: reach the exit, turning at least min_arc
            phi_in = _tangent_angle(hub, approach[(via, room)], sigma, True)
            sweep = (sigma * (phi_out - phi_in)) % (2 * math.pi)
            if sweep < min_arc:
                sweep += 2 * math.pi * math.ceil((min_arc - sweep) / (2 * math.pi))
        else:  # first or last room of the tour (both for a lone room): just look around
            sweep = min_arc
            if via is not None:
                phi_in = _tangent_angle(hub, approach[(via, room)], sigma, True)
            elif phi_out is not None:
                phi_in = phi_out - sigma * sweep
            else:
                phi_in = plan.start_phi
        prims.append(_Arc(np.asarray(hub.center), hub.radius, phi_in, sigma * sweep))
        if exit_door is not None:
            nxt = order[i + 1][0]
            nxt_hub = hubs[nxt]
            phi_next = _tangent_angle(nxt_hub, approach[(exit_door, nxt)], sigma, True)
            prims += _filleted(
                [
                    circle_point(hub, phi_in + sigma * sweep),
                    np.asarray(approach[(exit_door, room)]),
                    np.asarray(approach[(exit_door, nxt)]),
                    circle_point(nxt_hub, phi_next),
                ]
            )
    return [p for p in prims if p.length > 1e-9]


def _extra_laps(house: House, plan: _Plan, length: float, needed: float) -> dict[str, int]:
    """Laps to add, round robin over rooms in visiting order, until the tour reaches `needed` m."""
    hubs = room_hubs(house)
    rooms = list(dict.fromkeys(room for room, _ in plan.order))
    extra = {r: 0 for r in rooms}
    for k in range(MAX_EXTRA_LAPS * len(rooms)):
        if length >= needed:
            break
        room = rooms[k % len(rooms)]
        extra[room] += 1
        length += 2 * math.pi * hubs[room].radius
    return extra


def _dense(prims: list[_Prim]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arc length s (N,), points (N, 2) and unwrapped walking yaw (N, rad) along the route."""
    ss, pts, yaws = [], [], []
    offset = 0.0
    for k, p in enumerate(prims):
        u = np.linspace(0.0, 1.0, max(2, math.ceil(p.length / SAMPLE_STEP) + 1))
        u = u if k == 0 else u[1:]  # a primitive starts where the previous one ended
        xy, yaw = p.sample(u)
        ss.append(offset + u * p.length)
        pts.append(xy)
        yaws.append(yaw)
        offset += p.length
    return np.concatenate(ss), np.concatenate(pts), np.unwrap(np.concatenate(yaws))


def _gaze(s: np.ndarray, yaw: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Yaw averaged over a window of GAZE_WINDOW_M metres of route centred on each `at`."""
    if s[-1] <= 0:
        return np.full(len(at), yaw[0])
    integral = np.concatenate([[0.0], np.cumsum(np.diff(s) * (yaw[1:] + yaw[:-1]) / 2)])
    lo = np.clip(at - GAZE_WINDOW_M / 2, 0.0, s[-1])
    hi = np.clip(at + GAZE_WINDOW_M / 2, 0.0, s[-1])
    return (np.interp(hi, s, integral) - np.interp(lo, s, integral)) / (hi - lo)


def _wrap_deg(rad: np.ndarray) -> np.ndarray:
    """Radians -> degrees in [-180, 180)."""
    return (np.degrees(rad) + 180.0) % 360.0 - 180.0


def walkthrough(house: House, scales: Scales, seed: int) -> list[CameraPose]:
    """`scales.frames` camera poses of a walk through all rooms of `house` (see module doc).
    A pure function of (house, scales, seed)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed % 2**64, 0x7A1C]))  # any int seed
    plan = _plan(house, rng)
    duration = (scales.frames - 1) / scales.fps
    base_length = sum(p.length for p in _route(house, plan, {}))
    extra = _extra_laps(house, plan, base_length, V_MIN * duration)
    prims = _route(house, plan, extra)
    s, xy, yaw = _dense(prims)
    length = float(s[-1])
    speed = min(length / duration, V_MAX) if duration > 0 else V_MAX
    at = np.linspace(0.0, length, scales.frames) if scales.frames > 1 else np.zeros(1)
    x, z = np.interp(at, s, xy[:, 0]), np.interp(at, s, xy[:, 1])
    yaw_deg = _wrap_deg(_gaze(s, yaw, at))
    floor_y = house.rooms[0].floor_y
    return [
        CameraPose(
            (float(x[i]), floor_y + EYE_HEIGHT, float(z[i])),
            float(yaw_deg[i]),
            plan.pitch_deg,
            float(scales.fov_deg),
            float(at[i] / speed),
        )
        for i in range(scales.frames)
    ]
