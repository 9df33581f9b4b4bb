"""PybulletRenderer: determinism, camera convention, projection, depth, ids, culling, big sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _render_house import small_house, small_walk

from simsv_stream.camera import ID_CEILING, ID_DOOR_FRAME, ID_FLOOR, ID_NONE, ID_WALL, CameraPose
from simsv_stream.config import Scales
from simsv_stream.render import PybulletRenderer, RenderSettings
from simsv_stream.render import geometry as geo
from simsv_stream.simulator import simulate


# ------------------------------------------------------------------ independent pinhole camera
def cam_coords(pose: CameraPose, pts: np.ndarray) -> np.ndarray:
    """World points -> (x right, y up, z forward) in the camera frame, written from the pose's
    definition: yaw 0 looks along +z, yaw 90 along +x, pitch up positive; at yaw 0 +x is right."""
    y, p = math.radians(pose.yaw_deg), math.radians(pose.pitch_deg)
    fwd = np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])
    right = np.array([math.cos(y), 0.0, -math.sin(y)])
    up = np.cross(fwd, right)
    rel = np.asarray(pts, dtype=float) - np.asarray(pose.position, dtype=float)
    return np.stack([rel @ right, rel @ up, rel @ fwd], axis=-1)


def project(pose: CameraPose, pts: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel coordinates (col, row); pixel (i, j) covers [j, j+1) x [i, i+1)."""
    c = cam_coords(pose, pts)
    f = (width / 2) / math.tan(math.radians(pose.fov_deg) / 2)
    return np.stack([width / 2 + f * c[:, 0] / c[:, 2], height / 2 - f * c[:, 1] / c[:, 2]], axis=-1)


def box_corners(center, size) -> np.ndarray:
    c, h = np.asarray(center, float), np.asarray(size, float) / 2
    return np.array([c + h * np.array([sx, sy, sz]) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def renderer():
    r = PybulletRenderer()
    yield r
    r.close()


@pytest.fixture(scope="module")
def episode(renderer):
    return simulate(3, Scales(frames=16, rooms_min=2, rooms_max=3), renderer=renderer)


@pytest.fixture(scope="module")
def big_episode():
    r = PybulletRenderer()
    try:
        yield simulate(5, Scales(frames=64, width=680, height=384, rooms_min=3, rooms_max=3), renderer=r)
    finally:
        r.close()


# ------------------------------------------------------------------------------------- tests
def test_frames_types_and_shapes(episode):
    fr, sc = episode.frames, episode.scales
    T, H, W = sc.frames, sc.height, sc.width
    assert fr.rgb.shape == (T, H, W, 3) and fr.rgb.dtype == np.uint8
    assert fr.depth.shape == (T, H, W) and fr.depth.dtype == np.float32
    assert fr.instance.shape == (T, H, W) and fr.instance.dtype == np.int32
    ids = set(np.unique(fr.instance).tolist())
    assert {ID_FLOOR, ID_WALL} <= ids
    assert ids & {o.id for o in episode.house.objects}, "no object visible in a whole walkthrough"
    assert ids <= {o.id for o in episode.house.objects} | {ID_NONE, ID_FLOOR, ID_WALL, ID_CEILING, ID_DOOR_FRAME}
    hit = fr.instance != ID_NONE
    assert np.isfinite(fr.depth[hit]).all() and (fr.depth[hit] > 0).all()
    assert np.isinf(fr.depth[~hit]).all()
    assert set(episode.timings) == {"house", "walkthrough", "render", "annotate"}


def test_same_seed_identical_bytes_different_seed_differs():
    sc = Scales(frames=6, width=96, height=72, rooms_min=2, rooms_max=2)
    with PybulletRenderer() as r1, PybulletRenderer() as r2:
        a = simulate(11, sc, renderer=r1)
        b = simulate(11, sc, renderer=r2)
        c = simulate(12, sc, renderer=r1)
    for name in ("rgb", "depth", "instance"):
        assert getattr(a.frames, name).tobytes() == getattr(b.frames, name).tobytes(), name
    assert a.frames.rgb.tobytes() != c.frames.rgb.tobytes()


def test_cache_rebuild_and_two_clients_interleaved():
    h1, h2 = small_house(0), small_house(3)
    poses = small_walk(5)
    with PybulletRenderer() as r, PybulletRenderer() as other:
        first = r.render(h1, poses, 80, 60)
        other.render(h2, poses, 80, 60)  # another client in the same process
        r.render(h2, poses, 80, 60)  # rebuild for another house
        again = r.render(h1, poses, 80, 60)  # and back
        cached = r.render(h1, poses, 80, 60)  # reused bodies
    assert first.rgb.tobytes() == again.rgb.tobytes() == cached.rgb.tobytes()
    assert first.instance.tobytes() == again.instance.tobytes()


def test_image_right_is_plus_x_at_yaw_0():
    """Handedness: at yaw 0 (looking +z) an object at larger x shows on the right."""
    house = small_house()
    sofa = house.object(1)  # x ~ 1.2, z 3.4
    eye = (sofa.center[0] - 0.8, 1.2, 1.0)  # left of the sofa's centre, looking +z at it
    fr = PybulletRenderer().render(house, [CameraPose(eye, 0.0, -15.0, 75.0)], 120, 90)
    cols = np.nonzero(fr.instance[0] == sofa.id)[1]
    assert cols.size > 50 and cols.mean() > 60 + 10
    # and yaw 90 (looking +x): the sofa (at larger z than the camera) is on the left
    fr = PybulletRenderer().render(house, [CameraPose((0.6, 1.2, 2.6), 90.0, -15.0, 75.0)], 120, 90)
    cols = np.nonzero(fr.instance[0] == sofa.id)[1]
    assert cols.size > 50 and cols.mean() < 60 - 10


def _check_projection_and_depth(ep):
    W, H = ep.scales.width, ep.scales.height
    checked = 0
    for a in ep.annotations:
        pose = a.pose
        inst = ep.frames.instance[a.index]
        depth = ep.frames.depth[a.index]
        for oid, frac in a.visible.items():
            obj = ep.house.object(oid)
            corners = box_corners(obj.center, obj.size)
            z = cam_coords(pose, corners)[:, 2]
            rows, cols = np.nonzero(inst == oid)
            # depth at the object's pixels lies within its box's range of view depths
            d = depth[rows, cols]
            assert d.min() >= max(z.min(), 0.0) - 1e-3 * z.max() - 1e-4, (a.index, oid)
            assert d.max() <= z.max() * (1 + 1e-3) + 1e-4, (a.index, oid)
            if oid in ep.salient_ids and frac > 0.05 and (z > 0.05).all():
                uv = project(pose, corners, W, H)
                cx, cy = cols.mean() + 0.5, rows.mean() + 0.5
                assert uv[:, 0].min() - 1 <= cx <= uv[:, 0].max() + 1, (a.index, oid)
                assert uv[:, 1].min() - 1 <= cy <= uv[:, 1].max() + 1, (a.index, oid)
                # and every visible pixel lies inside the projected rectangle (1 px slack)
                assert cols.min() + 0.5 >= uv[:, 0].min() - 1.5 and cols.max() + 0.5 <= uv[:, 0].max() + 1.5
                assert rows.min() + 0.5 >= uv[:, 1].min() - 1.5 and rows.max() + 0.5 <= uv[:, 1].max() + 1.5
                checked += 1
    return checked


def test_salient_boxes_project_where_visible_and_depth_in_range(episode):
    assert episode.salient_ids
    assert _check_projection_and_depth(episode) > 0


def test_64_frames_680x384(big_episode):
    ep = big_episode
    assert ep.frames.rgb.shape == (64, 384, 680, 3)
    assert len(ep.annotations) == 64 and [a.index for a in ep.annotations] == list(range(64))
    assert ep.salient_ids
    assert _check_projection_and_depth(ep) > 0  # non-square aspect: vertical fov from horizontal


def test_matches_independent_numpy_raycaster(episode):
    """Only the scene geometry is shared with the ray caster: camera, projection, depth
    linearisation and id mapping are checked pixel by pixel."""
    from simsv_stream.benchmarks.raycast import NumpyRaycaster

    poses = episode.poses[::5][:4]
    for W, H in ((96, 72), (72, 96)):
        with PybulletRenderer() as r:
            a = r.render(episode.house, poses, W, H)
        b = NumpyRaycaster().render(episode.house, poses, W, H)
        agree = (a.instance == b.instance).mean()
        assert agree > 0.99, agree
        same = (a.instance == b.instance) & np.isfinite(b.depth)
        rel = np.abs(a.depth[same] - b.depth[same]) / b.depth[same]
        assert np.median(rel) < 1e-4 and np.percentile(rel, 99) < 1e-2


def test_room_culling_is_exact():
    sc = Scales(frames=12, width=96, height=96, rooms_min=4, rooms_max=4)
    with PybulletRenderer(RenderSettings(cull_rooms=False)) as full, PybulletRenderer() as culled:
        for seed in (1, 2):
            ep = simulate(seed, sc, renderer=culled)
            ref = full.render(ep.house, ep.poses, sc.width, sc.height)
            assert culled._sealed
            assert ref.rgb.tobytes() == ep.frames.rgb.tobytes()
            assert ref.instance.tobytes() == ep.frames.instance.tobytes()
            # coplanar faces of two walls overlapping at a corner may swap: float rounding only
            np.testing.assert_allclose(ref.depth, ep.frames.depth, rtol=1e-5)


def test_camera_never_inside_a_box():
    from simsv_stream.scene.procedural import generate_house
    from simsv_stream.trajectory import walkthrough

    for seed in range(8):
        sc = Scales(frames=32, rooms_min=1, rooms_max=4)
        house = generate_house(seed, sc)
        poses = walkthrough(house, sc, seed)
        boxes = [geo.Box(o.center, o.size, o.id, (0, 0, 0)) for o in house.objects]
        boxes += [b for b in geo.wall_boxes(house) if b.inst == ID_WALL]
        for pose in poses:
            for b in boxes:
                t = math.radians(b.yaw_deg)
                rel = np.asarray(pose.position) - np.asarray(b.center)
                local = np.array(
                    [rel[0] * math.cos(t) - rel[2] * math.sin(t), rel[1], rel[0] * math.sin(t) + rel[2] * math.cos(t)]
                )
                inside = (np.abs(local) < np.asarray(b.size) / 2).all()
                assert not inside, (seed, pose.position, b)


def test_hand_built_house_sees_through_the_door():
    house = small_house()
    # in the living room, facing the door at (5, 2) along +x: door frame, bedroom objects behind it
    pose = CameraPose((3.0, 1.5, 2.0), 90.0, -5.0, 75.0)
    fr = PybulletRenderer().render(house, [pose], 160, 120)
    ids = set(np.unique(fr.instance).tolist())
    assert {ID_FLOOR, ID_WALL, ID_DOOR_FRAME, ID_CEILING} <= ids
    # through the opening: the bedroom's far wall (x = 9) at depth ~6 m in the image centre
    assert fr.instance[0, 60, 80] == ID_WALL and 5.5 < fr.depth[0, 60, 80] < 6.1
    assert fr.rgb.std() > 10


def test_render_speed_reported(renderer, episode):
    """Not a benchmark (see `simsv-stream bench render`): rendering must stay interactive."""
    import time

    t0 = time.process_time()
    renderer.render(episode.house, episode.poses, 224, 224)
    fps = len(episode.poses) / max(time.process_time() - t0, 1e-9)
    assert fps > 15, fps


def test_l_shaped_and_slanted_rooms_match_raycaster():
    """Rectilinear rooms of several rectangles, a non-rectilinear room (mesh fallback) and a
    45-degree wall render like the independent ray caster; culling stays exact across the door."""
    from _render_house import odd_house

    from simsv_stream.benchmarks.raycast import NumpyRaycaster

    house = odd_house()
    poses = [
        CameraPose((1.5, 1.5, 1.5), 45.0, -10.0, 80.0),
        CameraPose((1.5, 1.5, 4.5), 135.0, -10.0, 80.0),
        CameraPose((4.5, 1.5, 1.5), 90.0, -10.0, 80.0),
        CameraPose((7.5, 1.5, 1.5), 60.0, -10.0, 80.0),
        CameraPose((8.0, 1.5, 1.0), 270.0, -5.0, 80.0),
    ]
    with PybulletRenderer() as r, PybulletRenderer(RenderSettings(cull_rooms=False)) as full:
        a = r.render(house, poses, 96, 72)
        ref = full.render(house, poses, 96, 72)
        assert r._sealed
    b = NumpyRaycaster().render(house, poses, 96, 72)
    assert (a.instance == b.instance).mean() > 0.99
    assert a.rgb.tobytes() == ref.rgb.tobytes() and a.instance.tobytes() == ref.instance.tobytes()
    ids = set(np.unique(a.instance).tolist())
    assert {1, 2, 3, 4, ID_FLOOR, ID_WALL, ID_DOOR_FRAME} <= ids
