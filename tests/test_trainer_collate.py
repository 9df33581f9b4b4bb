"""Collate from the model's own processor + chat template: label masking, padding, video tensors."""

from __future__ import annotations

import numpy as np
import pytest

from simsv_stream.questions.prompt import format_prompt
from simsv_stream.questions.record import QA
from simsv_stream.sample import Provenance, Sample
from trainers.collate import IGNORE_INDEX, VideoQACollator
from trainers.data import SyntheticSamples
from trainers.errors import CollateError
from trainers.processing import load_processor
from trainers.tiny_model import cached_tiny_model

FAMILY_NAMES = ["qwen2_vl", "qwen2_5_vl", "llava_onevision"]  # tiny architectures


def tiny_dir(tmp_path_factory, family):
    return cached_tiny_model(tmp_path_factory.getbasetemp(), family)


@pytest.fixture(scope="module", params=FAMILY_NAMES)
def processor(request, tmp_path_factory):
    return load_processor(str(tiny_dir(tmp_path_factory, request.param)))


def _sample(i: int, qa: QA, frames: int = 4, side: int = 32) -> Sample:
    rng = np.random.default_rng(i)
    return Sample(i, rng.integers(0, 256, (frames, side, side, 3), dtype=np.uint8), qa, Provenance(i, 0, i, "t"))


MC = QA(
    "rel_direction_medium",
    "If I am standing by the sofa and facing the tv, is the lamp to my left, right, or back?",
    "C",
    "mc",
    "back",
    options=["A. left", "B. right", "C. back"],
)
OE = QA(
    "abs_distance",
    "Measuring from the closest point of each object, what is the direct distance between the "
    "chair and the bed (in meters)?",
    "3.4",
    "oe",
    3.4,
)


def _decoded_labels(processor, batch):
    out = []
    for row in batch["labels"]:
        ids = row[row != IGNORE_INDEX]
        out.append((processor.tokenizer.decode(ids), processor.tokenizer.decode(ids, skip_special_tokens=True)))
    return out


def test_labels_are_exactly_the_answer_and_end_of_turn(processor):
    c = VideoQACollator(processor)
    batch = c([_sample(0, MC), _sample(1, OE)])
    (mc_all, mc_ans), (oe_all, oe_ans) = _decoded_labels(processor, batch)
    assert mc_ans == "C" and oe_ans == "3.4"
    assert mc_all == "C<|im_end|>" and oe_all == "3.4<|im_end|>"
    # everything else is ignored: the video, the system prompt, the question, padding
    vid = processor.tokenizer.convert_tokens_to_ids(c.family.video_token)
    assert (batch["labels"][batch["input_ids"] == vid] == IGNORE_INDEX).all()
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()


def test_letter_text_target_for_simsv_mc_format(processor):
    c = VideoQACollator(processor, mc_answer="letter_text")
    ((_, ans),) = _decoded_labels(processor, c([_sample(0, MC)]))
    assert ans == "C. back"


def test_prompt_is_the_vsibench_prompt_inside_the_chat_template(processor):
    c = VideoQACollator(processor)
    text = processor.apply_chat_template(c.messages(_sample(0, MC), with_answer=True), tokenize=False)
    assert format_prompt(MC) in text and "Options:\nA. left\nB. right\nC. back" in text
    assert text.index(c.family.video_token) < text.index(MC.question) < text.rindex("C<|im_end|>")


def test_padding_and_video_tensors(processor):
    c = VideoQACollator(processor)
    samples = (
        [_sample(0, MC), _sample(1, OE, frames=6)]
        if type(processor).__name__.startswith("Qwen")
        else [_sample(0, MC), _sample(1, OE)]
    )
    batch = c(samples)
    b, width = batch["input_ids"].shape
    assert batch["attention_mask"].shape == batch["labels"].shape == (b, width) == (2, width)
    lengths = batch["attention_mask"].sum(1)
    pad = c.pad_token_id
    for i, n in enumerate(lengths.tolist()):  # right padding for training
        assert (batch["input_ids"][i, n:] == pad).all() and batch["attention_mask"][i, :n].all()
    vid = processor.tokenizer.convert_tokens_to_ids(c.family.video_token)
    n_video_tokens = (batch["input_ids"] == vid).sum().item()
    if "video_grid_thw" in batch:  # Qwen2-VL: flat patches + grid per video; merged tokens = t*h*w/4
        grid = batch["video_grid_thw"]
        assert grid.shape == (2, 3) and batch["pixel_values_videos"].shape[0] == int(grid.prod(1).sum())
        assert n_video_tokens == int(grid.prod(1).sum()) // 4
        assert (batch["mm_token_type_ids"] == 2).sum().item() == n_video_tokens
    else:  # LLaVA-OneVision: (B, T, C, H, W), (T * pooled + 1) tokens per video
        assert batch["pixel_values_videos"].shape[:2] == (2, 4)
    gen = c.generation_batch(samples)  # prompt only, left padded, ends with the assistant header
    assert "labels" not in gen
    assert gen["attention_mask"][:, -1].all()
    assert processor.tokenizer.decode(gen["input_ids"][0]).endswith("<|im_start|>assistant\n")


def test_llava_batch_with_mixed_frame_counts_is_resampled(tmp_path_factory):
    proc = load_processor(str(tiny_dir(tmp_path_factory, "llava_onevision")))
    c = VideoQACollator(proc)
    batch = c([_sample(0, MC, frames=8), _sample(1, OE, frames=4)])
    assert batch["pixel_values_videos"].shape[:2] == (2, 4)
    assert _decoded_labels(proc, batch)[0][1] == "C"


def test_num_frames_and_read_only_frames(processor):
    c = VideoQACollator(processor, num_frames=2)
    s = _sample(0, OE, frames=5)
    s.frames.setflags(write=False)  # like np.frombuffer over a received ZeroMQ frame
    enc = c.encode(s)
    assert enc["n_frames"] == 2 and enc["meta"]["sample_id"] == 0


def test_meta_is_plain_values(processor):
    batch = VideoQACollator(processor)(SyntheticSamples(0).take(2))
    m = batch["meta"][0]
    assert {"sample_id", "question_type", "answer_mode", "answer", "mix_version", "sample"} <= set(m)
    assert m["sample"].sample.sample_id == m["sample_id"]


def test_answer_missing_from_rendered_chat_is_one_line_error(processor):
    c = VideoQACollator(processor)
    with pytest.raises(CollateError, match="qa.answer"):
        c([_sample(0, QA("abs_distance", "q?", "", "oe", 1.0))])
    with pytest.raises(CollateError, match="max_length"):
        VideoQACollator(processor, max_length=16)([_sample(0, OE)])
