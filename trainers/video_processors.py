"""torchvision-free video processors for the supported families.

transformers' video processors (`BaseVideoProcessor`) require torchvision. The CPU torch build this
project installs (torch==2.13.0+cpu) has no matching CPU torchvision wheel available offline (the
torchvision wheels on the index are CUDA builds and fail to import against CPU torch), so
`AutoProcessor.from_pretrained` cannot build a video processor there. These classes reproduce the
families' video preprocessing with torch ops only and read the same `video_preprocessor_config.json`;
`trainers.processing.load_processor` uses them only when torchvision is missing. Where torchvision is
installed (GPU machines), the stock transformers classes are used.

Math mirrored from transformers 5.x:
- Qwen2-VL (`Qwen2VLVideoProcessor`): smart_resize to multiples of patch_size*merge_size within
  [shortest_edge, longest_edge] pixels, bicubic (antialiased) resize, rescale 1/255, normalize
  (CLIP mean/std), pad T to a multiple of temporal_patch_size by repeating the last frame, patchify to
  (grid_t*grid_h*grid_w, C*tp*p*p) in the merge-window order; video_grid_thw = [t, h, w].
- LLaVA-OneVision (`LlavaOnevisionVideoProcessor`): bicubic resize of every frame to size
  (height, width), rescale, normalize; pixel_values_videos = (B, T, C, H, W).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from transformers.feature_extraction_utils import BatchFeature
from transformers.video_processing_utils import VideoProcessorMixin
from transformers.video_utils import make_batched_metadata


def ensure_processor_can_check_video_processor() -> None:
    """`ProcessorMixin.__init__` checks a video processor against `transformers.VideoProcessorMixin`,
    which transformers only exports when torchvision is installed. The mixin itself needs no
    torchvision, so expose it under that name (no-op when already there)."""
    import transformers

    if not hasattr(transformers, "VideoProcessorMixin"):
        setattr(transformers, "VideoProcessorMixin", VideoProcessorMixin)


ensure_processor_can_check_video_processor()

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Same contract as transformers.models.qwen2_vl smart_resize."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _as_video_list(videos: Any) -> list[torch.Tensor]:
    """A video or a list of videos, each (T, H, W, 3) uint8 (numpy or torch) -> list of (T, 3, H, W) uint8."""
    if isinstance(videos, (np.ndarray, torch.Tensor)) and videos.ndim == 4:
        videos = [videos]
    out = []
    for v in videos:
        t = torch.as_tensor(np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v)
        if t.ndim != 4:
            raise ValueError(f"a video must be a 4-D (T, H, W, C) array, got shape {tuple(t.shape)}")
        if t.shape[-1] in (1, 3) and t.shape[1] not in (1, 3):
            t = t.permute(0, 3, 1, 2)  # channels-last -> channels-first
        if t.shape[1] == 1:
            t = t.expand(-1, 3, -1, -1)
        out.append(t)
    return out


def _resize(video: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic antialiased resize of (T, C, H, W); uint8 in -> float rounded/clamped to 0..255 like
    torchvision's v2 resize on uint8 tensors."""
    if video.shape[-2:] == (height, width):
        return video.float()
    x = F.interpolate(video.float(), size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    if video.dtype == torch.uint8:
        x = x.round_().clamp_(0, 255)
    return x


def _normalize(x: torch.Tensor, rescale: float, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x * rescale - m) / s


class _TorchOnlyVideoProcessor(VideoProcessorMixin):
    hf_class_name = ""  # the transformers class this one stands in for (written on save)
    _keys: tuple[str, ...] = ()
    # the defaults both stand-ins share with their transformers classes (CLIP normalisation of 0..1 pixels)
    image_mean = OPENAI_CLIP_MEAN
    image_std = OPENAI_CLIP_STD
    rescale_factor = 1 / 255
    do_resize = True
    do_rescale = True
    do_normalize = True

    def __init__(self, **kwargs: Any) -> None:  # noqa: D401 - plain attribute bag
        # no super().__init__: the mixin's init validates torchvision-backend kwargs we do not use
        self._extra = {}
        for key, value in kwargs.items():
            if key in self._keys:
                setattr(self, key, value)
            else:
                self._extra[key] = value

    @classmethod
    def from_dict(cls, d: dict[str, Any], **kwargs: Any) -> "_TorchOnlyVideoProcessor":
        return cls(**{**d, **kwargs})

    def __call__(
        self,
        videos: Any,
        video_metadata: Any = None,
        return_metadata: bool = False,
        return_tensors: Any = None,
        **_: Any,
    ) -> BatchFeature:
        """Same contract as transformers' video processors: a list of videos (or one) -> BatchFeature;
        `video_metadata` (fps, frame indices) is passed through when `return_metadata` (Qwen2.5-VL's
        processor reads the sampled fps from it for its temporal positions)."""
        videos = _as_video_list(videos)
        out = self.preprocess(videos, return_tensors=return_tensors)
        if return_metadata:
            out["video_metadata"] = make_batched_metadata(videos, video_metadata=video_metadata)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self._keys}
        d.update({k: v for k, v in self._extra.items() if k not in ("video_processor_type", "processor_class")})
        d["video_processor_type"] = self.hf_class_name
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"

    def _rescale_normalize(self, x: torch.Tensor) -> torch.Tensor:
        """do_rescale / do_normalize on (T, C, H, W) float frames (unchanged when both are off)."""
        if not (self.do_rescale or self.do_normalize):
            return x
        c = x.shape[1]
        return _normalize(
            x,
            self.rescale_factor if self.do_rescale else 1.0,
            self.image_mean if self.do_normalize else [0.0] * c,
            self.image_std if self.do_normalize else [1.0] * c,
        )


class TorchOnlyQwen2VLVideoProcessor(_TorchOnlyVideoProcessor):
    hf_class_name = "Qwen2VLVideoProcessor"
    model_input_names = ["pixel_values_videos", "video_grid_thw"]
    _keys = (
        "size",
        "patch_size",
        "temporal_patch_size",
        "merge_size",
        "image_mean",
        "image_std",
        "rescale_factor",
        "do_resize",
        "do_rescale",
        "do_normalize",
        "min_frames",
        "max_frames",
        "cap_pixels_per_frame",
        "max_video_tokens",
    )
    size = {"shortest_edge": 128 * 28 * 28, "longest_edge": 28 * 28 * 768}
    patch_size = 14
    temporal_patch_size = 2
    merge_size = 2
    min_frames = 4
    max_frames = 768
    cap_pixels_per_frame = False
    max_video_tokens = 128000

    def __init__(self, **kwargs: Any) -> None:
        size = dict(kwargs.pop("size", None) or self.size)
        if (mn := kwargs.pop("min_pixels", None)) is not None:
            size["shortest_edge"] = mn
        if (mx := kwargs.pop("max_pixels", None)) is not None:
            size["longest_edge"] = mx
        super().__init__(size=size, **kwargs)

    def _target_hw(self, t: int, h: int, w: int) -> tuple[int, int]:
        factor = self.patch_size * self.merge_size
        max_pixels = self.size["longest_edge"]
        if self.cap_pixels_per_frame:
            total = int(self.max_video_tokens * factor * factor * 0.9)
            max_pixels = max(
                min(max_pixels, total * self.temporal_patch_size // t), int(self.size["shortest_edge"] * 1.05)
            )
        return smart_resize(h, w, factor=factor, min_pixels=self.size["shortest_edge"], max_pixels=max_pixels)

    def get_num_of_video_patches(self, num_frames: int, height: int, width: int, videos_kwargs=None) -> int:
        rh, rw = self._target_hw(num_frames, height, width)
        grid_t = (num_frames + -num_frames % self.temporal_patch_size) // self.temporal_patch_size
        return grid_t * (rh // self.patch_size) * (rw // self.patch_size)

    def preprocess(self, videos: Any, return_tensors: Any = None, **_: Any) -> BatchFeature:
        p, tp, m = self.patch_size, self.temporal_patch_size, self.merge_size
        patches_out, grids = [], []
        for video in _as_video_list(videos):
            t, c, h, w = video.shape
            x = video.float()
            if self.do_resize:
                rh, rw = self._target_hw(t, h, w)
                x = _resize(video, rh, rw)
            x = self._rescale_normalize(x)
            if pad := -t % tp:
                x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)], dim=0)
                t += pad
            gt, gh, gw = t // tp, x.shape[-2] // p, x.shape[-1] // p
            x = x.view(gt, tp, c, gh // m, m, p, gw // m, m, p)
            # same axis order as transformers' patchify (batch axis dropped): t, bh, bw, mh, mw, c, tp, p, p
            x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
            patches_out.append(x.reshape(gt * gh * gw, c * tp * p * p))
            grids.append([gt, gh, gw])
        return BatchFeature(
            data={"pixel_values_videos": torch.cat(patches_out, dim=0), "video_grid_thw": torch.tensor(grids)},
            tensor_type=return_tensors,
        )


class TorchOnlyLlavaOnevisionVideoProcessor(_TorchOnlyVideoProcessor):
    hf_class_name = "LlavaOnevisionVideoProcessor"
    model_input_names = ["pixel_values_videos"]
    _keys = ("size", "image_mean", "image_std", "rescale_factor", "do_resize", "do_rescale", "do_normalize")
    size = {"height": 384, "width": 384}

    def preprocess(self, videos: Any, return_tensors: Any = None, **_: Any) -> BatchFeature:
        out = []
        for video in _as_video_list(videos):
            x = _resize(video, self.size["height"], self.size["width"]) if self.do_resize else video.float()
            out.append(self._rescale_normalize(x))
        if len({tuple(v.shape) for v in out}) == 1:
            data = {"pixel_values_videos": torch.stack(out, dim=0)}
        else:  # different frame counts: leave a list (the caller must not batch these together)
            data = {"pixel_values_videos": out}
        return BatchFeature(
            data=data,
            tensor_type=return_tensors
            if len(data["pixel_values_videos"]) and isinstance(data["pixel_values_videos"], torch.Tensor)
            else None,
        )


TORCH_ONLY_VIDEO_PROCESSORS = {
    "Qwen2VLVideoProcessor": TorchOnlyQwen2VLVideoProcessor,
    "LlavaOnevisionVideoProcessor": TorchOnlyLlavaOnevisionVideoProcessor,
}
