"""`simsv-stream preview --seed S --out DIR [--frames N --size WxH --rooms R --house FILE]`

Simulates one episode on the embedded backend (a procedural house, or a ProcTHOR house with --house),
prints every question it can be asked and writes DIR/episode.json (with those questions), DIR/video.mp4
(DIR/video.gif when no ffmpeg encoder is available) and DIR/contact_sheet.png (all frames tiled,
each labelled with its index and the camera's room).
"""

from __future__ import annotations

import argparse
import math
import os
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..config import parse_int
from ..errors import ConfigError
from . import one_line_errors

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..episode import Episode


# --------------------------------------------------------------------------- questions hook
# `question_hook`: episode -> list of QA records (or QA dicts); preview prints them and writes them to
# "qa". Tests replace it.
def _all_questions(episode: "Episode") -> list:
    """Every question type that can be asked on the episode (questions.generate_all), with an rng
    seeded by the episode seed so a preview is reproducible. (None -> no questions.)"""
    if episode is None:
        return []
    import numpy as np

    from ..questions import generate_all

    return generate_all(episode, np.random.default_rng(int(episode.seed)))


question_hook: Callable[["Episode"], list] = _all_questions


def questions_for(episode: "Episode") -> list:
    """QA for the preview: whatever `question_hook` returns (default: every askable type)."""
    return list(question_hook(episode) or [])


# ---------------------------------------------------------------------------------- parsing
def scales_from_args(args: argparse.Namespace):
    from ..config import Scales, parse_size

    changes: dict[str, Any] = {}
    if args.frames is not None:
        changes["frames"] = parse_int(args.frames, "frames", 1, 10**9)
    if args.size is not None:
        changes["size"] = parse_size(args.size)
    if args.rooms is not None:
        changes["rooms"] = args.rooms
    return Scales().updated(changes)


# ---------------------------------------------------------------------------------- writers
def write_video(rgb: "np.ndarray", out_dir: str, fps: float) -> str:
    """video.mp4 with imageio-ffmpeg (H.264, frames padded to even sizes); video.gif with pillow
    when no encoder is available. Returns the path written."""
    import numpy as np

    T, H, W, _ = rgb.shape
    path = os.path.join(out_dir, "video.mp4")
    try:
        import imageio.v2 as imageio

        ph, pw = H + (H % 2), W + (W % 2)
        frames = rgb if (ph, pw) == (H, W) else np.pad(rgb, ((0, 0), (0, ph - H), (0, pw - W), (0, 0)), mode="edge")
        writer = imageio.get_writer(
            path,
            format="FFMPEG",
            mode="I",
            fps=float(fps),
            codec="libx264",
            pixelformat="yuv420p",
            macro_block_size=1,
            quality=8,
            ffmpeg_log_level="error",
        )
        try:
            for f in frames:
                writer.append_data(np.ascontiguousarray(f))
        finally:
            writer.close()
        return path
    except Exception:
        if os.path.exists(path):
            os.remove(path)
    from PIL import Image

    gif = os.path.join(out_dir, "video.gif")
    imgs = [Image.fromarray(f) for f in rgb]
    imgs[0].save(gif, save_all=True, append_images=imgs[1:], duration=int(1000 / max(fps, 0.1)), loop=0)
    return gif


def contact_sheet(rgb: "np.ndarray", labels: list[str], max_width: int = 1600):
    """A PIL image of all frames in a grid (about as wide as tall), each with its label drawn in
    the top-left corner on a dark tab."""
    from PIL import Image, ImageDraw, ImageFont

    T, H, W, _ = rgb.shape
    cols = max(1, math.ceil(math.sqrt(T * H / W)))
    cols = min(cols, T)
    rows = math.ceil(T / cols)
    scale = min(1.0, max_width / (cols * W))
    tw, th = max(1, int(W * scale)), max(1, int(H * scale))
    gap = 4
    sheet = Image.new("RGB", (cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap), (24, 24, 24))
    try:
        font = ImageFont.load_default(size=max(10, th // 12))
    except TypeError:  # pillow < 10.1
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(sheet)
    for i in range(T):
        r, c = divmod(i, cols)
        x, y = gap + c * (tw + gap), gap + r * (th + gap)
        img = Image.fromarray(rgb[i])
        if (tw, th) != (W, H):
            img = img.resize((tw, th), Image.BILINEAR)
        sheet.paste(img, (x, y))
        text = labels[i] if i < len(labels) else f"#{i}"
        box = draw.textbbox((x + 3, y + 2), text, font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), text, fill=(255, 255, 255), font=font)
    return sheet


def write_preview(episode: "Episode", out_dir: str, qa: Optional[list] = None) -> dict[str, str]:
    """Write episode.json, the video and contact_sheet.png for an episode into out_dir."""
    from ..episode_json import dumps

    os.makedirs(out_dir, exist_ok=True)
    paths = {
        "episode": os.path.join(out_dir, "episode.json"),
        "contact_sheet": os.path.join(out_dir, "contact_sheet.png"),
    }
    with open(paths["episode"], "w") as fh:
        fh.write(dumps(episode, qa or []))
    paths["video"] = write_video(episode.frames.rgb, out_dir, episode.scales.fps)
    labels = [f"#{a.index} {a.room or '-'}" for a in episode.annotations]
    contact_sheet(episode.frames.rgb, labels).save(paths["contact_sheet"])
    return paths


# ---------------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    seed = parse_int(args.seed, "seed", 0, 2**63 - 1)
    scales = scales_from_args(args)
    if args.out is None or not str(args.out).strip():
        raise ConfigError("out", "an output directory is required (--out DIR)")
    out_dir = str(args.out)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError("out", f"{out_dir!r} exists and is not a directory")

    from ..simulator import simulate

    if getattr(args, "house", None):  # a ProcTHOR house: walk --rooms of its rooms
        from ..scene.procthor import HouseSource, house_from_procthor, simulate_house

        docs = HouseSource(args.house)
        index = parse_int(args.house_index, "house-index", 0, len(docs) - 1)
        episode = simulate_house(house_from_procthor(docs[index], seed=index), seed, scales)
    else:
        episode = simulate(seed, scales)
    qa = questions_for(episode)
    paths = write_preview(episode, out_dir, qa)
    house = episode.house
    t = episode.timings
    print(
        f"seed {seed}: {len(house.rooms)} rooms, {len(house.objects)} objects, "
        f"{len(episode.salient_ids)} salient, {scales.frames} frames {scales.width}x{scales.height}"
    )
    print("timings: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in t.items()))
    for q in qa:
        d = q.to_dict() if hasattr(q, "to_dict") else dict(q)
        opts = " ".join(d.get("options") or [])
        print(f"[{d.get('question_type', '?')}] {d.get('question', '')} {opts} -> {d.get('answer', '')}".rstrip())
    for key in ("episode", "video", "contact_sheet"):
        print(f"wrote {paths[key]}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "preview",
        help="simulate one episode and write episode.json, a video and a contact sheet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # values are validated by Scales / parse_size so that a bad one is a one-line ConfigError
    p.add_argument("--seed", default="0", help="episode seed (default 0)")
    p.add_argument("--out", default=None, help="output directory (required)")
    p.add_argument("--frames", default=None, help="frames per video (default 16)")
    p.add_argument("--size", default=None, help="WIDTHxHEIGHT (default 224x224; e.g. 680x384)")
    p.add_argument("--rooms", default=None, help="rooms per house: N or A-B (default 1-3)")
    p.add_argument(
        "--house",
        default=None,
        help="ProcTHOR house(s) to render instead of a procedural house: .json, folder, glob, .jsonl[.gz]",
    )
    p.add_argument("--house-index", default="0", help="which house of a multi-house --house file (default 0)")
    p.set_defaults(func=run)
    one_line_errors(p)
