"""Materialize the stream: the same samples a stream would deliver, written in SIMS-V's layout.

    DIR/videos/<episode>.mp4     one H.264 video per rendered episode (imageio-ffmpeg, yuv420p)
    DIR/annotations.jsonl        one line per sample, LLaVA-Video conversation format
    DIR/export.json              what was exported (config, counts, bytes, seconds)

Same content as the stream: the orders are planned exactly as the dispatcher writes them
(:func:`plan_orders` mirrors ``Dispatcher._write_group`` with the public order functions
``choose_type`` / ``episode_seed`` of :mod:`simsv_stream.stream.orders`) and filled by the
worker's own :class:`~simsv_stream.stream.worker.Producer` (render, ask, retry on a deterministic
other episode when a type cannot be asked). So ``(seed, sample id, scales, mix)`` gives the same
question, answer and frames whether streamed or exported; only H.264 is lossy on the pixels.
The export follows the config's *initial* mix and scales (a schedule or a live change is a
training-time thing); ids are those of rank 0 of a single-rank run (``0..N-1``).

An annotation line::

    {"id": "simsv_s0_000000012", "sample_id": 12, "video": "videos/ep_1f2e....mp4",
     "conversations": [{"from": "human", "value": "<image>\\nThese are frames of a video.\\n..."},
                       {"from": "gpt", "value": "B"}],
     "type": "mc", "data_source": "simsv_stream_procedural", "question_type": "appearance_order",
     "answer_mode": "mc", "answer": "B", "ground_truth": [...], "options": [...],
     "qa": {...QA...}, "provenance": {...}, "frames": 16, "width": 224, "height": 224, "fps": 2.0}

``type``, ``data_source``, ``video``, ``conversations`` are the fields SIMS-V's formatter writes
(``qa_to_ov_train_multiturn.py``, one QA per conversation); the rest lets :class:`MaterializedDataset`
rebuild the exact :class:`~simsv_stream.sample.Sample` (QA + provenance) for our own trainer.

:class:`MaterializedDataset` is a plain ``torch.utils.data.Dataset`` over such a folder that decodes
the mp4s with imageio-ffmpeg; use it under a standard ``DataLoader`` (``collate_fn=list`` or a model
collator).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from .config import Scales
from .errors import ConfigError, SimsvError

ANNOTATIONS = "annotations.jsonl"
VIDEOS = "videos"
SUMMARY = "export.json"
IMAGE_TOKEN = "<image>"
DEFAULT_CRF = 18
DEFAULT_PRESET = "veryfast"


class ExportError(SimsvError):
    """An export could not be written or read back (one-line reason)."""


# ----------------------------------------------------------------------------------------------
# order planning (what the dispatcher would write)


@dataclass(frozen=True)
class PlannedGroup:
    """Orders sharing one episode seed, as the dispatcher groups them (``questions_per_episode``)."""

    first_id: int
    episode_seed: int
    items: tuple[tuple[int, str], ...]  # (sample id, question type)


def plan_orders(
    samples: int, seed: int, mix: Any, scales: Scales, rank: int = 0, world_size: int = 1
) -> list[PlannedGroup]:
    """The groups of orders a fresh dispatcher (no live change) writes for its first ``samples`` ids.

    Mirrors ``Dispatcher._write_group``: a group starts at the next id to write, holds
    ``questions_per_episode`` ids spaced by the world size, each with ``choose_type(mix, seed, id)``,
    and renders ``episode_seed(seed, first id)``. The last group is cut at ``samples`` (its ids do not
    depend on the ones left out)."""
    from .stream.orders import choose_type, episode_seed, load_mix

    if samples < 0:
        raise ConfigError("samples", f"must be >= 0, got {samples}")
    m = load_mix(mix)
    q = scales.questions_per_episode
    groups: list[PlannedGroup] = []
    nxt, taken = rank, 0
    while taken < samples:
        first = nxt
        items = [(first + i * world_size, choose_type(m, seed, first + i * world_size)) for i in range(q)]
        nxt = first + q * world_size
        keep = tuple(items[: samples - taken])
        groups.append(PlannedGroup(first, episode_seed(seed, first), keep))
        taken += len(keep)
    return groups


# ----------------------------------------------------------------------------------------------
# mp4 in / out


def episode_name(episode_seed: int) -> str:
    return f"ep_{int(episode_seed):016x}"


def write_mp4(
    path: str | Path, frames: np.ndarray, fps: float, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET
) -> int:
    """(T, H, W, 3) uint8 -> H.264 mp4 (yuv420p, playable everywhere). Odd sizes are edge-padded to
    even ones (yuv420p needs them); :func:`read_mp4` crops back. Returns the file size."""
    import imageio_ffmpeg

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ExportError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    path = Path(path)
    tmp = path.with_name(path.name + ".part.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(tmp),
        (w + pw, h + ph),
        fps=float(fps),
        codec="libx264",
        quality=None,
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", str(int(crf)), "-preset", preset, "-movflags", "+faststart"],
    )
    try:
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
    finally:
        writer.close()
    os.replace(tmp, path)
    return path.stat().st_size


def read_mp4(path: str | Path, height: Optional[int] = None, width: Optional[int] = None) -> np.ndarray:
    """mp4 -> (T, H, W, 3) uint8 RGB (cropped to ``height`` x ``width`` when given)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no such video: {path}")
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(gen)
        vw, vh = meta["size"]
        frames = [np.frombuffer(b, dtype=np.uint8).reshape(vh, vw, 3) for b in gen]
    finally:
        gen.close()
    if not frames:
        raise ExportError(f"{path}: no frames decoded")
    out = np.stack(frames)
    if height is not None and width is not None:
        out = out[:, :height, :width]
    return out


# ----------------------------------------------------------------------------------------------
# one group -> mp4(s) + annotation records (runs in a pool process)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        seq = sorted(obj) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v) for v in seq]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@dataclass(frozen=True)
class _Job:
    out: str
    run_seed: int
    scales: dict
    backend: str
    backend_options: dict
    max_attempts: int
    crf: int
    preset: str
    mc_answer: str
    group: PlannedGroup


_PRODUCERS: dict[tuple, Any] = {}


def _producer(backend: str, options: dict) -> Any:
    key = (backend, json.dumps(options, sort_keys=True, default=str))
    p = _PRODUCERS.get(key)
    if p is None:
        from .stream.backends import get_backend
        from .stream.worker import Producer

        p = _PRODUCERS[key] = Producer(get_backend(backend, options))
    return p


def gpt_answer(qa: Any, mc_answer: str = "letter") -> str:
    """The assistant turn: the option letter ("B", VSI-Bench's expected output) or, with
    ``letter_text``, the option line ("B. sofa", SIMS-V's ``mc`` format); the number for open-ended."""
    answer = str(qa.answer).strip()
    if qa.answer_mode == "mc" and mc_answer == "letter_text" and qa.options:
        for opt in qa.options:
            if opt.strip().startswith(f"{answer}."):
                return opt.strip()
    return answer


def annotation_record(
    qa: Any, prov: Any, video: str, scales: Scales, backend: str, mc_answer: str = "letter"
) -> dict[str, Any]:
    from .questions.prompt import format_prompt

    sid = int(prov.sample_id)
    return _jsonable(
        {
            "id": f"simsv_s{prov.seed}_{sid:09d}",
            "sample_id": sid,
            "video": video,
            "conversations": [
                {"from": "human", "value": f"{IMAGE_TOKEN}\n{format_prompt(qa)}"},
                {"from": "gpt", "value": gpt_answer(qa, mc_answer)},
            ],
            "type": qa.answer_mode,
            "data_source": f"simsv_stream_{backend.replace(':', '_')}",
            "question_type": qa.question_type,
            "answer_mode": qa.answer_mode,
            "answer": qa.answer,
            "ground_truth": qa.ground_truth,
            "options": qa.options,
            "qa": qa.to_dict(),
            "provenance": asdict(prov),
            "frames": scales.frames,
            "width": scales.width,
            "height": scales.height,
            "fps": float(scales.fps),
        }
    )


def _run_job(job: _Job) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from .stream.worker import MAX_QUESTION_ATTEMPTS, Unaskable

    scales = Scales.from_dict(job.scales)
    chash = scales.config_hash()
    producer = _producer(job.backend, job.backend_options)
    wid = f"export-{os.getpid()}"
    videos_dir = Path(job.out) / VIDEOS
    written: dict[int, int] = {}
    records: list[dict[str, Any]] = []
    stats = {"render_s": 0.0, "encode_s": 0.0, "episodes": 0, "video_bytes": 0}
    for sid, qtype in job.group.items:
        attempt0, failures = 0, 0
        while True:
            try:
                frames, qa, prov = producer.produce(
                    job.run_seed, sid, qtype, job.group.episode_seed, scales, attempt0, chash, 0, wid
                )
                break
            except Unaskable:  # what the dispatcher does: re-issue with the next attempts' episodes
                failures += 1
                if failures >= job.max_attempts:
                    raise ExportError(
                        f"sample {sid} ({qtype}) could not be asked on {failures * MAX_QUESTION_ATTEMPTS} "
                        f"episodes; the stream would fail here too"
                    ) from None
                attempt0 += MAX_QUESTION_ATTEMPTS
        stats["render_s"] += float(prov.render_s)
        name = episode_name(prov.episode_seed)
        if prov.episode_seed not in written:
            t0 = time.perf_counter()
            nbytes = write_mp4(videos_dir / f"{name}.mp4", frames, scales.fps, job.crf, job.preset)
            stats["encode_s"] += time.perf_counter() - t0
            written[prov.episode_seed] = nbytes
            stats["episodes"] += 1
            stats["video_bytes"] += nbytes
        records.append(annotation_record(qa, prov, f"{VIDEOS}/{name}.mp4", scales, job.backend, job.mc_answer))
    return records, stats


# ----------------------------------------------------------------------------------------------
# export


@dataclass
class ExportResult:
    out: str
    samples: int
    episodes: int
    workers: int
    seconds: float
    video_bytes: int
    annotation_bytes: int
    render_s: float = 0.0
    encode_s: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return self.video_bytes + self.annotation_bytes

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(total_bytes=self.total_bytes, samples_per_s=self.samples_per_s)
        return d

    def summary(self) -> str:
        return (
            f"exported {self.samples} samples ({self.episodes} episodes) to {self.out} in {self.seconds:.1f} s "
            f"({self.samples_per_s:.1f} samples/s, {self.workers} worker(s)): videos {self.video_bytes / 1e6:.2f} MB + "
            f"annotations {self.annotation_bytes / 1e3:.1f} kB = {self.total_bytes / 1e6:.2f} MB on disk "
            f"({self.total_bytes / max(1, self.samples) / 1e3:.1f} kB/sample)"
        )


def _prepare_out(out: Path, overwrite: bool) -> None:
    ann = out / ANNOTATIONS
    if ann.exists() or (out / VIDEOS).exists():
        if not overwrite:
            raise ConfigError(
                "--out", f"{out} already holds an export ({ANNOTATIONS} or {VIDEOS}/); pass --overwrite to replace it"
            )
        for name in (ANNOTATIONS, SUMMARY):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / VIDEOS, ignore_errors=True)
    (out / VIDEOS).mkdir(parents=True, exist_ok=True)


def export(
    out: str | Path,
    samples: int,
    config: Any,
    *,
    workers: Optional[int] = None,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    mc_answer: str = "letter",
    overwrite: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> ExportResult:
    """Write the first ``samples`` samples of the stream ``config`` (a
    :class:`~simsv_stream.stream.StreamConfig`: seed, mix, scales, backend, max_attempts) to ``out``.

    ``workers`` processes (default ``config.workers``, at least 1) fill whole groups in parallel
    (``spawn`` processes: no torch, no sockets inherited); lines are written in sample-id order."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError("--samples", f"must be a positive integer, got {samples!r}")
    if not 0 <= int(crf) <= 51:
        raise ConfigError("--crf", f"must be in 0..51 (x264; lower is better quality), got {crf}")
    if mc_answer not in ("letter", "letter_text"):
        raise ConfigError("--mc-answer", f"must be letter or letter_text, got {mc_answer!r}")
    w = int(workers if workers is not None else max(1, config.workers))
    if w < 1:
        raise ConfigError("--workers", f"must be >= 1, got {w}")
    out = Path(out)
    _prepare_out(out, overwrite)
    scales: Scales = config.scales
    groups = plan_orders(samples, config.seed, config.mix, scales)
    jobs = [
        _Job(
            str(out),
            int(config.seed),
            scales.to_dict(),
            config.backend,
            dict(config.backend_options),
            int(config.max_attempts),
            int(crf),
            str(preset),
            mc_answer,
            g,
        )
        for g in groups
    ]
    t0 = time.perf_counter()
    done = episodes = video_bytes = 0
    render_s = encode_s = 0.0
    ann_path = out / ANNOTATIONS
    tmp = ann_path.with_name(ANNOTATIONS + ".part")
    pool = None
    try:
        if w == 1 or len(jobs) == 1:
            results: Iterable = map(_run_job, jobs)
        else:
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(min(w, len(jobs)))
            results = pool.imap(_run_job, jobs, chunksize=1)
        with open(tmp, "w", encoding="utf-8") as fh:
            for records, st in results:
                for r in records:
                    fh.write(json.dumps(r, separators=(",", ":")) + "\n")
                done += len(records)
                episodes += st["episodes"]
                video_bytes += st["video_bytes"]
                render_s += st["render_s"]
                encode_s += st["encode_s"]
                if progress is not None:
                    progress(done, samples)
        os.replace(tmp, ann_path)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    cfg = {
        "seed": config.seed,
        "mix": _mix_dict(config.mix),
        "scales": scales.to_dict(),
        "backend": config.backend,
        "crf": int(crf),
        "preset": preset,
        "mc_answer": mc_answer,
        "ids": f"0..{samples - 1}",
    }
    res = ExportResult(
        str(out), done, episodes, w, seconds, video_bytes, ann_path.stat().st_size, render_s, encode_s, cfg
    )
    (out / SUMMARY).write_text(json.dumps(res.to_dict(), indent=2) + "\n")
    return res


def _mix_dict(mix: Any) -> dict[str, float]:
    from .stream.orders import load_mix, mix_weights

    return mix_weights(load_mix(mix))


def disk_bytes(root: str | Path) -> int:
    """Bytes of an export folder (videos + annotations + summary)."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------
# reading back


def read_annotations(root: str | Path) -> list[dict[str, Any]]:
    path = Path(root) / ANNOTATIONS
    if not path.is_file():
        raise ExportError(f"no {ANNOTATIONS} in {root} (make one with `simsv-stream export --samples N --out DIR`)")
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ExportError(f"{path}:{n}: not JSON ({e.msg})") from None
    return out


def _dataset_base() -> type:
    try:
        import torch.utils.data as tud

        return tud.Dataset
    except ImportError:  # pragma: no cover - torch is a dependency
        return object


class MaterializedDataset(_dataset_base()):  # type: ignore[misc]
    """A map-style ``torch.utils.data.Dataset`` over an export folder: item ``i`` is the
    :class:`~simsv_stream.sample.Sample` of line ``i`` (frames decoded from its mp4, QA and
    provenance from the line). ``transform`` (e.g. a model collator's ``encode``) is applied to the
    Sample. The last decoded video is kept, so consecutive samples of one episode decode once."""

    def __init__(self, root: str | Path, transform: Optional[Callable[[Any], Any]] = None):
        self.root = Path(root)
        self.records = read_annotations(self.root)
        self.transform = transform
        self._cache: tuple[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def frames(self, i: int) -> np.ndarray:
        r = self.records[i]
        video = r["video"]
        if self._cache is not None and self._cache[0] == video:
            return self._cache[1]
        arr = read_mp4(self.root / video, r.get("height"), r.get("width"))
        self._cache = (video, arr)
        return arr

    def __getitem__(self, i: int) -> Any:
        from .questions.record import QA
        from .sample import Provenance, Sample

        if not -len(self) <= i < len(self):
            raise IndexError(i)
        r = self.records[i]
        qa = QA.from_dict(r["qa"])
        prov = Provenance(**{**r["provenance"], "timings": dict(r["provenance"].get("timings") or {})})
        s = Sample(int(r["sample_id"]), self.frames(i), qa, prov)
        return self.transform(s) if self.transform is not None else s


def collate_samples(batch: Sequence[Any]) -> list[Any]:
    """DataLoader collate that keeps Samples as a list (the default collate cannot stack QA records)."""
    return list(batch)


def iter_samples(root: str | Path) -> Iterator[Any]:
    ds = MaterializedDataset(root)
    for i in range(len(ds)):
        yield ds[i]


__all__ = [
    "ANNOTATIONS",
    "VIDEOS",
    "SUMMARY",
    "PlannedGroup",
    "plan_orders",
    "export",
    "ExportResult",
    "ExportError",
    "MaterializedDataset",
    "collate_samples",
    "read_annotations",
    "read_mp4",
    "write_mp4",
    "disk_bytes",
    "episode_name",
    "annotation_record",
    "iter_samples",
]
