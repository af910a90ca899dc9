#!/usr/bin/env bash
# Calibrate a CUDA GPU and validate advisor's predictions on it, in one go:
#   advisor calibrate --device cuda, then bench + predict for resnet18, resnet50,
#   mobilenet_v2, efficientnet_b0, vit_b_16, yolov5n, yolov5s at batch 1, 8, 64 x
#   {pytorch, pytorch-cudagraphs} x {fp32, tf32, fp16, bf16}.
# Writes benchmarks/data/validation-gpu.json, docs/validation-gpu.md, docs/validation-gpu.png
# (and copies them to $OUT when that is set, as on the project's device machine).
#
# STATUS: written without a GPU (none was available to the session that wrote it); the CUDA
# paths are guarded by torch.cuda.is_available() and have not been run yet.
#
# Usage: bash benchmarks/gpu_validate.sh            (about 5-8 minutes on an H100/H200-class GPU)
set -euo pipefail
cd "$(dirname "$0")/.."

python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_validate.sh: no CUDA GPU is visible to PyTorch")
print("GPU:", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0), file=sys.stderr)
PY

# A throw-away database unless the caller chose one: the report step loads the calibration
# from the data file anyway, so the page does not depend on this database.
if [ -z "${ADVISOR_DB:-}" ]; then
  ADVISOR_DB="sqlite:///$(mktemp -d)/advisor-gpu.db"
  export ADVISOR_DB
fi

# GPU timings are steady: 1.5 s per configuration is plenty (168 configurations).
python benchmarks/validation.py measure --device cuda --calibrate --wait-quiet 0 --retries 0 --budget-s 1.5
python benchmarks/validation.py report --device cuda

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/benchmarks/data" "$OUT/docs"
  cp benchmarks/data/validation-gpu.json "$OUT/benchmarks/data/"
  cp docs/validation-gpu.md docs/validation-gpu.png "$OUT/docs/"
fi
