"""A small hand-built House for renderer/annotation tests (independent of the procedural generator)."""

from __future__ import annotations

from simsv_stream.camera import CameraPose
from simsv_stream.scene.model import Door, House, Room, SceneObject, Wall


def small_house(seed: int = 0) -> House:
    """Two rooms side by side: living room x 0..5, bedroom x 5..9 (z 0..4), a door at (5, 2)."""
    rooms = (
        Room("r0", "living_room", ((0.0, 0.0), (5.0, 0.0), (5.0, 4.0), (0.0, 4.0))),
        Room("r1", "bedroom", ((5.0, 0.0), (9.0, 0.0), (9.0, 4.0), (5.0, 4.0))),
    )
    H, T = 2.6, 0.1
    walls = (
        Wall("w0", (0.0, 0.0), (5.0, 0.0), H, T, ("r0",)),
        Wall("w1", (5.0, 0.0), (9.0, 0.0), H, T, ("r1",)),
        Wall("w2", (9.0, 0.0), (9.0, 4.0), H, T, ("r1",)),
        Wall("w3", (9.0, 4.0), (5.0, 4.0), H, T, ("r1",)),
        Wall("w4", (5.0, 4.0), (0.0, 4.0), H, T, ("r0",)),
        Wall("w5", (0.0, 4.0), (0.0, 0.0), H, T, ("r0",)),
        Wall("w6", (5.0, 0.0), (5.0, 4.0), H, T, ("r0", "r1"), ("d0",)),
    )
    doors = (Door("d0", "w6", (5.0, 2.0), 0.9, 2.1, ("r0", "r1")),)
    shift = 0.1 * (seed % 5)
    objects = (
        SceneObject(1, "sofa", (1.2 + shift, 0.42, 3.4), (2.0, 0.84, 0.9), 180.0, "r0"),
        SceneObject(2, "table", (2.5, 0.38, 1.8), (1.2, 0.76, 0.8), 0.0, "r0"),
        SceneObject(3, "cup", (2.6, 0.81, 1.9), (0.08, 0.1, 0.08), 0.0, "r0", parent=2),
        SceneObject(4, "chair", (3.8, 0.45, 1.0), (0.5, 0.9, 0.5), 0.0, "r0"),
        SceneObject(5, "bed", (7.5, 0.3, 2.9), (1.6, 0.6, 2.0), 0.0, "r1"),
        SceneObject(6, "floor lamp", (8.5, 0.8, 0.5), (0.3, 1.6, 0.3), 0.0, "r1"),
        SceneObject(7, "refrigerator", (0.45, 0.9, 0.45), (0.7, 1.8, 0.7), 0.0, "r0"),
    )
    return House(seed=seed, rooms=rooms, walls=walls, doors=doors, objects=objects, wall_height=H)


def small_walk(n: int = 16, fov: float = 75.0) -> list[CameraPose]:
    """A walk from the living room through the door into the bedroom, looking around."""
    import math

    poses = []
    for i in range(n):
        s = i / max(1, n - 1)
        x = 1.5 + 5.5 * s
        z = 1.0 + 1.0 * math.sin(math.pi * s) if x < 4.4 or x > 5.6 else 2.0
        yaw = 60.0 + 60.0 * math.sin(2 * math.pi * s)
        poses.append(CameraPose((x, 1.5, z), yaw, -10.0, fov, time_s=i * 0.5))
    return poses


def odd_house() -> House:
    """An L-shaped living room (rectilinear, several rectangles) and a kitchen with a slanted wall
    (non-rectilinear polygon, a wall at 45 degrees), joined by a door on x = 6."""
    l_room = ((0.0, 0.0), (6.0, 0.0), (6.0, 3.0), (3.0, 3.0), (3.0, 6.0), (0.0, 6.0))
    slanted = ((6.0, 0.0), (9.0, 0.0), (10.0, 1.5), (10.0, 3.0), (6.0, 3.0))
    rooms = (Room("a", "living_room", l_room), Room("b", "kitchen", slanted))
    H, T = 2.6, 0.1
    walls = []
    for rid, poly in (("a", l_room), ("b", slanted)):
        for i in range(len(poly)):
            s, e = poly[i], poly[(i + 1) % len(poly)]
            if {s, e} == {(6.0, 0.0), (6.0, 3.0)}:
                if rid == "a":
                    walls.append(Wall("shared", s, e, H, T, ("a", "b"), ("d",)))
                continue
            walls.append(Wall(f"{rid}{i}", s, e, H, T, (rid,)))
    doors = (Door("d", "shared", (6.0, 1.5), 0.9, 2.1, ("a", "b")),)
    objects = (
        SceneObject(1, "sofa", (1.2, 0.42, 5.3), (2.0, 0.84, 0.9), 180.0, "a"),
        SceneObject(2, "dining table", (4.0, 0.38, 1.5), (1.2, 0.76, 0.8), 0.0, "a"),
        SceneObject(3, "refrigerator", (8.0, 0.9, 2.5), (0.7, 1.8, 0.6), 180.0, "b"),
        SceneObject(4, "stove", (9.2, 0.45, 2.6), (0.6, 0.9, 0.6), 180.0, "b"),
    )
    return House(seed=0, rooms=rooms, walls=tuple(walls), doors=doors, objects=objects, wall_height=H)
