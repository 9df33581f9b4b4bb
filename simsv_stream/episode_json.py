"""`episode.json`: the scene, camera path and per-frame visibility of an episode, plus its QA.

Schema (documented in docs/episode.md):

    {"seed", "config",
     "rooms":   [{"id", "type", "polygon": [[x, z], ...], "area_m2"}],
     "doors":   [{"id", "wall", "center": [x, z], "width", "height", "rooms": [...]}],
     "objects": [{"id", "category", "center": [x, y, z], "size": [dx, dy, dz], "yaw_deg", "room"}],
     "frames":  [{"index", "position": [x, y, z], "yaw_deg", "pitch_deg", "fov_deg", "room",
                  "visible": {"<object id>": fraction}}],
     "salient": [object ids],
     "qa": [...]}

Floats are rounded (coordinates to 1e-4 m, angles to 1e-3 degrees, fractions to 1e-6) with
Python's round(), so the same episode always gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from .episode import Episode

COORD_DIGITS = 4  # 0.1 mm
ANGLE_DIGITS = 3  # 0.001 degree
AREA_DIGITS = 3  # 0.001 m^2
FRACTION_DIGITS = 6  # 1e-6 of the image (a pixel of a 1000x1000 image)


def _r(x: float, nd: int) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v  # no "-0.0"


def _vec(v: Iterable[float], nd: int = COORD_DIGITS) -> list[float]:
    return [_r(x, nd) for x in v]


def _qa_dict(q: Any) -> Any:
    return q.to_dict() if hasattr(q, "to_dict") else q


def episode_to_dict(episode: Episode, qa: Optional[list] = None) -> dict[str, Any]:
    """The episode as plain JSON-able data (see module doc for the schema). `qa` entries are QA
    records (anything with to_dict()) or dicts."""
    house = episode.house
    rooms = [
        {"id": r.id, "type": r.type, "polygon": [_vec(p) for p in r.polygon], "area_m2": _r(r.area_m2, AREA_DIGITS)}
        for r in house.rooms
    ]
    doors = [
        {
            "id": d.id,
            "wall": d.wall,
            "center": _vec(d.center),
            "width": _r(d.width, COORD_DIGITS),
            "height": _r(d.height, COORD_DIGITS),
            "rooms": list(d.rooms),
        }
        for d in house.doors
    ]
    objects = [
        {
            "id": int(o.id),
            "category": o.category,
            "center": _vec(o.center),
            "size": _vec(o.size),
            "yaw_deg": _r(o.yaw_deg, ANGLE_DIGITS),
            "room": o.room,
        }
        for o in house.objects
    ]
    frames = []
    for a in episode.annotations:
        pose = a.pose
        frames.append(
            {
                "index": int(a.index),
                "position": _vec(pose.position),
                "yaw_deg": _r(pose.yaw_deg, ANGLE_DIGITS),
                "pitch_deg": _r(pose.pitch_deg, ANGLE_DIGITS),
                "fov_deg": _r(pose.fov_deg, ANGLE_DIGITS),
                "room": a.room,
                "visible": {str(i): _r(f, FRACTION_DIGITS) for i, f in sorted(a.visible.items()) if i > 0},
            }
        )
    return {
        "seed": int(episode.seed),
        "config": episode.scales.to_dict(),
        "rooms": rooms,
        "doors": doors,
        "objects": objects,
        "frames": frames,
        "salient": sorted(int(i) for i in episode.salient_ids),
        "qa": [_qa_dict(q) for q in (qa or [])],
    }


def dumps(episode: Episode, qa: Optional[list] = None) -> str:
    """Deterministic JSON text: one top-level key per line and one room / door / object / frame /
    QA per line (readable and diff-friendly), trailing newline. `json.loads` gives
    `episode_to_dict(episode, qa)` back."""
    d = episode_to_dict(episode, qa)
    lines = []
    for key, value in d.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n".join("    " + json.dumps(v, separators=(", ", ": ")) for v in value)
            lines.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, separators=(', ', ': '))}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


__all__ = ["episode_to_dict", "dumps"]
