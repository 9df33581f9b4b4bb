"""Synthetic episodes for the question tests: no rendering, visibility from a crude pinhole model.

A row of 1-4 rectangular rooms (doors in the shared walls), everyday objects with realistic sizes
placed without overlap (small ones on tables/desks/counters, some categories with several
instances, a few objects at a non-multiple-of-90 yaw), a camera walking through the rooms while
panning, and per-frame visible fractions from projected box size, field of view and distance, with
random noise and random dropouts (standing in for occlusion). Objects are visible only from the
room the camera stands in. Good enough to exercise every question type and every refusal path;
the real simulator (`simsv_stream.simulator.simulate`) is used by test_questions_sim.py.
"""

from __future__ import annotations

import math

import numpy as np

from simsv_stream.annotate import FrameAnnotation
from simsv_stream.camera import CameraPose, Frames
from simsv_stream.config import Scales
from simsv_stream.episode import Episode
from simsv_stream.scene.model import Door, House, Room, SceneObject, Wall

# name: (w range, h range, d range, placement, max instances)
CATALOG = {
    "bed": ((1.4, 1.9), (0.9, 1.2), (1.9, 2.1), "floor", 1),
    "sofa": ((1.6, 2.3), (0.8, 0.95), (0.85, 1.0), "floor", 1),
    "armchair": ((0.7, 0.95), (0.8, 1.0), (0.75, 0.95), "floor", 2),
    "chair": ((0.42, 0.55), (0.8, 1.0), (0.45, 0.55), "floor", 5),
    "dining table": ((1.2, 1.8), (0.72, 0.78), (0.8, 1.0), "floor", 1),
    "coffee table": ((0.9, 1.3), (0.4, 0.5), (0.5, 0.7), "floor", 1),
    "desk": ((1.0, 1.6), (0.72, 0.78), (0.55, 0.75), "floor", 1),
    "tv": ((0.9, 1.4), (0.55, 0.85), (0.08, 0.12), "floor", 1),
    "lamp": ((0.3, 0.45), (1.4, 1.7), (0.3, 0.45), "floor", 2),
    "plant": ((0.3, 0.6), (0.5, 1.4), (0.3, 0.6), "floor", 3),
    "bookshelf": ((0.8, 1.2), (1.6, 2.0), (0.3, 0.4), "floor", 2),
    "refrigerator": ((0.6, 0.9), (1.7, 1.9), (0.65, 0.8), "floor", 1),
    "stove": ((0.6, 0.76), (0.85, 0.95), (0.6, 0.7), "floor", 1),
    "cabinet": ((0.6, 1.2), (0.8, 1.0), (0.45, 0.6), "floor", 3),
    "toilet": ((0.38, 0.45), (0.75, 0.85), (0.6, 0.75), "floor", 1),
    "washer": ((0.6, 0.65), (0.85, 0.9), (0.55, 0.65), "floor", 1),
    "trash can": ((0.25, 0.4), (0.4, 0.7), (0.25, 0.4), "floor", 2),
    "laptop": ((0.3, 0.38), (0.02, 0.03), (0.22, 0.26), "surface", 1),
    "cup": ((0.07, 0.1), (0.09, 0.12), (0.07, 0.1), "surface", 3),
    "book": ((0.15, 0.22), (0.02, 0.05), (0.22, 0.3), "surface", 3),
    "vase": ((0.12, 0.2), (0.25, 0.45), (0.12, 0.2), "surface", 1),
    "monitor": ((0.5, 0.7), (0.35, 0.5), (0.15, 0.2), "surface", 1),
}
PIXELS = 224 * 224
SURFACES = ("dining table", "coffee table", "desk", "cabinet")
ROOM_TYPES = ("living_room", "bedroom", "kitchen", "office", "bathroom")


def _overlap(a, b, pad=0.05):
    return (abs(a[0] - b[0]) * 2 < a[2] + b[2] + 2 * pad) and (abs(a[1] - b[1]) * 2 < a[3] + b[3] + 2 * pad)


def synthetic_house(seed: int, n_rooms: int | None = None) -> House:
    rng = np.random.default_rng(seed)
    n = int(n_rooms if n_rooms is not None else rng.integers(1, 4))
    depth = float(rng.uniform(3.5, 5.5))
    xs = [0.0]
    for _ in range(n):
        xs.append(xs[-1] + float(rng.uniform(3.0, 6.0)))
    rooms = []
    for i in range(n):
        poly = ((xs[i], 0.0), (xs[i + 1], 0.0), (xs[i + 1], depth), (xs[i], depth))
        rooms.append(Room(f"room{i}", ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))], poly))
    walls, doors = [], []
    walls.append(Wall("w_south", (xs[0], 0.0), (xs[-1], 0.0), 2.6, 0.1, tuple(r.id for r in rooms)))
    walls.append(Wall("w_north", (xs[0], depth), (xs[-1], depth), 2.6, 0.1, tuple(r.id for r in rooms)))
    walls.append(Wall("w_west", (xs[0], 0.0), (xs[0], depth), 2.6, 0.1, ("room0",)))
    walls.append(Wall("w_east", (xs[-1], 0.0), (xs[-1], depth), 2.6, 0.1, (f"room{n - 1}",)))
    for i in range(1, n):
        dz = float(rng.uniform(1.0, depth - 1.0))
        did = f"d{i}"
        doors.append(Door(did, f"w{i}", (xs[i], dz), 0.9, 2.0, (f"room{i - 1}", f"room{i}")))
        walls.append(Wall(f"w{i}", (xs[i], 0.0), (xs[i], depth), 2.6, 0.1, (f"room{i - 1}", f"room{i}"), (did,)))

    objects: list[SceneObject] = []
    next_id = 1
    for i, room in enumerate(rooms):
        foot: list[tuple[float, float, float, float]] = []
        k_cats = int(rng.integers(6, 12))
        floor_cats = [c for c, v in CATALOG.items() if v[3] == "floor"]
        cats = [
            floor_cats[int(j)] for j in rng.choice(len(floor_cats), size=min(k_cats, len(floor_cats)), replace=False)
        ]
        for cat in cats:
            (w0, w1), (h0, h1), (d0, d1), _, max_n = CATALOG[cat]
            count = 1 if max_n == 1 else int(rng.integers(1, max_n + 1))
            for _ in range(count):
                w, h, d = float(rng.uniform(w0, w1)), float(rng.uniform(h0, h1)), float(rng.uniform(d0, d1))
                yaw = float(rng.choice([0.0, 90.0, 180.0, 270.0]))
                if rng.random() < 0.08:
                    yaw = float(rng.uniform(20.0, 70.0))
                if yaw in (90.0, 270.0):
                    w, d = d, w
                elif yaw % 90.0:
                    t = math.radians(yaw)
                    w, d = abs(w * math.cos(t)) + abs(d * math.sin(t)), abs(w * math.sin(t)) + abs(d * math.cos(t))
                for _try in range(30):
                    cx = (
                        float(rng.uniform(xs[i] + 0.2 + w / 2, xs[i + 1] - 0.2 - w / 2))
                        if xs[i + 1] - xs[i] > w + 0.4
                        else None
                    )
                    cz = float(rng.uniform(0.2 + d / 2, depth - 0.2 - d / 2)) if depth > d + 0.4 else None
                    if cx is None or cz is None:
                        break
                    fp = (cx, cz, w, d)
                    if not any(_overlap(fp, g) for g in foot):
                        foot.append(fp)
                        objects.append(SceneObject(next_id, cat, (cx, h / 2, cz), (w, h, d), yaw, room.id))
                        next_id += 1
                        break
        # small objects on surfaces
        parents = [o for o in objects if o.room == room.id and o.category in SURFACES]
        for p in parents:
            tops: list[tuple[float, float, float, float]] = []
            for _ in range(int(rng.integers(0, 4))):
                small = [c for c, v in CATALOG.items() if v[3] == "surface"]
                cat = small[int(rng.integers(len(small)))]
                (w0, w1), (h0, h1), (d0, d1), _, _ = CATALOG[cat]
                w, h, d = float(rng.uniform(w0, w1)), float(rng.uniform(h0, h1)), float(rng.uniform(d0, d1))
                if w >= p.size[0] or d >= p.size[2]:
                    continue
                cx = float(rng.uniform(p.center[0] - (p.size[0] - w) / 2, p.center[0] + (p.size[0] - w) / 2))
                cz = float(rng.uniform(p.center[2] - (p.size[2] - d) / 2, p.center[2] + (p.size[2] - d) / 2))
                fp = (cx, cz, w, d)
                if any(_overlap(fp, g, 0.01) for g in tops):
                    continue
                tops.append(fp)
                top = p.center[1] + p.size[1] / 2
                objects.append(SceneObject(next_id, cat, (cx, top + h / 2, cz), (w, h, d), 0.0, room.id, parent=p.id))
                next_id += 1
    return House(
        seed=seed,
        rooms=tuple(rooms),
        walls=tuple(walls),
        doors=tuple(doors),
        objects=tuple(objects),
        source="synthetic",
    )


def _fraction(pose: CameraPose, o: SceneObject) -> float:
    yaw = math.radians(pose.yaw_deg)
    fwd = (math.sin(yaw), math.cos(yaw))
    dx, dz = o.center[0] - pose.position[0], o.center[2] - pose.position[2]
    dist = math.hypot(dx, dz)
    if dist < 0.3:
        return 0.0
    ang = math.degrees(math.atan2(dx * fwd[1] - dz * fwd[0], dx * fwd[0] + dz * fwd[1]))
    half = pose.fov_deg / 2
    w = max(o.size[0], o.size[2])
    ang_w = math.degrees(math.atan2(w / 2, dist))
    if abs(ang) > half + ang_w:
        return 0.0
    inside = min(1.0, (half + ang_w - abs(ang)) / (2 * ang_w)) if abs(ang) > half - ang_w else 1.0
    k = 2 * math.tan(math.radians(half))
    return inside * (w * o.size[1]) / (dist * dist * k * k)


def synthetic_episode(seed: int, n_rooms: int | None = None, frames: int = 16, dropout: float = 0.1) -> Episode:
    house = synthetic_house(seed, n_rooms)
    rng = np.random.default_rng(seed + 10_000_019)
    xs = sorted({x for r in house.rooms for x, _ in r.polygon})
    depth = max(z for r in house.rooms for _, z in r.polygon)
    x0, x1 = xs[0] + 0.5, xs[-1] - 0.5
    phase = float(rng.uniform(0, 2 * math.pi))
    poses, anns = [], []
    for t in range(frames):
        s = t / max(1, frames - 1)
        x = x0 + s * (x1 - x0)
        z = depth / 2 + 0.6 * math.sin(2 * math.pi * s + phase)
        yaw = 90.0 + 110.0 * math.sin(3 * math.pi * s + phase) + float(rng.normal(0, 5))
        pose = CameraPose((x, 1.5, z), yaw % 360.0, -10.0, 75.0, t / 2.0)
        room = house.room_at((x, z))
        vis = {}
        for o in house.objects:
            if o.room != room:
                continue
            f = _fraction(pose, o) * float(np.exp(rng.normal(0, 0.35)))
            px = int(round(min(f, 0.8) * PIXELS))  # whole pixels, as a renderer counts them
            if px > 0 and rng.random() > dropout:
                vis[o.id] = px / PIXELS
        poses.append(pose)
        anns.append(FrameAnnotation(t, pose, room, vis))
    return Episode(
        seed=seed,
        scales=Scales(frames=frames),
        house=house,
        poses=poses,
        frames=Frames(rgb=np.zeros((frames, 8, 8, 3), np.uint8)),
        annotations=anns,
    )


def episode_dict(ep: Episode) -> dict:
    """episode.json (issue 2 item 7 schema); the project's own writer when it exists."""
    try:
        from simsv_stream.episode_json import episode_to_dict  # type: ignore
    except Exception:
        episode_to_dict = None
    if episode_to_dict is not None:
        d = episode_to_dict(ep, [])
        return d
    return {
        "seed": ep.seed,
        "config": ep.scales.to_dict(),
        "rooms": [
            {"id": r.id, "type": r.type, "polygon": [list(p) for p in r.polygon], "area_m2": r.area_m2}
            for r in ep.house.rooms
        ],
        "objects": [
            {
                "id": o.id,
                "category": o.category,
                "center": list(o.center),
                "size": list(o.size),
                "yaw_deg": o.yaw_deg,
                "room": o.room,
            }
            for o in ep.house.objects
        ],
        "frames": [
            {
                "index": a.index,
                "position": list(a.pose.position),
                "yaw_deg": a.pose.yaw_deg,
                "pitch_deg": a.pose.pitch_deg,
                "fov_deg": a.pose.fov_deg,
                "room": a.room,
                "visible": {str(k): v for k, v in a.visible.items()},
            }
            for a in ep.annotations
        ],
        "qa": [],
    }
