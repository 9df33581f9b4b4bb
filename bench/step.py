#!/usr/bin/env python
"""The training step alone (same as `simsv-stream bench step`): ms/step, samples/s, useful FLOPs, MFU,
peak memory, and the host's aten ops, attention calls, launches and syncs per step, for each speed fix
switched off in turn (`--variants all`).

    python bench/step.py --model runs/tiny-qwen2-vl --device cpu --frames 4 --size 64x64 --variants all
"""

import sys

from simsv_stream.benchmarks.step import main

if __name__ == "__main__":
    sys.exit(main())
