"""Samples -> model batches, with the model's own processor and chat template.

Two steps, so the stream's torchdata pipeline can run the expensive one in its ParallelMapper:
- `VideoQACollator.encode(sample)`: render the chat (user: video + prompt; assistant: answer), run
  the processor on text + frames, and mask labels to the answer tokens and the end-of-turn token that
  follows it (everything else -100). Per sample, so it parallelises.
- `VideoQACollator.collate(encoded)`: pad/concatenate into one batch.
`VideoQACollator(samples)` does both (a drop-in `collate_fn`).

The answer span is found in the rendered chat text (last occurrence of the answer, up to and including
the end-of-turn token after it) and mapped to tokens through the tokenizer's offsets, shifted by the
processor's placeholder expansion, so it works with any chat template and any fast tokenizer.

Batch layout (all tensors): input_ids, attention_mask, labels, pixel_values_videos, plus
video_grid_thw and mm_token_type_ids for Qwen2-VL; and `meta`: one dict per sample
(sample_id, question_type, answer_mode, answer, mix_version, and `sample`: a SampleRef to the source
Sample) for metrics and evaluation.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np
import torch

from simsv_stream.questions.prompt import format_prompt
from simsv_stream.sample import Sample

from .errors import CollateError
from .families import Family, family_for_model_type

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
# keys whose per-sample tensors are concatenated along dim 0 (the processor's video outputs;
# second_per_grid_ts: Qwen2.5-VL's seconds per temporal patch)
_CAT_KEYS = ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")
_PAD_VALUES = {"attention_mask": 0, "labels": IGNORE_INDEX, "mm_token_type_ids": 0}
# what the labelled-position loss needs (trainers.loss), computed here on the CPU; not model inputs
LOSS_KEYS = ("loss_positions", "loss_targets")


def uniform_frame_indices(total: int, count: int) -> np.ndarray:
    """`count` indices spread evenly over `total` frames (repeats when count > total)."""
    return np.linspace(0, total - 1, num=count).round().astype(np.int64) if count > 1 else np.array([0])


class VideoQACollator:
    """Builds training (and generation) batches for one model's processor.

    processor: the model's processor (`trainers.processing.load_processor`).
    family: the model family; read from the processor's tokenizer/model type when omitted.
    num_frames: if set, every video is resampled to exactly this many frames (uniform indices).
    max_length: if set, a sample longer than this raises CollateError (video tokens cannot be truncated).
    system_prompt: optional system message (else the template's default).
    mc_answer: multiple-choice target, "letter" ("B", VSI-Bench's expected output) or "letter_text"
        (the option line, "B. sofa", as SIMS-V's `mc` format trains).
    video_fps: frame rate of the streamed videos, passed to the processor as video metadata (used by
        Qwen2.5-VL's temporal positions); a sample's own `fps` (sample or provenance attribute) wins.
    """

    def __init__(
        self,
        processor: Any,
        family: Optional[Family] = None,
        num_frames: Optional[int] = None,
        max_length: Optional[int] = None,
        system_prompt: Optional[str] = None,
        mc_answer: str = "letter",
        video_fps: Optional[float] = None,
        model_type: Optional[str] = None,
    ) -> None:
        self.processor = processor
        self.family = family or family_for_model_type(model_type or _guess_model_type(processor))
        self.num_frames = num_frames
        self.max_length = max_length
        self.system_prompt = system_prompt
        if mc_answer not in ("letter", "letter_text"):
            raise CollateError("data.mc_answer", f"must be letter or letter_text, got {mc_answer!r}")
        self.mc_answer = mc_answer
        self.video_fps = video_fps
        tok = processor.tokenizer
        self.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.end_of_turn = self.family.end_of_turn

    # ---------------------------------------------------------------- encode ----------------------------
    def target(self, sample: Sample) -> str:
        """The assistant text the model is trained to produce."""
        qa = sample.qa
        answer = str(qa.answer).strip()
        if qa.answer_mode == "mc" and self.mc_answer == "letter_text" and qa.options:
            for opt in qa.options:
                if opt.strip().startswith(f"{answer}."):
                    return opt.strip()
        return answer

    def messages(self, sample: Sample, with_answer: bool) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        if self.system_prompt:
            msgs.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        msgs.append(
            {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": format_prompt(sample.qa)}]}
        )
        if with_answer:
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": self.target(sample)}]})
        return msgs

    def _frames(self, sample: Sample) -> tuple[np.ndarray, Optional[dict[str, Any]]]:
        """Frames to encode (resampled to num_frames if set) and their video metadata (None when the
        frame rate is unknown)."""
        frames = np.asarray(sample.frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise CollateError(
                "sample.frames", f"expected (T, H, W, 3) uint8, got shape {frames.shape} (sample {sample.sample_id})"
            )
        total = int(frames.shape[0])
        indices = np.arange(total)
        if self.num_frames is not None and total != self.num_frames:
            indices = uniform_frame_indices(total, self.num_frames)
            frames = frames[indices]
        if not frames.flags.writeable:  # e.g. np.frombuffer over a received ZeroMQ frame
            frames = frames.copy()
        fps = getattr(sample, "fps", None) or getattr(sample.provenance, "fps", None) or self.video_fps
        meta = None
        if fps:
            meta = {
                "total_num_frames": total,
                "fps": float(fps),
                "frames_indices": [int(i) for i in indices],
                "height": int(frames.shape[1]),
                "width": int(frames.shape[2]),
            }
        return frames, meta

    def encode(self, sample: Sample, with_answer: bool = True) -> dict[str, Any]:
        """One sample -> unpadded tensors (1-D input_ids/attention_mask/labels, video tensors) + meta."""
        text = self.processor.apply_chat_template(
            self.messages(sample, with_answer), tokenize=False, add_generation_prompt=not with_answer
        )
        frames, video_meta = self._frames(sample)
        kwargs: dict[str, Any] = {"video_metadata": [video_meta]} if video_meta else {}
        try:
            out = self.processor(
                text=[text],
                videos=[frames],
                return_tensors="pt",
                return_offsets_mapping=with_answer,
                return_text_replacement_offsets=with_answer,
                **kwargs,
            )
        except (TypeError, ValueError) as e:  # a transformers without return_text_replacement_offsets
            if "text_replacement_offsets" not in str(e):
                raise
            out = self.processor(
                text=[text], videos=[frames], return_tensors="pt", return_offsets_mapping=with_answer, **kwargs
            )
        enc: dict[str, Any] = {"input_ids": out["input_ids"][0], "attention_mask": out["attention_mask"][0]}
        if "mm_token_type_ids" in out:
            enc["mm_token_type_ids"] = torch.as_tensor(out["mm_token_type_ids"][0])
        for key in _CAT_KEYS:
            if key in out:
                enc[key] = torch.as_tensor(out[key])
        if with_answer:
            enc["labels"] = self._labels(sample, text, out)
        if self.max_length is not None and enc["input_ids"].numel() > self.max_length:
            raise CollateError(
                "max_length",
                f"sample {sample.sample_id} has {enc['input_ids'].numel()} tokens > "
                f"{self.max_length}; lower frames/resolution or raise max_length",
            )
        enc["meta"] = _meta(sample)
        enc["n_frames"] = int(frames.shape[0])
        return enc

    def _labels(self, sample: Sample, text: str, out: Any) -> torch.Tensor:
        answer = self.target(sample)
        # search after the generation prompt when the template's prompt is a prefix of the full chat
        # (the usual case), else the last occurrence
        prompt = self.processor.apply_chat_template(
            self.messages(sample, with_answer=False), tokenize=False, add_generation_prompt=True
        )
        start = text.find(answer, len(prompt)) if text.startswith(prompt) else text.rfind(answer)
        if not answer or start < 0:
            raise CollateError(
                "qa.answer",
                f"answer {answer!r} of sample {sample.sample_id} not found in the "
                "rendered chat; the chat template altered it",
            )
        end = start + len(answer)
        eot = text.find(self.end_of_turn, end)
        if eot >= 0 and not text[end:eot].strip():  # the turn's closing token right after the answer
            end = eot + len(self.end_of_turn)
        # positions above are in the template text; the processor expanded each video placeholder
        if "text_replacement_offsets" in out:
            shift = sum(
                len(r["replacement"]) - len(r["text"])
                for r in out["text_replacement_offsets"][0]
                if r["span"][0] < start
            )
        else:  # transformers without replacement offsets: one video placeholder -> n copies of its token
            vid = self.processor.tokenizer.convert_tokens_to_ids(self.family.video_token)
            n = int((out["input_ids"][0] == vid).sum())
            shift = (n - 1) * len(self.family.video_token) if self.family.video_token in text[:start] else 0
        a0, a1 = start + shift, end + shift
        offsets = torch.as_tensor(out["offset_mapping"][0])
        ids = out["input_ids"][0]
        keep = (offsets[:, 1] > a0) & (offsets[:, 0] < a1) & (offsets[:, 1] > offsets[:, 0])
        labels = torch.full_like(ids, IGNORE_INDEX)
        labels[keep] = ids[keep]
        if not keep.any():
            raise CollateError("qa.answer", f"answer of sample {sample.sample_id} maps to no tokens")
        return labels

    # --------------------------------------------------------------- collate ----------------------------
    def collate(self, encoded: Sequence[dict[str, Any]], padding_side: str = "right") -> dict[str, Any]:
        if not encoded:
            raise CollateError("batch", "empty batch")
        encoded = self._same_frame_count(list(encoded), padding_side)
        batch: dict[str, Any] = {}
        width = max(e["input_ids"].numel() for e in encoded)
        for key in ("input_ids", "attention_mask", "labels", "mm_token_type_ids"):
            if key not in encoded[0]:
                continue
            pad_value = _PAD_VALUES.get(key, self.pad_token_id)
            rows = []
            for e in encoded:
                x = e[key]
                pad = torch.full((width - x.numel(),), pad_value, dtype=x.dtype)
                rows.append(torch.cat([x, pad]) if padding_side == "right" else torch.cat([pad, x]))
            batch[key] = torch.stack(rows)
        for key in _CAT_KEYS:
            if key in encoded[0]:
                batch[key] = torch.cat([e[key] for e in encoded], dim=0)
        if "labels" in batch:
            batch["loss_positions"], batch["loss_targets"] = labelled_positions(batch["labels"])
        batch["meta"] = [e["meta"] for e in encoded]
        return batch

    def _same_frame_count(self, encoded: list[dict[str, Any]], padding_side: str) -> list[dict[str, Any]]:
        """LLaVA-OneVision stacks videos as (B, T, C, H, W): after a live change of frames per video a
        batch can mix counts; re-encode the longer ones at the smallest count."""
        pv = [e.get("pixel_values_videos") for e in encoded]
        if pv[0] is None or pv[0].ndim != 5 or len({tuple(p.shape[1:]) for p in pv}) == 1:
            return encoded
        t_min = min(e["n_frames"] for e in encoded)
        log.warning(
            "batch mixes %s frames per video; resampling to %d for this batch",
            sorted({e["n_frames"] for e in encoded}),
            t_min,
        )
        saved, self.num_frames = self.num_frames, t_min
        try:
            return [
                e if e["n_frames"] == t_min else self.encode(e["meta"]["sample"].sample, with_answer="labels" in e)
                for e in encoded
            ]
        finally:
            self.num_frames = saved

    # ------------------------------------------------------------------ API -----------------------------
    def __call__(self, samples: Sequence[Sample]) -> dict[str, Any]:
        return self.collate([self.encode(s) for s in samples])

    def generation_batch(self, samples: Sequence[Sample]) -> dict[str, Any]:
        """Prompt-only, left-padded batch for `generate` (no labels)."""
        return self.collate([self.encode(s, with_answer=False) for s in samples], padding_side="left")


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The tensors a model's forward takes (drops meta and the loss positions)."""
    return {k: v for k, v in batch.items() if k != "meta" and k not in LOSS_KEYS}


def labelled_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """labels (B, L) -> positions (K,) whose next token is labelled in some row, and their targets (B, K)."""
    following = labels[:, 1:]
    positions = (following != IGNORE_INDEX).any(0).nonzero().squeeze(1)
    return positions, following[:, positions]


class SampleRef:
    """Opaque holder of the source Sample: collection walkers (Lightning's apply_to_collection, torch
    pin_memory) pass it through untouched, while they reject or copy frozen dataclasses."""

    __slots__ = ("sample",)

    def __init__(self, sample: Sample) -> None:
        self.sample = sample

    def __repr__(self) -> str:
        return f"SampleRef({self.sample.sample_id})"


def _meta(sample: Sample) -> dict[str, Any]:
    """Plain values only (plus an opaque SampleRef), so batches survive device transfer / pinning."""
    qa = sample.qa
    return {
        "sample_id": int(sample.sample_id),
        "question_type": qa.question_type,
        "answer_mode": qa.answer_mode,
        "answer": qa.answer,
        "mix_version": int(getattr(sample.provenance, "mix_version", 0)),
        "sample": SampleRef(sample),
    }


def _guess_model_type(processor: Any) -> str:
    name = type(processor).__name__
    return {
        "Qwen2VLProcessor": "qwen2_vl",
        "Qwen2_5_VLProcessor": "qwen2_5_vl",
        "LlavaOnevisionProcessor": "llava_onevision",
    }.get(name, name)
