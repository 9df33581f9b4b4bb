# Sourced by bench/gpu_*.sh on the device machine: the packages its image lacks and a log helper.
# .whl (carried with the working tree, not committed) holds wheels missing there (pyzmq, torchdata, msgpack)
# and pybullet's cp312 extension alone, stripped and xz-compressed to fit the carry limit:
#   pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 \
#       -d .whl pyzmq torchdata msgpack
#   (pybullet has no wheel on PyPI: build it once for cp312 and tar the pybullet*.so as pybullet-*-cp312-so.tar.xz)
# SKIP_INSTALL=1: everything is importable already. Sets LOG, PY, say().
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
LOG="$OUT/log.txt"
PY=${PY:-python3}
T0=$(date +%s)
say() { echo "[$(basename "$0") +$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  mkdir -p /tmp/site
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    2>&1 | tee -a "$LOG" || { say "pip install failed"; exit 1; }
  xz -dc .whl/pybullet-*-cp312-so.tar.xz | tar xf - -C /tmp/site || { say "pybullet unpack failed"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"; nproc; $PY -c "
import torch, transformers, peft, zmq, torchdata, numpy
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__,
      'peft', peft.__version__, 'zmq', zmq.__version__, 'numpy', numpy.__version__)"; } 2>&1 | tee -a "$LOG"
say "imports ok"
