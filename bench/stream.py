#!/usr/bin/env python
"""Stream benchmark (same as `simsv-stream bench stream`): stream vs DataLoader + IterableDataset
samples/s per worker count (PNG plot), and mix-switch staleness vs credit."""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from simsv_stream.benchmarks.stream import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
