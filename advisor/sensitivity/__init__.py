"""Accuracy side of quantization: how much error each scheme causes on the user's own weights.

Stages, one module each:

- ``schemes``: the quantizers (int8 per-tensor / per-channel, fp8 e4m3, w8a16, w4a16 with a group
  size, GGUF q8_0 and q4_k_m), built on torch's fake-quantize primitives and float8 casts.
- ``weights``: reading the user's weights safely (safetensors, sharded or Hugging Face directories,
  ``torch.load(weights_only=True)``) into a model built from a model spec; content hash.
- ``calib``: calibration inputs (image folders, text, tensor files, random with a warning).
- ``analysis``: per-layer sensitivity (local hooks or end to end), whole-model error per scheme,
  and the mixed-precision suggestion.
- ``datafree``: weight-only error streamed tensor by tensor from safetensors checkpoints.
- ``report``: the result types and their JSON form.

Importing this package does not import torch.
"""
