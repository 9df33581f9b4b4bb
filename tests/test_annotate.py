"""annotate(): visible fractions against an independent recount, rooms, salience."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest
from _render_house import small_house, small_walk

from simsv_stream.annotate import annotate, room_of, visible_fractions
from simsv_stream.camera import CameraPose, Frames
from simsv_stream.config import Scales
from simsv_stream.episode import SALIENT_FRACTION
from simsv_stream.render import PybulletRenderer
from simsv_stream.simulator import simulate


@pytest.fixture(scope="module")
def episode():
    with PybulletRenderer() as r:
        return simulate(2, Scales(frames=16, width=160, height=120, rooms_min=2, rooms_max=3), renderer=r)


def recount(instance_frame: np.ndarray) -> dict[int, float]:
    """Pixel-by-pixel count in plain Python (independent of np.bincount)."""
    c = Counter(int(v) for v in instance_frame.ravel().tolist())
    n = instance_frame.size
    return {k: v / n for k, v in c.items() if k > 0}


def test_fractions_match_an_independent_recount(episode):
    assert len(episode.annotations) == episode.scales.frames
    for a in episode.annotations:
        expected = recount(episode.frames.instance[a.index])
        assert set(a.visible) == set(expected)
        for k, v in expected.items():
            assert a.visible[k] == pytest.approx(v, abs=1e-12)
        assert all(v > 0 for v in a.visible.values())
        assert sum(a.visible.values()) <= 1.0 + 1e-9
        assert a.pose == episode.poses[a.index]


def test_salient_rule_and_first_sighting(episode):
    salient = {oid for a in episode.annotations for oid, f in a.visible.items() if f > SALIENT_FRACTION}
    assert episode.salient_ids == salient and salient
    for oid in salient:
        first = episode.first_sighting(oid)
        assert first is not None
        assert oid in episode.annotations[first].visible
        assert all(oid not in a.visible for a in episode.annotations[:first])


def test_camera_room_per_frame(episode):
    house = episode.house
    for a in episode.annotations:
        x, _, z = a.pose.position
        assert a.room is not None
        inside = house.room_at((x, z))
        assert a.room == inside or inside is None
    assert episode.rooms_visited[0] == episode.annotations[0].room


def test_room_of_snaps_in_doorways_and_is_none_outside():
    house = small_house()
    assert room_of(house, (2.0, 1.5, 2.0)) == "r0"
    assert room_of(house, (7.0, 1.5, 2.0)) == "r1"
    assert room_of(house, (5.0, 1.5, 2.0)) in ("r0", "r1")  # on the shared wall line (door)
    assert room_of(house, (-0.2, 1.5, 2.0)) == "r0"  # just outside: snapped
    assert room_of(house, (-3.0, 1.5, 2.0)) is None  # far outside


def test_synthetic_counts():
    inst = np.zeros((2, 4, 5), dtype=np.int32)
    inst[0, :2, :] = 7  # 10 px
    inst[0, 3, 0] = 2  # 1 px
    inst[0, 2, :] = -2  # wall: ignored
    inst[1, :, :] = -1
    out = visible_fractions(inst)
    assert out == [{2: 1 / 20, 7: 10 / 20}, {}]
    assert list(out[0]) == [2, 7]  # increasing ids


def test_annotate_checks_inputs():
    house = small_house()
    poses = small_walk(3)
    with pytest.raises(ValueError):
        annotate(house, poses, Frames(rgb=np.zeros((3, 4, 4, 3), np.uint8)))
    with pytest.raises(ValueError):
        annotate(house, poses, Frames(rgb=np.zeros((2, 4, 4, 3), np.uint8), instance=np.zeros((2, 4, 4), np.int32)))


def test_fast_on_64_frames_680x384():
    rng = np.random.default_rng(0)
    inst = rng.integers(-4, 40, size=(64, 384, 680), dtype=np.int32)
    house = small_house()
    poses = [CameraPose((2.0, 1.5, 2.0), 0.0, 0.0, 75.0)] * 64
    t0 = time.perf_counter()
    ann = annotate(house, poses, Frames(rgb=np.zeros((64, 1, 1, 3), np.uint8), instance=inst))
    dt = time.perf_counter() - t0
    assert len(ann) == 64 and len(ann[0].visible) == 39
    assert dt < 2.0, dt
