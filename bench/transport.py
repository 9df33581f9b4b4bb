#!/usr/bin/env python
"""Transport benchmark (same as `simsv-stream bench transport`): 16x224x224 and 32x384x384 videos
through wire + dispatcher + torchdata source vs raw pyzmq PUSH/PULL of the same bytes."""

import sys

from simsv_stream.benchmarks.transport import main

if __name__ == "__main__":
    sys.exit(main())
