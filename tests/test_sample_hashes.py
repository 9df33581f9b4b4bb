"""Behaviour lock for refactors: the same (seed, sample id, scales, mix) gives byte-identical samples.

`tests/data/sample_hashes.json` was written before the architecture work moved backends, orders and
codecs around; every sample made here through the workers' own code path (Producer -> wire encoder ->
wire decoder) must hash to the stored value. The hash covers the frame bytes (raw codec, and the JPEG
bytes for the jpeg codec), the whole QA and the deterministic provenance fields (not timings or worker
ids). Regenerate only for an intended change of samples: `python tests/test_sample_hashes.py --write`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from simsv_stream import wire
from simsv_stream.config import Scales
from simsv_stream.export import plan_orders
from simsv_stream.stream.backends import get_backend
from simsv_stream.stream.worker import Producer, Unaskable

STORE = Path(__file__).resolve().parent / "data" / "sample_hashes.json"
CASES = {  # name: (backend, seed, scales, mix, codec, samples)
    "procedural-3q-raw": ("procedural", 7, {"frames": 8, "size": "48x48", "rooms": "1-2"}, "3q", "raw", 6),
    "procedural-all-jpeg": ("procedural", 11, {"frames": 8, "size": "64x48", "rooms": "2"}, "all", "jpeg", 8),
    "procedural-q3-raw": (
        "procedural",
        3,
        {"frames": 6, "size": "32x32", "rooms": "1", "questions_per_episode": 3},
        "vsi",
        "raw",
        6,
    ),
    "noise-raw": ("noise", 5, {"frames": 4, "size": "16x16"}, "3q", "raw", 5),
}
DETERMINISTIC_PROVENANCE = ("sample_id", "seed", "episode_seed", "config_hash", "mix_version")


def sample_hashes(backend: str, seed: int, scales: dict, mix: str, codec: str, samples: int) -> dict[str, str]:
    sc = Scales().updated(scales)
    prod = Producer(get_backend(backend, {}))
    out: dict[str, str] = {}
    for group in plan_orders(samples, seed, mix, sc):
        for sid, qtype in group.items:
            try:
                frames, qa, prov = prod.produce(seed, sid, qtype, group.episode_seed, sc, 0, sc.config_hash())
            except Unaskable:
                out[str(sid)] = "unaskable"
                continue
            parts = wire.encode_sample(epoch=0, sample_id=sid, frames=frames, qa=qa, provenance=prov, codec=codec)
            ws = wire.decode([bytes(memoryview(p)) for p in parts])
            h = hashlib.sha256()
            for b in ws.buffers:
                h.update(bytes(memoryview(b)))
            h.update(json.dumps(ws.header["qa"], sort_keys=True, default=str).encode())
            h.update(json.dumps({k: ws.header["provenance"][k] for k in DETERMINISTIC_PROVENANCE}).encode())
            h.update(wire.decode_frames(ws).frames.tobytes())
            out[str(sid)] = h.hexdigest()
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_samples_are_byte_identical_to_the_stored_hashes(name):
    stored = json.loads(STORE.read_text())
    assert sample_hashes(*CASES[name]) == stored[name]


if __name__ == "__main__" and "--write" in sys.argv:
    STORE.write_text(json.dumps({k: sample_hashes(*v) for k, v in sorted(CASES.items())}, indent=1) + "\n")
    print(f"wrote {STORE}")
