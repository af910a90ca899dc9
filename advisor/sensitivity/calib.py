"""Calibration inputs: the samples that activation ranges are calibrated on and errors measured on.

Sources: a folder of images (decoded with PIL and preprocessed the way the model expects: a
torchvision model's own evaluation transform, else resize to the model's input size and scale to
[0, 1]); a text file tokenised with a local ``tokenizer.json`` (Hugging Face ``tokenizers``) and cut
into windows of the model's sequence length plus one (the extra token is the next-token target for
perplexity); a ``.npy`` (``allow_pickle=False``) or ``.pt`` (``weights_only=True``) tensor of
samples; or random inputs, which rank layers only roughly (a warning says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from advisor.errors import InputError
from advisor.models.spec import ModelSpec

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
TEXT_SUFFIXES = (".txt", ".md", ".jsonl")
RANDOM_WARNING = (
    "WARNING: calibrating on random inputs. Activation ranges and errors on random data differ from real "
    "data: the layer ranking is rough and the absolute SQNR / agreement figures are not your model's. "
    "Pass --calib with real samples for numbers you can act on."
)


@dataclass(frozen=True)
class InputSlot:
    """How samples go into the model: positionally (``name`` None) or as the keyword ``name``
    (Hugging Face models take ``input_ids=``), with the spec's other, non-tensor keywords."""

    name: str | None = None
    static: tuple[tuple[str, object], ...] = ()

    def call_args(self, inputs: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], dict[str, object]]:
        kwargs = dict(self.static)
        if self.name is None:
            return (inputs,), kwargs
        kwargs[self.name] = inputs
        return (), kwargs


@dataclass
class CalibData:
    """Samples stacked on the first dimension, plus next-token targets for language models."""

    inputs: torch.Tensor
    kind: str  # "images" | "tokens" | "tensor" | "random"
    targets: torch.Tensor | None = None  # [N, S]: token t+1 for each input position t
    warning: str | None = None
    slot: InputSlot = InputSlot()

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def batches(self, size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        for start in range(0, len(self), size):
            stop = start + size
            yield self.inputs[start:stop], (None if self.targets is None else self.targets[start:stop])


def input_slot(spec: ModelSpec) -> InputSlot:
    """Where the spec's one sample tensor goes; other tensor inputs (caches, masks) are not supported."""
    tensors = [a for a in spec.args if isinstance(a, torch.Tensor)]
    keyword_tensors = [k for k, v in spec.kwargs.items() if isinstance(v, torch.Tensor)]
    if len(tensors) + len(keyword_tensors) != 1 or (spec.args and not tensors):
        raise InputError(f"model {spec.name}: sensitivity needs a model that takes one tensor input "
                         f"(this spec has {len(tensors) + len(keyword_tensors)}; language models: prefill only)")
    # Hugging Face causal LMs: logits for every position (0 = all), so perplexity counts every token.
    static = tuple((k, 0 if k == "logits_to_keep" else v) for k, v in spec.kwargs.items()
                   if not isinstance(v, torch.Tensor))
    return InputSlot(keyword_tensors[0] if keyword_tensors else None, static)


def _first_input(spec: ModelSpec) -> torch.Tensor:
    slot = input_slot(spec)
    return spec.args[0] if slot.name is None else spec.kwargs[slot.name]


def takes_tokens(spec: ModelSpec) -> bool:
    return not _first_input(spec).is_floating_point()


def sample_shape(spec: ModelSpec) -> list[int]:
    """One sample's shape: the spec's input shape without the batch dimension."""
    return list(_first_input(spec).shape[1:])


def vocab_size(module: torch.nn.Module) -> int:
    embedding = next((m for m in module.modules() if isinstance(m, torch.nn.Embedding)), None)
    if embedding is None:
        raise InputError("the model takes token ids but has no nn.Embedding to size random tokens from")
    return int(embedding.num_embeddings)


def random_calib(spec: ModelSpec, module: torch.nn.Module, count: int, *, seed: int = 0) -> CalibData:
    """``count`` random samples (normal images / uniform token ids), with RANDOM_WARNING attached."""
    data = _random(spec, module, count, seed)
    data.slot = input_slot(spec)
    return data


def _random(spec: ModelSpec, module: torch.nn.Module, count: int, seed: int) -> CalibData:
    if not isinstance(count, int) or count < 1:
        raise InputError(f"invalid --calib-random {count!r}: expected a positive number of samples")
    generator = torch.Generator().manual_seed(seed)
    shape = sample_shape(spec)
    if takes_tokens(spec):
        tokens = torch.randint(0, vocab_size(module), [count, shape[0] + 1], generator=generator)
        return CalibData(tokens[:, :-1], "random", tokens[:, 1:], RANDOM_WARNING)
    return CalibData(torch.randn([count, *shape], generator=generator), "random", None, RANDOM_WARNING)


def load_calib(path: Path, spec: ModelSpec, *, tokenizer: Path | None = None, limit: int = 64) -> CalibData:
    """Calibration samples from ``path`` (image folder, text file, .npy/.pt tensor), at most ``limit``."""
    data = _load(Path(path), spec, tokenizer, limit)
    data.slot = input_slot(spec)
    return data


def _load(path: Path, spec: ModelSpec, tokenizer: Path | None, limit: int) -> CalibData:
    if not path.exists():
        raise InputError(f"--calib {path}: no such file or directory")
    if not isinstance(limit, int) or limit < 1:
        raise InputError(f"invalid --calib-limit {limit!r}: expected a positive integer")
    if path.is_dir():
        return _images(path, spec, limit)
    if path.suffix == ".npy":
        return _tensor_file(_read_npy(path), path, spec, limit)
    if path.suffix in (".pt", ".pth"):
        return _tensor_file(_read_pt(path), path, spec, limit)
    if path.suffix in TEXT_SUFFIXES:
        return _text(path, spec, tokenizer, limit)
    raise InputError(f"--calib {path}: expected an image folder, a text file (.txt), or a .npy/.pt tensor")


# --------------------------------------------------------------------------- tensors


def _read_npy(path: Path) -> torch.Tensor:
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"--calib {path}: not a plain .npy array ({str(exc).strip()[:100]})") from None
    return torch.from_numpy(np.ascontiguousarray(array))


def _read_pt(path: Path) -> torch.Tensor:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickled code or a corrupt file is bad input
        raise InputError(f"--calib {path}: cannot read as a weights-only tensor file ({type(exc).__name__})") from None
    if not isinstance(loaded, torch.Tensor):
        raise InputError(f"--calib {path}: expected one tensor of samples, got {type(loaded).__name__}")
    return loaded


def _tensor_file(samples: torch.Tensor, path: Path, spec: ModelSpec, limit: int) -> CalibData:
    shape = sample_shape(spec)
    if takes_tokens(spec):
        if samples.is_floating_point() or samples.dim() != 2:
            raise InputError(f"--calib {path}: expected integer token ids [N, S], got {samples.dtype} {list(samples.shape)}")
        samples = samples[:limit].long()
        return CalibData(samples[:, :-1], "tensor", samples[:, 1:])
    if list(samples.shape[1:]) != shape:
        if list(samples.shape) == shape:
            samples = samples.unsqueeze(0)
        else:
            raise InputError(f"--calib {path}: samples have shape {list(samples.shape)}, the model takes [N, "
                             f"{', '.join(map(str, shape))}]")
    return CalibData(samples[:limit].to(torch.float32), "tensor")


# --------------------------------------------------------------------------- images


def _image_transform(spec: ModelSpec, shape: list[int]):
    """The model's evaluation preprocessing: torchvision's own transform for its models."""
    from torchvision.transforms import functional as tf

    from advisor.models.torchvision_zoo import torchvision_names

    height, width = shape[-2], shape[-1]
    if spec.name in torchvision_names():
        from torchvision.models import get_model_weights

        preset = get_model_weights(spec.name).DEFAULT.transforms()
        ratio = preset.resize_size[0] / preset.crop_size[0]
        transform = get_model_weights(spec.name).DEFAULT.transforms(
            crop_size=height, resize_size=int(round(height * ratio)))
        return lambda image: transform(tf.pil_to_tensor(image.convert("RGB")))

    def plain(image):
        mode = "L" if shape[0] == 1 else "RGB"
        resized = image.convert(mode).resize((width, height))
        return tf.pil_to_tensor(resized).to(torch.float32) / 255.0

    return plain


def _images(folder: Path, spec: ModelSpec, limit: int) -> CalibData:
    from PIL import Image, UnidentifiedImageError

    if takes_tokens(spec):
        raise InputError(f"--calib {folder}: a folder of images, but model {spec.name} takes token ids")
    shape = sample_shape(spec)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise InputError(f"--calib {folder}: no image files ({', '.join(IMAGE_SUFFIXES[:5])}, ...)")
    transform = _image_transform(spec, shape)
    samples = []
    for file in files:
        try:
            with Image.open(file) as image:
                samples.append(transform(image))
        except (UnidentifiedImageError, OSError):
            raise InputError(f"--calib {file}: not a readable image") from None
    return CalibData(torch.stack(samples).to(torch.float32), "images")


# --------------------------------------------------------------------------- text


def _find_tokenizer(tokenizer: Path | None, path: Path) -> Path:
    candidates = [tokenizer] if tokenizer is not None else []
    for candidate in candidates:
        candidate = Path(candidate)
        file = candidate / "tokenizer.json" if candidate.is_dir() else candidate
        if file.is_file():
            return file
        raise InputError(f"--tokenizer {candidate}: no tokenizer.json there")
    raise InputError(f"--calib {path}: text needs the model's tokenizer: pass --tokenizer DIR/tokenizer.json")


def _text(path: Path, spec: ModelSpec, tokenizer: Path | None, limit: int) -> CalibData:
    if not takes_tokens(spec):
        raise InputError(f"--calib {path}: a text file, but model {spec.name} does not take token ids")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise InputError("text calibration needs the 'tokenizers' package: pip install 'advisor[sensitivity]'") from None
    file = _find_tokenizer(tokenizer, path)
    try:
        tok = Tokenizer.from_file(str(file))
    except Exception as exc:  # noqa: BLE001 - the library raises its own exception types
        raise InputError(f"--tokenizer {file}: cannot load ({str(exc).strip()[:100]})") from None
    ids = tok.encode(path.read_text(encoding="utf-8", errors="replace")).ids
    window = sample_shape(spec)[0] + 1
    count = min(limit, len(ids) // window)
    if count < 1:
        raise InputError(f"--calib {path}: {len(ids)} tokens, fewer than one window of {window}")
    tokens = torch.tensor(ids[: count * window], dtype=torch.long).reshape(count, window)
    return CalibData(tokens[:, :-1], "tokens", tokens[:, 1:])
