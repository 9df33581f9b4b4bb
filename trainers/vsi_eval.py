"""Evaluate a model directory on a VSI-Bench-format file: `simsv-stream eval --model DIR --references FILE
--videos DIR`.

* Model: a full transformers checkpoint directory (or hub id in the local cache), or an adapter directory
  written by training (`OUTPUT_DIR/final`: peft adapter + processor; its base model is read from
  `adapter_config.json`).
* References: VSI-Bench rows (parquet / jsonl / json) with `id, dataset, scene_name, question_type,
  question, options, ground_truth`, read with `simsv_stream.eval.reference_from_row` (VSI-Bench's
  type names mapped to ours).
* Videos: each row's video is found by its scene name under `--videos DIR`: `DIR/<dataset>/<scene>.mp4`
  (VSI-Bench's layout: arkitscenes/, scannet/, scannetpp/) or `DIR/<scene>.mp4`; decoded with imageio
  (ffmpeg), `frames` frames sampled uniformly, each video decoded once for all its questions.
* Prompt: VSI-Bench's (`simsv_stream.questions.prompt.format_prompt`: pre-prompt, question, options,
  post-prompt) inside the model's chat template; greedy generation; scored with the VSI-Bench metrics.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from simsv_stream.errors import ConfigError
from simsv_stream.questions.record import QA
from simsv_stream.sample import Provenance, Sample

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError("--references", f"no such file: {str(p)!r}")
    if p.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(p).to_pylist()
        except Exception as e:  # noqa: BLE001
            raise ConfigError("--references", f"{p}: not a readable parquet file ({e})") from None
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        rows = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ConfigError("--references", f"{p}:{n}: not valid JSON ({e.msg})") from None
    if not all(isinstance(r, dict) for r in rows):
        raise ConfigError("--references", f"{p}: expected rows (objects)")
    return rows


def find_video(videos: Path, row: dict[str, Any]) -> Path:
    scene = str(row.get("scene_name") or "")
    if not scene:
        raise ConfigError("--references", f"row {row.get('id')!r} has no scene_name (needed to find its video)")
    dataset = str(row.get("dataset") or "")
    for d in ([videos / dataset] if dataset else []) + [videos]:
        for suf in VIDEO_SUFFIXES:
            if (d / f"{scene}{suf}").is_file():
                return d / f"{scene}{suf}"
    raise ConfigError(
        "--videos",
        f"no video for scene {scene!r} (looked for {dataset + '/' if dataset else ''}"
        f"{scene}.mp4 and {scene}.mp4 under {videos})",
    )


def read_video(path: Path, frames: int, max_side: Optional[int] = None) -> np.ndarray:
    """`frames` RGB frames (T, H, W, 3) uint8 sampled uniformly over the whole video."""
    import imageio.v2 as imageio

    try:
        reader = imageio.get_reader(str(path), "ffmpeg")
    except Exception as e:  # noqa: BLE001
        raise ConfigError("--videos", f"cannot open {path}: {' '.join(str(e).split())[:200]}") from None
    try:
        total = reader.count_frames()
        if total <= 0:
            raise ConfigError("--videos", f"{path}: no frames")
        want = np.linspace(0, total - 1, num=frames).round().astype(int) if frames > 1 else np.array([0])
        wanted = set(int(i) for i in want)
        got: dict[int, np.ndarray] = {}
        for i, fr in enumerate(reader):
            if i in wanted:
                got[i] = np.asarray(fr)[..., :3]
            if i >= want[-1]:
                break
    finally:
        reader.close()
    last = got[max(got)] if got else None
    if last is None:
        raise ConfigError("--videos", f"{path}: could not decode frames")
    out = np.stack([got.get(int(i), last) for i in want]).astype(np.uint8)
    if max_side and max(out.shape[1:3]) > max_side:
        from PIL import Image

        s = max_side / max(out.shape[1:3])
        size = (max(1, round(out.shape[2] * s)), max(1, round(out.shape[1] * s)))
        out = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.BILINEAR)) for f in out])
    return out


def load_model(path: str, dtype: str = "auto", device: Optional[str] = None) -> tuple[Any, Any, Any]:
    """(model, processor, family) from a model directory / hub id, or a training adapter directory."""
    import torch
    from transformers import AutoModelForImageTextToText

    from .families import family_for_model_type, read_model_type
    from .module import resolve_dtype
    from .processing import load_processor

    p = Path(path).expanduser()
    adapter = (p / "adapter_config.json").is_file()
    base = path
    if adapter:
        base = json.loads((p / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
        if not base:
            raise ConfigError("--model", f"{path}: adapter_config.json names no base_model_name_or_path")
    family = family_for_model_type(read_model_type(base))
    has_processor = any((p / f).is_file() for f in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"))
    processor = load_processor(str(p) if has_processor else base, family)
    try:
        model = AutoModelForImageTextToText.from_pretrained(base, dtype=resolve_dtype(dtype), local_files_only=True)
    except OSError as e:
        raise ConfigError("--model", f"cannot load weights of {base!r}: {str(e).strip().splitlines()[0]}") from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(p))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    return model, processor, family


def evaluate_model(
    model_path: str,
    references: str | Path,
    videos: Optional[str | Path],
    frames: int = 16,
    batch_size: int = 4,
    max_new_tokens: int = 16,
    max_side: Optional[int] = 448,
    limit: Optional[int] = None,
    parse: str = "lmms",
) -> tuple[Any, dict[str, str]]:
    """Greedy answers for every reference row, scored: (simsv_stream.eval.Report, {id: prediction})."""
    from simsv_stream.eval import evaluate, reference_from_row

    from .collate import VideoQACollator
    from .module import greedy_answers

    if videos is None:
        raise ConfigError("--videos", "evaluating a model needs the videos: --videos DIR (mp4 per scene_name)")
    vdir = Path(videos)
    if not vdir.is_dir():
        raise ConfigError("--videos", f"no such directory: {str(vdir)!r}")
    rows = read_rows(references)
    if limit:
        rows = rows[:limit]
    refs = [reference_from_row(r, i) for i, r in enumerate(rows)]
    paths = [find_video(vdir, r) for r in rows]  # every video found before the model loads
    model, processor, family = load_model(model_path)
    collator = VideoQACollator(processor, family)
    cache: dict[Path, np.ndarray] = {}
    samples: list[Sample] = []
    for i, (ref, vp) in enumerate(zip(refs, paths)):
        if vp not in cache:
            cache[vp] = read_video(vp, frames, max_side)
        truth: Any = ref.answer
        qa = QA(
            ref.question_type,
            ref.question,
            str(ref.answer),
            ref.answer_mode,
            truth,  # type: ignore[arg-type]
            list(ref.options) if ref.options else None,
        )
        samples.append(Sample(i, cache[vp], qa, Provenance(i, 0, 0, "vsibench")))
    preds: dict[str, str] = {}
    t0 = time.perf_counter()
    for k in range(0, len(samples), batch_size):
        chunk = samples[k : k + batch_size]
        answers = greedy_answers(model, processor, collator, family, chunk, max_new_tokens)
        for s, a in zip(chunk, answers):
            preds[refs[s.sample_id].id] = a
    log.info("generated %d answers in %.1f s", len(preds), time.perf_counter() - t0)
    return evaluate(refs, preds, parse=parse), preds


__all__: Sequence[str] = ("evaluate_model", "load_model", "read_video", "find_video", "read_rows")
