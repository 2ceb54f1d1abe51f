#!/usr/bin/env bash
# On the lent GPU machine (bare: Python 3.12 with torch, no gymnasium, SB3 or pybullet): install what
# scripts/gpu/fetch_wheels.sh put in .gpu/, then run `scripts/benchmark.py gpu` into $OUT (what comes back).
# The device call, with its carry and timeout, is in docs/benchmarks.md ("GPU"). Flags pass through:
#
#   bash scripts/gpu/run.sh                          # everything, ~4-5 min of the 8 the call allows
#   bash scripts/gpu/run.sh --only ppo,egl           # a rerun of some groups
#   bash scripts/gpu/run.sh --dry-run --device cuda  # 30 s smoke test of every path on the GPU
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
OUT=${OUT:-runs/benchmarks/gpu}
SITE=${SITE:-/tmp/site}
if ! compgen -G ".gpu/wheels/*.whl" > /dev/null; then
    echo "no wheels in .gpu/wheels: run 'bash scripts/gpu/fetch_wheels.sh' where pip works, and carry .gpu" >&2
    exit 2
fi
# EGL / OpenGL loaders only where the machine has none (the device tool's README recipe; never over a desktop's)
if ! ldconfig -p | grep -q 'libEGL.so.1 '; then
    for deb in .gpu/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
fi
vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$vendor" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor; fi
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .gpu/wheels/*.whl
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt" || true
"$PY" scripts/benchmark.py gpu --out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"
