"""`simsv-stream preview`: files, episode.json schema, bad-config errors (run as a subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from simsv_stream.config import Scales
from simsv_stream.episode_json import dumps, episode_to_dict
from simsv_stream.render import PybulletRenderer
from simsv_stream.simulator import simulate


def cli() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    return exe if os.path.exists(exe) else (shutil.which("simsv-stream") or exe)


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, timeout=timeout)


def check_schema(d: dict, frames: int) -> None:
    assert list(d) == ["seed", "config", "rooms", "doors", "objects", "frames", "salient", "qa"]
    assert isinstance(d["seed"], int) and isinstance(d["config"], dict)
    Scales.from_dict(d["config"])  # round-trips
    room_ids = set()
    for r in d["rooms"]:
        assert set(r) == {"id", "type", "polygon", "area_m2"}
        assert len(r["polygon"]) >= 3 and all(
            len(p) == 2 and all(isinstance(v, float) for v in p) for p in r["polygon"]
        )
        assert 1.0 < r["area_m2"] < 100.0
        room_ids.add(r["id"])
    for door in d["doors"]:
        assert set(door) == {"id", "wall", "center", "width", "height", "rooms"}
        assert set(door["rooms"]) <= room_ids
    obj_ids = set()
    for o in d["objects"]:
        assert set(o) == {"id", "category", "center", "size", "yaw_deg", "room"}
        assert isinstance(o["id"], int) and o["id"] >= 1 and isinstance(o["category"], str)
        assert len(o["center"]) == 3 and len(o["size"]) == 3 and all(v > 0 for v in o["size"])
        assert o["room"] in room_ids
        obj_ids.add(o["id"])
    assert len(d["frames"]) == frames
    for i, f in enumerate(d["frames"]):
        assert set(f) == {"index", "position", "yaw_deg", "pitch_deg", "fov_deg", "room", "visible"}
        assert f["index"] == i and len(f["position"]) == 3
        assert f["room"] in room_ids
        assert all(int(k) in obj_ids and 0 < v <= 1 for k, v in f["visible"].items())
        assert [int(k) for k in f["visible"]] == sorted(int(k) for k in f["visible"])
    assert set(d["salient"]) <= obj_ids and d["salient"] == sorted(d["salient"])
    assert d["qa"] == [] or all(isinstance(q, dict) for q in d["qa"])


def test_preview_writes_three_files_and_schema(tmp_path):
    out = tmp_path / "prev"
    p = run("preview", "--seed", "4", "--out", str(out), "--frames", "8", "--size", "160x120", "--rooms", "2")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "pybullet build time" not in p.stdout + p.stderr
    for name in ("episode.json", "contact_sheet.png"):
        assert (out / name).stat().st_size > 0
    video = out / "video.mp4" if (out / "video.mp4").exists() else out / "video.gif"
    assert video.stat().st_size > 0
    d = json.loads((out / "episode.json").read_text())
    check_schema(d, 8)
    assert d["seed"] == 4 and d["config"]["width"] == 160 and d["config"]["height"] == 120
    assert len(d["rooms"]) == 2 and d["salient"]
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.mode == "RGB" and sheet.width >= 3 * 160 * 0.9
    if video.suffix == ".mp4":
        import imageio.v3 as iio

        frames = iio.imread(video)
        assert frames.shape[0] == 8 and frames.shape[1:3] == (120, 160)


def test_episode_json_deterministic_and_matches_episode():
    sc = Scales(frames=6, width=96, height=72, rooms_min=2, rooms_max=2)
    with PybulletRenderer() as r:
        a, b = simulate(9, sc, renderer=r), simulate(9, sc, renderer=r)
        c = simulate(10, sc, renderer=r)
    assert dumps(a) == dumps(b) and dumps(a) != dumps(c)
    d = json.loads(dumps(a, [{"question_type": "x", "question": "q?", "answer": "A"}]))
    check_schema(d, 6)
    assert d == episode_to_dict(a, [{"question_type": "x", "question": "q?", "answer": "A"}])
    assert d["qa"][0]["answer"] == "A"
    for f, ann in zip(d["frames"], a.annotations):
        assert {int(k): v for k, v in f["visible"].items()} == {
            k: pytest.approx(v, abs=5e-7) for k, v in ann.visible.items()
        }
    assert d["salient"] == sorted(a.salient_ids)


def test_contact_sheet_and_video_helpers(tmp_path):
    from simsv_stream.commands.preview import contact_sheet, write_video

    rgb = np.zeros((5, 33, 47, 3), np.uint8)  # odd sizes: padded for H.264
    rgb[:, :, :, 0] = np.arange(5)[:, None, None] * 50
    sheet = contact_sheet(rgb, [f"#{i}" for i in range(5)])
    assert sheet.width > 2 * 47 and sheet.height > 2 * 33
    path = write_video(rgb, str(tmp_path), 2.0)
    assert os.path.getsize(path) > 0 and os.path.basename(path) in ("video.mp4", "video.gif")


@pytest.mark.parametrize(
    "args,field",
    [
        (["--frames", "0"], "frames"),
        (["--frames", "abc"], "frames"),
        (["--frames", "1000"], "frames"),
        (["--size=-3x4"], "size"),
        (["--size", "-3x4"], "--size"),
        (["--size", "224"], "size"),
        (["--size", "0x0"], "size"),
        (["--rooms", "0"], "rooms"),
        (["--rooms", "3-1"], "rooms_max"),
        (["--seed", "x"], "seed"),
    ],
)
def test_bad_config_one_line_exit_2(tmp_path, args, field):
    p = run("preview", "--out", str(tmp_path / "x"), *args, timeout=60)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "x").exists()


def test_missing_out_is_one_line_too():
    p = run("preview", "--seed", "1", timeout=60)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "out" in p.stderr


def test_question_hook_feeds_qa(tmp_path, monkeypatch):
    from simsv_stream.commands import preview

    assert preview.questions_for(None) == []  # no episode, no questions
    monkeypatch.setattr(preview, "question_hook", lambda ep: [{"question_type": "t", "question": "q", "answer": "1"}])
    sc = Scales(frames=2, width=64, height=48, rooms_min=1, rooms_max=1)
    with PybulletRenderer() as r:
        ep = simulate(1, sc, renderer=r)
    paths = preview.write_preview(ep, str(tmp_path), preview.questions_for(ep))
    assert json.loads(open(paths["episode"]).read())["qa"][0]["question"] == "q"
