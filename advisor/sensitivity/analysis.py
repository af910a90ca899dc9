"""Measuring quantization error on a model with real weights and calibration inputs.

Every measurement compares a quantized forward with the fp32 one on the same calibration samples,
so it needs no labels:

- ``calibrate``: one fp32 pass that records each layer's input range (for activation schemes)
  and the model's reference outputs.
- ``local_sensitivity``: one more pass; a forward hook on every Linear/Conv layer recomputes that
  layer's output with its weight (and, for activation schemes, its input) quantized and accumulates
  the noise against the fp32 output. Cheap (one model pass), blind to how errors grow downstream.
- ``e2e_sensitivity``: each layer quantized alone, the whole model run, output compared.
  Layers x schemes passes: exact about propagation, slow on big models.
- ``whole_model``: every layer quantized with one scheme: output SQNR, cosine, top-1 agreement
  (classifiers) and perplexity change (language models, on the calibration text).
- ``suggest_mixed_precision``: the smallest prefix of the most sensitive layers to keep at 16 bits
  so the whole model meets a target, found by bisection over measured whole-model errors.

The model is never modified: quantized weights go in through ``torch.func.functional_call`` and
input quantization through forward pre-hooks that are removed afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn
from torch.func import functional_call

from advisor.sensitivity.calib import CalibData
from advisor.sensitivity.report import LayerResult, SchemeResult, Suggestion
from advisor.sensitivity.schemes import ActivationRange, QuantScheme, sqnr_db

T = TypeVar("T")
Tracker = Callable[[Iterable[T], str, int], Iterable[T]]
QUANTIZABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
KEEP_16BIT = "fp16"
#: Quantized weights are cached up to this many elements (2 GB as fp32), then recomputed per batch:
#: a 7 B model would otherwise hold one fp32 copy per scheme.
WEIGHT_CACHE_ELEMENTS = 1 << 29
#: Reference outputs above this many elements (1 GB as fp32; LM logits grow with vocab x tokens)
#: are kept in fp16, whose rounding (about 70 dB SQNR) is far below any scheme's error.
REFERENCE_FP32_ELEMENTS = 1 << 28


def no_progress(items: Iterable[T], description: str, total: int) -> Iterable[T]:
    return items


def quantizable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The matmul-class layers a scheme quantizes (Linear, Conv), by qualified name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, QUANTIZABLE)}


def _tensors(output: Any) -> list[torch.Tensor]:
    """The floating tensors in a model output (tensor, tuple/list, dict), in order."""
    if isinstance(output, torch.Tensor):
        return [output.detach().float()] if output.is_floating_point() else []
    if isinstance(output, dict):
        return [t for v in output.values() for t in _tensors(v)]
    if isinstance(output, (tuple, list)):
        return [t for v in output for t in _tensors(v)]
    return []


@dataclass
class Reference:
    """The fp32 run: model outputs per batch and each layer's observed input range."""

    outputs: list[list[torch.Tensor]]
    ranges: dict[str, ActivationRange]


@dataclass
class OutputError:
    sqnr_db: float
    cosine: float
    top1_agreement: float | None
    perplexity_delta: float | None


class Analyzer:
    """Holds a model with real weights, its layers, calibration data and the fp32 reference."""

    def __init__(self, model: nn.Module, calib: CalibData, *, batch_size: int = 8,
                 track: Tracker = no_progress):
        self.model = model.eval()
        self.calib = calib
        self.batch_size = batch_size
        self.track = track
        self.layers = quantizable_layers(model)
        self._weights: dict[tuple[str, str], torch.Tensor] = {}
        self._cached_elements = 0
        self.reference = self._calibrate()

    # ------------------------------------------------------------------ passes

    def _batches(self, description: str) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        total = math.ceil(len(self.calib) / self.batch_size)
        yield from self.track(self.calib.batches(self.batch_size), description, total)

    def _calibrate(self) -> Reference:
        ranges: dict[str, ActivationRange] = {}

        def observe(name: str):
            def hook(_module, inputs):
                x = inputs[0].detach()
                low, high = float(x.min()), float(x.max())
                ranges[name] = ranges[name].merged(low, high) if name in ranges else ActivationRange(low, high)
            return hook

        handles = [m.register_forward_pre_hook(observe(n)) for n, m in self.layers.items()]
        outputs: list[list[torch.Tensor]] = []
        batches = math.ceil(len(self.calib) / self.batch_size)
        try:
            with torch.no_grad():
                for inputs, _ in self._batches("fp32 reference and ranges"):
                    args, kwargs = self.calib.slot.call_args(inputs)
                    batch = _tensors(self.model(*args, **kwargs))
                    if sum(t.numel() for t in batch) * batches > REFERENCE_FP32_ELEMENTS:
                        batch = [t.half() for t in batch]
                    outputs.append(batch)
        finally:
            for handle in handles:
                handle.remove()
        return Reference(outputs, ranges)

    def plan(self, scheme: QuantScheme, keep_16bit: Iterable[str] = ()) -> dict[str, QuantScheme | None]:
        """Every layer quantized with ``scheme`` except ``keep_16bit`` (kept at fp16)."""
        keep = set(keep_16bit)
        return {name: (None if name in keep else scheme) for name in self.layers}

    def quantized_weight(self, layer: str, scheme: QuantScheme | None) -> torch.Tensor:
        """The layer's weight after ``scheme`` (None: rounded to fp16, the 16-bit fallback), cached."""
        key = (layer, scheme.name if scheme else KEEP_16BIT)
        if key in self._weights:
            return self._weights[key]
        weight = self.layers[layer].weight.detach()
        quantized = scheme.quantize_weight(weight) if scheme else weight.half().float()
        if self._cached_elements + quantized.numel() <= WEIGHT_CACHE_ELEMENTS:
            self._weights[key] = quantized
            self._cached_elements += quantized.numel()
        return quantized

    @contextmanager
    def _input_quantization(self, plan: dict[str, QuantScheme | None]) -> Iterator[None]:
        def quantize(scheme: QuantScheme, observed: ActivationRange):
            def hook(_module, inputs):
                return (scheme.quantize_input(inputs[0], observed), *inputs[1:])
            return hook

        handles = [self.layers[name].register_forward_pre_hook(quantize(s, self.reference.ranges[name]))
                   for name, s in plan.items() if s is not None and s.activation is not None]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def run_quantized(self, plan: dict[str, QuantScheme | None], description: str) -> list[list[torch.Tensor]]:
        """Model outputs on the calibration set with each layer in ``plan`` quantized by its scheme
        (None = kept at fp16)."""
        return [_tensors(self.forward_quantized(plan, inputs)) for inputs, _ in self._batches(description)]

    def forward_quantized(self, plan: dict[str, QuantScheme | None], inputs: torch.Tensor) -> Any:
        """One forward on ``inputs`` with ``plan`` applied (activation ranges from calibration)."""
        overrides = {f"{name}.weight": self.quantized_weight(name, s) for name, s in plan.items()}
        args, kwargs = self.calib.slot.call_args(inputs)
        with torch.no_grad(), self._input_quantization(plan):
            # tie_weights=False: a head tied to the embedding is quantized as a matmul, the lookup is not
            return functional_call(self.model, overrides, args, kwargs, tie_weights=False)

    # ------------------------------------------------------------------ metrics

    def compare(self, outputs: list[list[torch.Tensor]]) -> OutputError:
        """Quantized outputs against the fp32 reference over the whole calibration set."""
        signal = noise = dot = q_power = 0.0
        agree = count = 0
        nll_ref = nll_q = 0.0
        tokens = 0
        classifier = self._is_classifier()
        targets = [t for _, t in self.calib.batches(self.batch_size)]
        for ref_batch, q_batch, target in zip(self.reference.outputs, outputs, targets):
            ref_batch = [t.float() for t in ref_batch]
            for ref, q in zip(ref_batch, q_batch):
                signal += ref.pow(2).sum().item()
                noise += (q - ref).pow(2).sum().item()
                dot += (q * ref).sum().item()
                q_power += q.pow(2).sum().item()
            ref, q = ref_batch[0], q_batch[0]
            if classifier:
                agree += int((ref.argmax(-1) == q.argmax(-1)).sum())
                count += ref.shape[0]
            if target is not None and ref.dim() == 3:
                aligned = target[:, -ref.shape[1]:]
                nll_ref += _nll(ref, aligned)
                nll_q += _nll(q, aligned)
                tokens += aligned.numel()
        cosine = dot / math.sqrt(signal * q_power) if signal > 0 and q_power > 0 else 1.0
        ppl_delta = math.exp(nll_q / tokens) - math.exp(nll_ref / tokens) if tokens else None
        return OutputError(sqnr_db(signal, noise), cosine, agree / count if count else None, ppl_delta)

    def _is_classifier(self) -> bool:
        first = self.reference.outputs[0][0] if self.reference.outputs and self.reference.outputs[0] else None
        return first is not None and first.dim() == 2 and first.shape[1] > 1

    # ------------------------------------------------------------------ analyses

    def whole_model(self, scheme: QuantScheme) -> SchemeResult:
        outputs = self.run_quantized(self.plan(scheme), f"whole model {scheme.name}")
        error = self.compare(outputs)
        return SchemeResult(scheme.name, _finite(error.sqnr_db), round(error.cosine, 6),
                            error.top1_agreement, error.perplexity_delta, scheme.bits)

    def local_sensitivity(self, schemes: list[QuantScheme]) -> list[LayerResult]:
        """Each layer's own output SQNR with that layer quantized, all layers and schemes in one pass."""
        power: dict[tuple[str, str], list[float]] = {(n, s.name): [0.0, 0.0] for n in self.layers for s in schemes}

        def measure(name: str, module: nn.Module):
            def hook(_module, inputs, output):
                reference = output.detach()
                signal = reference.pow(2).sum().item()
                for scheme in schemes:
                    x = scheme.quantize_input(inputs[0], self.reference.ranges[name])
                    weight = self.quantized_weight(name, scheme)
                    quantized = _layer_forward(module, x, weight)
                    acc = power[(name, scheme.name)]
                    acc[0] += signal
                    acc[1] += (quantized - reference).pow(2).sum().item()
            return hook

        handles = [m.register_forward_hook(measure(n, m)) for n, m in self.layers.items()]
        try:
            with torch.no_grad():
                for inputs, _ in self._batches("per-layer local SQNR"):
                    args, kwargs = self.calib.slot.call_args(inputs)
                    self.model(*args, **kwargs)
        finally:
            for handle in handles:
                handle.remove()
        results = [self._layer(name, scheme, sqnr_db(*power[(name, scheme)]))
                   for name in self.layers for scheme in (s.name for s in schemes)]
        return _most_sensitive_first(results)

    def e2e_sensitivity(self, schemes: list[QuantScheme]) -> list[LayerResult]:
        """The model's output SQNR with each layer alone quantized (layers x schemes passes)."""
        results = []
        pairs = [(name, scheme) for scheme in schemes for name in self.layers]
        for name, scheme in self.track(pairs, "per-layer end to end", len(pairs)):
            outputs = [_tensors(self.forward_quantized({name: scheme}, inputs))
                       for inputs, _ in self.calib.batches(self.batch_size)]
            results.append(self._layer(name, scheme.name, self.compare(outputs).sqnr_db))
        return _most_sensitive_first(results)

    def _layer(self, name: str, scheme: str, value: float) -> LayerResult:
        module = self.layers[name]
        return LayerResult(name, scheme, _finite(value), type(module).__name__, int(module.weight.numel()))

    def suggest_mixed_precision(self, scheme: QuantScheme, layers: list[LayerResult], *,
                                target_sqnr_db: float | None = None,
                                target_top1: float | None = None) -> Suggestion:
        """Keep the k most sensitive layers (by ``layers``' ranking for ``scheme``) at 16 bits, with
        the smallest k whose measured whole-model error meets the target (bisection on k)."""
        if (target_sqnr_db is None) == (target_top1 is None):
            raise ValueError("give exactly one of target_sqnr_db / target_top1")
        ranked = [r.name for r in layers if r.scheme == scheme.name]
        ranked += [n for n in self.layers if n not in ranked]
        measured: dict[int, OutputError] = {}

        def error_with(k: int) -> OutputError:
            if k not in measured:
                plan = self.plan(scheme, ranked[:k])
                measured[k] = self.compare(self.run_quantized(plan, f"{scheme.name} keeping {k} at 16 bits"))
            return measured[k]

        def meets(error: OutputError) -> bool:
            if target_sqnr_db is not None:
                return error.sqnr_db >= target_sqnr_db
            return error.top1_agreement is None or error.top1_agreement >= target_top1

        low, high = 0, len(ranked)
        if not meets(error_with(high)):
            best = high  # even all layers at 16 bits misses the target: say so
        elif meets(error_with(low)):
            best = low
        else:
            while high - low > 1:  # invariant: low misses, high meets
                middle = (low + high) // 2
                low, high = (low, middle) if meets(error_with(middle)) else (middle, high)
            best = high
        chosen, baseline = error_with(best), error_with(0)
        target = (f"output_sqnr_db >= {target_sqnr_db:g}" if target_sqnr_db is not None
                  else f"top1_agreement >= {target_top1:g}")
        return Suggestion(scheme.name, ranked[:best], _finite(chosen.sqnr_db), chosen.top1_agreement,
                          _finite(baseline.sqnr_db), baseline.top1_agreement, target, meets(chosen))


def _layer_forward(module: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The layer's computation with another weight, without calling the module (whose hooks
    would fire again)."""
    if isinstance(module, nn.Linear):
        return torch.nn.functional.linear(x, weight, module.bias)
    return module._conv_forward(x, weight, module.bias)  # ConvNd's own padding-mode-aware path


def _nll(logits: torch.Tensor, targets: torch.Tensor) -> float:
    flat = logits.reshape(-1, logits.shape[-1])
    return float(torch.nn.functional.cross_entropy(flat, targets.reshape(-1), reduction="sum"))


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 4)


def _most_sensitive_first(results: list[LayerResult]) -> list[LayerResult]:
    return sorted(results, key=lambda r: math.inf if r.sqnr_db is None else r.sqnr_db)
