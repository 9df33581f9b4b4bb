#!/usr/bin/env python
"""Render benchmark (same as `simsv-stream bench render`): frames/s per core at 224x224 and
384x384, 16 and 32 frames, split into house, walkthrough, build, render and annotate time."""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from simsv_stream.benchmarks.render import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
