"""One sensitivity analysis from its options: the entry point the CLI and the service share.

The caller builds the model spec (it decides which model sources are allowed) and resolves the
weights and calibration paths (the service keeps them inside its models directory); this module
loads the weights, gathers calibration samples, runs the passes and assembles the report.
Pricing the suggestion on a target device is left to the caller (it needs the store).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from advisor.errors import InputError
from advisor.models.spec import ModelSpec
from advisor.sensitivity.analysis import Analyzer, Tracker, no_progress
from advisor.sensitivity.calib import CalibData, load_calib, random_calib
from advisor.sensitivity.datafree import analyse_checkpoint
from advisor.sensitivity.files import WeightFiles, as_weight_files
from advisor.sensitivity.report import LOW_RISK_SQNR_DB, SensitivityReport, predicted_error_key
from advisor.sensitivity.schemes import DEFAULT_GROUP_SIZE, DEFAULT_SCHEMES, parse_schemes
from advisor.sensitivity.weights import load_weights_into

Method = Literal["local", "e2e", "data-free"]
METHODS: tuple[str, ...] = ("local", "e2e", "data-free")


@dataclass
class SensitivityOptions:
    """What to measure: schemes, method, calibration source and the target of the suggestion."""

    schemes: str = ",".join(DEFAULT_SCHEMES)
    method: str = "local"
    calib: Path | None = None
    calib_random: int | None = None
    calib_limit: int = 64
    tokenizer: Path | None = None
    group_size: int = DEFAULT_GROUP_SIZE
    batch_size: int = 8
    target_sqnr_db: float | None = None
    target_top1: float | None = None
    suggest_scheme: str | None = None

    def check(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown --method '{self.method}': expected {', '.join(METHODS)}")
        if self.target_sqnr_db is not None and self.target_top1 is not None:
            raise InputError("give one of --target-sqnr-db / --target-top1, not both")
        if self.target_top1 is not None and not 0.0 < self.target_top1 <= 1.0:
            raise InputError(f"invalid --target-top1 {self.target_top1}: expected a fraction in (0, 1]")
        if self.batch_size < 1:
            raise InputError(f"invalid --batch-size {self.batch_size}: expected a positive integer")
        if self.method != "data-free" and (self.calib is None) == (self.calib_random is None):
            raise InputError("give calibration inputs: --calib DIR|FILE or --calib-random N (one of them)")
        names = [s.name for s in parse_schemes(self.schemes, group_size=self.group_size)]
        if self.suggest_scheme is not None and self.suggest_scheme not in names:
            raise InputError(f"--suggest-scheme {self.suggest_scheme} is not among --schemes {self.schemes}")


def analyse_data_free(weights: Path | WeightFiles, options: SensitivityOptions, *, model: str = "",
                      track: Tracker = no_progress) -> SensitivityReport:
    """Weight SQNR per tensor, streamed from safetensors: no model, no inputs."""
    options.check()
    schemes = parse_schemes(options.schemes, group_size=options.group_size)
    return analyse_checkpoint(as_weight_files(weights), schemes, model=model, track=track)


def _calibration(spec: ModelSpec, module, options: SensitivityOptions) -> CalibData:
    if options.calib_random is not None:
        return random_calib(spec, module, options.calib_random)
    return load_calib(Path(options.calib), spec, tokenizer=options.tokenizer, limit=options.calib_limit)


def analyse_model(spec: ModelSpec, weights: Path | WeightFiles, options: SensitivityOptions, *,
                  track: Tracker = no_progress) -> SensitivityReport:
    """Whole-model error per scheme, per-layer sensitivity and the mixed-precision suggestion."""
    options.check()
    schemes = parse_schemes(options.schemes, group_size=options.group_size)
    model = load_weights_into(spec.module, as_weight_files(weights))
    calib = _calibration(spec, model, options)
    analyzer = Analyzer(model, calib, batch_size=options.batch_size, track=track)
    if not analyzer.layers:
        raise InputError(f"model {spec.name}: no Linear or Conv layers to quantize")
    results = [analyzer.whole_model(scheme) for scheme in schemes]
    layers = (analyzer.e2e_sensitivity(schemes) if options.method == "e2e"
              else analyzer.local_sensitivity(schemes))
    by_name = {s.name: s for s in schemes}
    if options.suggest_scheme is not None:
        if options.suggest_scheme not in by_name:
            raise InputError(f"--suggest-scheme {options.suggest_scheme} is not among --schemes {options.schemes}")
        worst = by_name[options.suggest_scheme]
    else:
        worst = by_name[max(results, key=predicted_error_key).scheme]
    target_sqnr = options.target_sqnr_db
    if target_sqnr is None and options.target_top1 is None:
        target_sqnr = LOW_RISK_SQNR_DB
    suggestion = analyzer.suggest_mixed_precision(worst, layers, target_sqnr_db=target_sqnr,
                                                  target_top1=options.target_top1)
    warnings = [calib.warning] if calib.warning else []
    return SensitivityReport(model=spec.name, method=options.method, calib=calib.kind, samples=len(calib),
                             schemes=results, layers=layers, suggestion=suggestion,
                             target=suggestion.target, warnings=warnings)
