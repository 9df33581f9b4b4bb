"""Render benchmark: frames/s of the embedded simulator per core, split by stage.

For each size x frames it simulates a few episodes in this one process with one reused
`PybulletRenderer` (as a worker does) and times house generation, walkthrough, scene build
(bodies for a new house), rendering and annotation. "fps/core" is frames per second of this
process's CPU time (TinyRenderer is single-threaded), so it does not depend on how busy the
other cores are; "fps wall" is frames per wall second. The naive numpy ray caster
(`benchmarks.raycast`) renders a few of the same frames for comparison.

Used by `simsv-stream bench render` and `bench/render.py`.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..commands import add_command, one_line_errors, script_main
from ..config import parse_int
from ..errors import ConfigError

DEFAULT_SIZES = ("224x224", "384x384")
DEFAULT_FRAMES = (16, 32)


@dataclass
class Row:
    size: tuple[int, int]
    frames: int
    episodes: int
    stage_s: dict[str, float] = field(default_factory=dict)  # wall seconds, all episodes
    wall_s: float = 0.0
    cpu_s: float = 0.0
    objects: float = 0.0  # mean objects per house
    rooms: float = 0.0

    @property
    def total_frames(self) -> int:
        return self.frames * self.episodes

    @property
    def fps_wall(self) -> float:
        return self.total_frames / self.wall_s if self.wall_s else 0.0

    @property
    def fps_core(self) -> float:
        return self.total_frames / self.cpu_s if self.cpu_s else 0.0

    @property
    def fps_render(self) -> float:
        r = self.stage_s.get("render", 0.0)
        return self.total_frames / r if r else 0.0


@dataclass
class PeerResult:
    size: tuple[int, int]
    frames: int
    seconds: float
    pybullet_fps: float
    instance_agreement: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


STAGES = ("house", "walkthrough", "build", "render", "annotate")


def run_render_bench(
    sizes: Sequence[tuple[int, int]] = ((224, 224), (384, 384)),
    frames: Sequence[int] = DEFAULT_FRAMES,
    episodes: int = 3,
    seed: int = 0,
    rooms: Optional[str] = None,
) -> list[Row]:
    from ..annotate import annotate
    from ..config import Scales
    from ..render.pybullet_renderer import PybulletRenderer
    from ..scene.procedural import generate_house
    from ..trajectory import walkthrough

    rows: list[Row] = []
    renderer = PybulletRenderer()
    try:
        # warm-up (first pybullet calls, imports) outside the measurement
        warm = Scales(frames=2)
        h = generate_house(seed + 10_000, warm)
        renderer.render(h, walkthrough(h, warm, seed)[:2], 64, 64)
        for w, hgt in sizes:
            for nf in frames:
                changes = {"frames": nf, "width": w, "height": hgt}
                if rooms is not None:
                    changes["rooms"] = rooms
                scales = Scales().updated(changes)
                row = Row((w, hgt), nf, episodes, {k: 0.0 for k in STAGES})
                c0, w0 = time.process_time(), time.perf_counter()
                for ep in range(episodes):
                    s = seed + ep
                    t0 = time.perf_counter()
                    house = generate_house(s, scales)
                    t1 = time.perf_counter()
                    poses = walkthrough(house, scales, s)
                    t2 = time.perf_counter()
                    renderer.prepare(house)
                    t3 = time.perf_counter()
                    fr = renderer.render(house, poses, w, hgt)
                    t4 = time.perf_counter()
                    annotate(house, poses, fr)
                    t5 = time.perf_counter()
                    for k, v in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                        row.stage_s[k] += v
                    row.objects += len(house.objects) / episodes
                    row.rooms += len(house.rooms) / episodes
                row.cpu_s = time.process_time() - c0
                row.wall_s = time.perf_counter() - w0
                rows.append(row)
    finally:
        renderer.close()
    return rows


def run_peer(size: tuple[int, int] = (224, 224), frames: int = 4, seed: int = 0) -> PeerResult:
    """Render the same `frames` poses with the numpy ray caster and with pybullet."""
    import numpy as np

    from ..config import Scales
    from ..render.pybullet_renderer import PybulletRenderer
    from ..scene.procedural import generate_house
    from ..trajectory import walkthrough
    from .raycast import NumpyRaycaster

    w, h = size
    scales = Scales(frames=max(frames, 2), width=w, height=h)
    house = generate_house(seed, scales)
    poses = walkthrough(house, scales, seed)[:frames]
    pb = PybulletRenderer()
    try:
        pb.prepare(house)
        t0 = time.perf_counter()
        a = pb.render(house, poses, w, h)
        pb_s = time.perf_counter() - t0
    finally:
        pb.close()
    t0 = time.perf_counter()
    b = NumpyRaycaster().render(house, poses, w, h)
    rc_s = time.perf_counter() - t0
    agree = float(np.mean(a.instance == b.instance))
    return PeerResult(size, len(poses), rc_s, len(poses) / pb_s if pb_s else 0.0, agree)


def format_table(rows: Sequence[Row], peer: Optional[PeerResult] = None) -> str:
    head = (
        f"{'size':>9} {'frames':>6} {'eps':>3} {'objs':>5} | {'house':>7} {'walk':>7} {'build':>7} "
        f"{'render':>8} {'annot':>7} | {'ms/frame':>8} {'fps/core':>8} {'fps wall':>8} {'render fps':>10}"
    )
    lines = [
        "per-episode stage times in ms (mean); fps/core = frames per CPU second of this process",
        head,
        "-" * len(head),
    ]
    for r in rows:
        e = r.episodes
        st = {k: 1000 * v / e for k, v in r.stage_s.items()}
        lines.append(
            f"{r.size[0]:>4}x{r.size[1]:<4} {r.frames:>6} {e:>3} {r.objects:>5.1f} | {st['house']:>7.1f} "
            f"{st['walkthrough']:>7.1f} {st['build']:>7.1f} {st['render']:>8.1f} {st['annotate']:>7.1f} | "
            f"{1000 * r.cpu_s / r.total_frames:>8.2f} {r.fps_core:>8.1f} {r.fps_wall:>8.1f} {r.fps_render:>10.1f}"
        )
    if rows:
        tot = {k: sum(r.stage_s[k] for r in rows) for k in STAGES}
        all_s = sum(tot.values()) or 1.0
        lines.append("time share: " + ", ".join(f"{k} {100 * v / all_s:.1f}%" for k, v in tot.items()))
    if peer is not None:
        ratio = peer.pybullet_fps / peer.fps if peer.fps else float("inf")
        lines.append(
            f"peer: naive numpy ray-vs-box caster at {peer.size[0]}x{peer.size[1]}, {peer.frames} frames: "
            f"{peer.fps:.1f} fps vs pybullet TinyRenderer {peer.pybullet_fps:.1f} fps "
            f"(x{ratio:.1f}); instance ids agree on {100 * peer.instance_agreement:.2f}% of pixels"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- CLI
def _parse_list(text: str, field: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ConfigError(field, f"expected a comma-separated list, got {text!r}")
    return items


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default=",".join(DEFAULT_SIZES), help="comma-separated WxH (default 224x224,384x384)")
    p.add_argument(
        "--frames", default=",".join(map(str, DEFAULT_FRAMES)), help="comma-separated frame counts (default 16,32)"
    )
    p.add_argument("--episodes", default="3", help="episodes (houses) per row (default 3)")
    p.add_argument("--seed", default="0", help="first house seed (default 0)")
    p.add_argument("--rooms", default=None, help="rooms per house, N or A-B (default: Scales default)")
    p.add_argument("--peer-frames", default="3", help="frames for the numpy ray-caster peer, 0 to skip (default 3)")


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no spinning BLAS threads in a per-core number
    from ..config import MAX_FRAMES, Scales, parse_size

    sizes = [parse_size(s, "sizes") for s in _parse_list(args.sizes, "sizes")]
    frames = [parse_int(f, "frames", 1, MAX_FRAMES) for f in _parse_list(args.frames, "frames")]
    episodes = parse_int(args.episodes, "episodes", 1, 1000)
    seed = parse_int(args.seed, "seed", 0, 2**62)
    peer_frames = parse_int(args.peer_frames, "peer-frames", 0, 64)
    if args.rooms is not None:
        Scales().updated({"rooms": args.rooms})  # validate early: one-line error
    from importlib.metadata import version

    print(
        f"render bench: pybullet {version('pybullet')} TinyRenderer, one process, "
        f"{episodes} episode(s) per row, seeds {seed}..{seed + episodes - 1}",
        flush=True,
    )
    rows = run_render_bench(sizes, frames, episodes, seed, args.rooms)
    peer = run_peer(sizes[0], peer_frames, seed) if peer_frames else None
    print(format_table(rows, peer))
    return 0


def register_bench(bsub) -> None:
    p = add_command(
        bsub, "render", "frames/s per core of house -> walkthrough -> render -> annotate", __doc__, add_arguments, run
    )
    one_line_errors(p)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return script_main(argv, __doc__, add_arguments, run, prog="bench/render.py")
