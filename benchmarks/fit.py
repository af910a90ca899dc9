"""Fit per-(device class, framework, precision family) latency corrections on published measurements.

    python benchmarks/fit.py          # writes configs/fitted.yaml and prints the figures

Rows come from benchmarks/data/published.yaml (every row cites its source). Each row is
predicted by the roofline model from the database seed (hardware_db/) with no calibration;
the fit is a multiplier on that prediction (measured / predicted, in log space), shrunk down
the hierarchy all -> device class -> framework -> precision family
(advisor.predict.corrections.fit_corrections). A multiplier m on a compute-bound group is the
framework's efficiency divided by m; on an overhead-bound group, its overheads times m.

The structural choices, the group centre (mean or median of the log ratios) and the prior
strength k (how many rows a group needs to weigh as much as its parent; k = inf is "no
correction"), are chosen by leave-one-source-out error on the rows being fitted only (never
on a held-out source), with the one-standard-error rule towards the most shrunk structure:
`choose_structure`. Each fitted figure lists the rows it came from.
benchmarks/accuracy.py scores the fit by leave-one-source-out cross-validation.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.db.yaml_io import load_framework_file, load_platform_file  # noqa: E402
from advisor.domain.specs import FrameworkSpec, Peak, PlatformSpec  # noqa: E402
from advisor.domain.workload_kinds import WorkloadKind, workload_kind  # noqa: E402
from advisor.predict.constants import PredictorConstants, predictor_constants  # noqa: E402
from advisor.predict.corrections import (  # noqa: E402
    DEFAULT_PRIOR,
    WILDCARD,
    Corrections,
    Sample,
    correction_key,
    fit_corrections,
    precision_family,
)
from advisor.predict.engine import predict  # noqa: E402
from advisor.predict.platform_corrections import NO_PLATFORM_CORRECTIONS, PlatformCorrectionTable, PlatformFit  # noqa: E402
from advisor.profiling.types import Category, OpRecord, Profile  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "published.yaml"
QUANTIZATION = ROOT / "configs" / "quantization.yaml"
QUANTIZATION_ENV = "ADVISOR_QUANTIZATION_CONFIG"
FITTED = ROOT / "configs" / "fitted.yaml"
PLATFORM_CORRECTIONS = ROOT / "configs" / "platform_corrections.yaml"
#: source resamples for the standard error of a choice's criterion (the fit structure's here; the
#: constants' and the interval rule's in benchmarks.accuracy; fixed seed: the reports are reproducible)
BOOTSTRAP_DRAWS = 200
BOOTSTRAP_SEED = 20261201
#: prior strengths tried by choose_prior (rows a group needs to weigh as much as its parent)
PRIOR_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: the global constants of configs/predictor.yaml whose origin is "fit": each is chosen from its
#: grid (the reasoned range written next to it there) on published rows. benchmarks/accuracy.py
#: chooses them again for every held-out source on the other sources only.
SEARCHED_CONSTANTS: dict[str, tuple[float, ...]] = {
    "gpu.k_half": (128.0, 256.0, 512.0, 1024.0),
    "host.slowdown.edge_gpu_soc": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
    "host.enqueue_kernel_us": (2.5, 5.0, 7.5, 10.0, 15.0),
}
#: each searched constant's value reasoned before any published row was scored (the comment next
#: to it in configs/predictor.yaml): the search leaves it there unless the rows show a gain
#: larger than their noise (benchmarks.accuracy.choose_constants, one-standard-error rule).
#: k_half: the geometric middle of the reasoned range 64-1024; edge host slowdown: a Jetson
#: core has about a third of a desktop core's single-thread speed; enqueue cost: one launch from
#: compiled C, 4.90 us measured (JuliaGPU/CUDAdrv.jl#15).
REASONED_CONSTANTS: dict[str, float] = {
    "gpu.k_half": 256.0,
    "host.slowdown.edge_gpu_soc": 3.0,
    "host.enqueue_kernel_us": 5.0,
}


def constant_value(c: PredictorConstants, name: str) -> float:
    """The value of a dotted constant name (``gpu.k_half``, ``host.slowdown.edge_gpu_soc``)."""
    node: Any = c.model_dump()
    for part in name.split("."):
        node = node[part]
    return float(node)


def with_constants(c: PredictorConstants, values: dict[str, float]) -> PredictorConstants:
    """``c`` with the dotted-name constants in ``values`` replaced."""
    data = c.model_dump()
    for name, value in values.items():
        *path, leaf = name.split(".")
        node = data
        for part in path:
            node = node[part]
        node[leaf] = value
    return PredictorConstants.model_validate(data)


@dataclass
class RowPrediction:
    """One published row against the uncorrected roofline prediction."""

    row: dict[str, Any]
    device_class: str
    predicted_ms: float  # latency per call (kernel time for kernel_ms rows)
    measured_ms: float
    bound: str
    kernels: int = 0  # the predictor's kernels after fusion
    flops: float = 0.0  # the profile's FLOPs

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def source(self) -> str:
        return self.row["source_id"]

    @property
    def family(self) -> str:
        return precision_family(self.row["precision"])

    def sample(self) -> Sample:
        """A kernel timing (one GEMM's kernel time, no launch or host cost) is not the latency a
        platform's figure corrects: it takes no part in the per-platform fit."""
        platform = () if self.row.get("metric") == "kernel_ms" else (self.row["platform"], self.workload, model_name(self.row))
        return Sample(self.id, self.measured_ms, self.predicted_ms,
                      (self.device_class, self.row["framework"], self.family), platform, workload=self.workload)

    @property
    def workload(self) -> WorkloadKind:
        """A whole network, or an LLM's prefill or decode: the per-platform fit's groups."""
        return workload_kind(self.row.get("phase"))


def model_name(row: dict[str, Any]) -> str:
    """A published row's model: its zoo name, or "GEMM MxNxK" for a row that timed one GEMM."""
    model = row["model"]
    return model if isinstance(model, str) else "GEMM " + "x".join(map(str, model["gemm"]))


def load_specs(variants: dict[str, Any], fw_variants: dict[str, Any] | None = None
               ) -> tuple[dict[str, PlatformSpec], dict[str, FrameworkSpec]]:
    """The seed's platforms and frameworks plus the variants published.yaml declares."""
    platforms = {p.id: p for f in sorted((ROOT / "hardware_db" / "platforms").glob("*.yaml")) for p in load_platform_file(f)}
    frameworks = {p.id: p for f in sorted((ROOT / "hardware_db" / "frameworks").glob("*.yaml")) for p in load_framework_file(f)}
    for vid, v in variants.items():
        base = platforms[v["base"]]
        src = v["source"]
        data = base.model_dump()
        data.update(id=vid, name=f"{base.name} ({vid})", sparse_headline={})
        if "clock_ghz" in v:
            data["parallelism"]["clock_ghz"] = v["clock_ghz"]
        for key, engine in (("matrix_peaks", "tensor"), ("vector_peaks", "vector")):
            for prec, value in v.get(key, {}).items():
                data[key][prec] = Peak(value=value, engine=engine, source=src).model_dump()
        if "bandwidth_gbs" in v:
            data["memory"]["bandwidth_gbs"] = {"value": v["bandwidth_gbs"], "source": src}
        if "capacity_gb" in v:
            data["memory"]["capacity_gb"] = {"value": v["capacity_gb"], "source": src}
        platforms[vid] = PlatformSpec.model_validate(data)
    for vid, v in (fw_variants or {}).items():
        data = frameworks[v["base"]].model_dump()
        data["id"], data["name"] = vid, f"{data['name']} ({vid})"
        if "per_kernel_from" in v:
            data["overhead"]["per_kernel_us"] = frameworks[v["per_kernel_from"]].overhead.per_kernel_us.model_dump()
        if "per_call_us" in v:
            data["overhead"]["per_call_us"] = {"value": v["per_call_us"], "source": v["source"]}
        if v.get("graph_replay"):
            data["overhead"]["enqueue"] = None  # kernels replayed from a CUDA graph, not enqueued
        data["fusion"].update(v.get("fusion", {}))  # traits of that build (each variant cites its source)
        frameworks[vid] = FrameworkSpec.model_validate(data)
    return platforms, frameworks


def gemm_profile(m: int, n: int, k: int) -> Profile:
    """A one-kernel profile for rows that measured a single GEMM."""
    op = OpRecord(
        op="aten.mm", category=Category.matmul, module_path="gemm", module_type="Linear",
        flops=2 * m * n * k, macs=m * n * k, weight_elems=n * k, input_elems=m * k, output_elems=m * n,
        output_shape=[m, n], parallel_work=m * n, gemm_mnk=(m, n, k),
    )
    return Profile(model=f"gemm {m}x{n}x{k}", input_shape=[m, k], params=n * k, ops=[op])


def profile_for(row: dict[str, Any], cache_dir: Path) -> Profile:
    """The row's profile, counted on meta tensors once and cached under cache_dir."""
    model = row["model"]
    if isinstance(model, dict):
        return gemm_profile(*model["gemm"])
    from advisor.workload import Workload

    workload = Workload(model=model, batch=row.get("batch"), phase=row.get("phase"), seq_len=row.get("seq_len"),
                        context=row.get("context"))
    path = cache_dir / (workload.profile_cache_key().replace("/", "_") + ".json")
    if path.exists():
        return Profile.model_validate_json(path.read_text())
    from advisor.profiling.api import count_workload

    prof = count_workload(workload)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.model_dump_json())
    return prof


def measured_latency_ms(row: dict[str, Any], profile: Profile) -> float:
    """Latency per call of a row (throughput rows converted: batch / items per s)."""
    metric, measured = row["metric"], float(row["measured"])
    if metric in ("latency_ms", "kernel_ms"):
        return measured
    if metric in ("tokens_per_s", "items_per_s"):
        items = profile.batch * (profile.seq_len or 1 if profile.phase == "prefill" else 1)  # prefill: every prompt token
        return items / measured * 1e3
    raise ValueError(f"row {row['id']}: unknown metric {metric}")


@contextmanager
def checkpoint_layout(row: dict[str, Any]) -> Iterator[None]:
    """The row's weight layout (``layout:``: group size, scale and zero-point widths of the
    measured checkpoint) in force while it is predicted, the way a user passes one: a
    quantization config through $ADVISOR_QUANTIZATION_CONFIG (docs/predictor.md)."""
    layout = row.get("layout")
    if not layout:
        yield
        return
    config = yaml.safe_load(QUANTIZATION.read_text())
    config["schemes"][row["precision"]] = layout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "quantization.yaml"
        path.write_text(yaml.safe_dump(config))
        before = os.environ.get(QUANTIZATION_ENV)
        os.environ[QUANTIZATION_ENV] = str(path)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(QUANTIZATION_ENV, None)
            else:
                os.environ[QUANTIZATION_ENV] = before


@dataclass(frozen=True)
class PublishedRows:
    """published.yaml with every row's profile, platform and framework resolved: what the
    predictions need apart from the constants, loaded once when many sets of constants are
    tried (benchmarks.accuracy.nested_constants predicts every row for each grid combination)."""

    data: dict[str, Any]
    profiles: list[Profile]
    platforms: dict[str, PlatformSpec]
    frameworks: dict[str, FrameworkSpec]


def load_published_rows() -> PublishedRows:
    from platformdirs import user_cache_dir

    data = yaml.safe_load(DATA.read_text())
    platforms, frameworks = load_specs(data.get("platform_variants", {}), data.get("framework_variants", {}))
    cache = Path(user_cache_dir("advisor")) / "accuracy-profiles"
    return PublishedRows(data, [profile_for(row, cache) for row in data["rows"]], platforms, frameworks)


def predict_rows(constants: PredictorConstants | None = None, published: PublishedRows | None = None
                 ) -> tuple[list[RowPrediction], dict[str, Any]]:
    """Every row of published.yaml predicted without calibration or correction."""
    published = published or load_published_rows()
    c = constants or predictor_constants()
    out = []
    for row, prof in zip(published.data["rows"], published.profiles):
        platform = published.platforms[row["platform"]]
        # the build the row measured (a declared variant), else the seed's framework
        framework = published.frameworks[row.get("framework_build", row["framework"])]
        with checkpoint_layout(row):
            pred = predict(prof, platform, framework, row["precision"], constants=c,
                           platform_corrections=NO_PLATFORM_CORRECTIONS)
        if row["metric"] == "kernel_ms":
            predicted, bound = pred.layers[0].time_ms, pred.layers[0].bound
        else:
            predicted, bound = pred.latency_ms, pred.bound
        out.append(RowPrediction(row, platform.device_class, predicted, measured_latency_ms(row, prof), bound,
                                 len(pred.layers), prof.flops))
    return out, published.data


@dataclass(frozen=True)
class FittedStructure:
    """Class corrections (device class -> framework -> precision family) and, on what they
    leave, the per-platform `advisor fit` of the published rows (advisor.predict.platform_corrections)."""

    classes: Corrections
    platforms: PlatformCorrectionTable

    def multiplier(self, sample: Sample) -> float:
        published = self.platforms.multiplier(*sample.platform_model[:2]) if sample.platform_model else 1.0
        return self.classes.multiplier(sample.path) * published


@dataclass(frozen=True)
class Structure:
    """How the class corrections are fitted: the estimator and the prior strength (inf: no
    correction). The per-platform fit on top is not a choice: `advisor fit`'s fixed procedure."""

    estimator: str
    prior: float

    def fit(self, samples: list[Sample], source_of: dict[str, str] | None = None) -> FittedStructure:
        """``source_of`` names each sample's source in the per-platform figures' provenance."""
        classes = fit_corrections(samples, self.prior, self.estimator)
        return FittedStructure(classes, fit_platforms(samples, classes, source_of or {}))

    def __str__(self) -> str:
        return "no correction" if math.isinf(self.prior) else f"{self.estimator}, k = {self.prior:g}"


def fit_platforms(samples: Sequence[Sample], classes: Corrections, source_of: dict[str, str]) -> PlatformCorrectionTable:
    """`advisor fit` (advisor.measure.fitting.fit_measurements) on the rows of each platform and
    workload kind, predicted with the class corrections, as one group (every framework and
    precision: one multiplier, the device's bias): kept where its leave-one-model-out error beats
    no fit, as `advisor fit` stores a user's fit only then; groups with rows of one model cannot be
    scored."""
    from advisor.measure.fitting import fit_measurements

    groups: dict[tuple[str, str], list[Sample]] = {}
    for s in samples:
        if s.platform_model:
            groups.setdefault(s.platform_model[:2], []).append(s)
    fits = []
    for (platform, kind), group in sorted(groups.items()):
        models = {s.platform_model[2] for s in group}
        if len(models) < 2:
            continue
        fit_samples = [Sample(f"{s.platform_model[2]}|{s.id}", s.measured_ms, s.predicted_ms * classes.multiplier(s.path), (),
                              workload=kind) for s in group]
        fit = fit_measurements(fit_samples, f"published {kind} rows on {platform}")
        if fit.improves:
            multiplier = fit.corrections[correction_key(WILDCARD, WILDCARD, kind)]
            fits.append(PlatformFit(platform=platform, workload=kind, multiplier=multiplier, rows=len(group),
                                    models=len(models),
                                    sources=sorted({source_of.get(s.id, s.id) for s in group}),
                                    error_before=round(fit.before, 4), error_after=round(fit.after, 4),
                                    row_ids=[s.id for s in group]))
    return PlatformCorrectionTable(fits=fits)


#: the structures choose_structure tries: group centre (mean or median of log ratios) x prior
STRUCTURES: tuple[Structure, ...] = (
    Structure("mean", math.inf),
    *(Structure(est, k) for est in ("mean", "median") for k in PRIOR_GRID),
)


def loso_predictions(samples: list[Sample], source_of: dict[str, str], structure: Structure) -> dict[str, float]:
    """Corrected prediction of every sample from a fit on the other sources only."""
    out: dict[str, float] = {}
    for src in sorted({source_of[s.id] for s in samples}):
        fitted = structure.fit([s for s in samples if source_of[s.id] != src])
        for s in samples:
            if source_of[s.id] == src:
                out[s.id] = s.predicted_ms * fitted.multiplier(s)
    return out


Candidate = TypeVar("Candidate")


def one_standard_error_choice(
    candidates: Sequence[Candidate], criterion: Callable[[Candidate, Sequence[str]], float], sources: Sequence[str],
    preference: Callable[[Candidate], Any], draws: int = BOOTSTRAP_DRAWS,
    best_tie: Callable[[Candidate], Any] | None = None,
) -> Candidate:
    """The one-standard-error rule (Hastie, Tibshirani & Friedman, The Elements of Statistical
    Learning, 2nd ed., section 7.10) that chooses the fit structure here and the constants and
    interval rules in benchmarks.accuracy: ``criterion(candidate, sources)`` is lower for better;
    its standard error at the best candidate (ties: ``best_tie``, else ``preference``) comes from
    ``draws`` resamples of whole sources (rows of one source share its bias; fixed seed); of the
    candidates within one standard error of the best, the first by ``preference`` is taken."""
    score = {c: criterion(c, sources) for c in candidates}
    tie = best_tie or preference
    best = min(candidates, key=lambda c: (score[c], tie(c)))
    rng = random.Random(BOOTSTRAP_SEED)
    se = (statistics.pstdev(criterion(best, rng.choices(sources, k=len(sources))) for _ in range(draws))
          if len(sources) > 1 else 0.0)
    return min((c for c in candidates if score[c] <= score[best] + se), key=preference)


def choose_structure(samples: list[Sample], source_of: dict[str, str], draws: int = BOOTSTRAP_DRAWS) -> Structure:
    """The structure for these samples (the caller passes only the rows it may fit on), by the
    one-standard-error rule the constants and interval rules are chosen by (benchmarks.accuracy):
    the criterion is the leave-one-source-out median |log error|; its standard error at the best
    structure comes from resampling whole sources; of the structures within one standard error of
    the best, the most shrunk one is taken (no correction first, then the largest prior; mean
    before median). A plain argmin let a criterion that Jetson rows dominate pick class
    corrections that then reached classes whose few other rows contradict each other (the
    datacenter TensorRT rows of manning and embedl-l4, docs/predictor.md section 10)."""
    sources = sorted({source_of[s.id] for s in samples})
    if len(sources) < 2:
        return Structure("median", DEFAULT_PRIOR)
    logs: dict[Structure, dict[str, float]] = {}
    for st in STRUCTURES:
        held = loso_predictions(samples, source_of, st)
        logs[st] = {s.id: abs(math.log(held[s.id] / s.measured_ms)) for s in samples}
    by_source: dict[str, list[str]] = {}
    for s in samples:
        by_source.setdefault(source_of[s.id], []).append(s.id)

    def criterion(st: Structure, drawn: Sequence[str]) -> float:
        return statistics.median(logs[st][rid] for src in drawn for rid in by_source[src])

    return one_standard_error_choice(STRUCTURES, criterion, sources, lambda st: (-st.prior, st.estimator != "mean"),
                                     draws, best_tie=STRUCTURES.index)


def platform_corrections_yaml(table: PlatformCorrectionTable, n_rows: int) -> str:
    """configs/platform_corrections.yaml: the per-platform figures the predictor applies."""
    header = (
        "# Generated by `python benchmarks/fit.py` from benchmarks/data/published.yaml; do not edit by hand.\n"
        "# Per platform and workload kind (network: a whole network, no phase; prefill or decode of an LLM;\n"
        "# rows that timed one GEMM kernel take no part):\n"
        "# `advisor fit` (advisor.measure.fitting, fixed structure) on those published rows as one group, predicted\n"
        "# with the class corrections of configs/fitted.yaml: one multiplier for every framework and precision of\n"
        "# that kind, kept only where its leave-one-model-out median |error| (error_before -> error_after) beats\n"
        "# no fit; groups whose rows hold one model are not scored. row_ids: the rows it came from.\n"
        f"# {n_rows} rows. advisor.predict.platform_corrections applies the figures to datasheet predictions;\n"
        "# docs/accuracy.md scores them held out by source (each row with the fit of the other sources' rows).\n"
    )
    return header + yaml.safe_dump(table.model_dump(), sort_keys=False, width=100)


def fitted_yaml(corrections: Corrections, n_rows: int) -> str:
    figures = []
    for path, fig in sorted(corrections.figures.items(), key=lambda kv: (len(kv[0]), kv[0])):
        level = ("device_class", "framework", "precision_family")
        entry: dict[str, Any] = {name: value for name, value in zip(level, path)}
        entry.update(multiplier=round(fig.multiplier, 4), n=fig.n, rows=list(fig.rows))
        figures.append(entry)
    header = (
        "# Generated by `python benchmarks/fit.py` from benchmarks/data/published.yaml; do not edit by hand.\n"
        "# multiplier = fitted measured / predicted latency of the roofline model (hardware_db seed, no\n"
        "# calibration), shrunk towards its parent (all -> device class -> framework -> precision family)\n"
        f"# ({corrections.estimator} of the group's log ratios, prior strength k = {corrections.prior:g}: chosen by\n"
        "# leave-one-source-out error on these rows; k = inf means no correction).\n"
        f"# {n_rows} rows; `rows` lists the rows each figure came from. Scores: docs/accuracy.md.\n"
    )
    prior = corrections.prior if math.isfinite(corrections.prior) else "inf"
    body = {"estimator": corrections.estimator, "prior": prior, "figures": figures}
    return header + yaml.safe_dump(body, sort_keys=False, width=100)


@dataclass(frozen=True)
class HalfFit:
    """`advisor fit` on one half of a validation data file, scored on the other half."""

    split: str
    fit_on: str
    accepted: bool  # advisor fit's own check: leave-one-model-out error on the half it fits
    own_before: float
    own_after: float
    other_before: float  # median |error| of the other half without corrections
    other_after: float  # ... with the corrections fitted on this half


def validation_halves(path: Path, calibrated: bool = True) -> list[HalfFit]:
    """Every way of halving the CPU validation measurements that was looked at, both ways round:
    by model (sorted names, alternating), by row (alternating in file order), by batch.
    ``calibrated`` False: the predictions come from the device's datasheet figures alone (the
    few-shot case: measurements, but no `advisor calibrate` run on the device)."""
    from advisor.measure.fitting import ESTIMATOR, PRIOR, fit_measurements, validation_samples

    samples, rows = validation_samples(path, calibrated)
    models = sorted({r["model"] for r in rows})
    halves = {
        "by model": [(f"models {', '.join(models[i::2])}", [r["model"] in models[i::2] for r in rows]) for i in (0, 1)],
        "by row": [(f"{'even' if i == 0 else 'odd'} rows", [j % 2 == i for j in range(len(rows))]) for i in (0, 1)],
        "by batch": [(f"batch {b}", [r["batch"] == b for r in rows]) for b in sorted({r["batch"] for r in rows})],
    }
    out = []
    for split, options in halves.items():
        for name, mask in options:
            mine = [s for s, m in zip(samples, mask) if m]
            other = [s for s, m in zip(samples, mask) if not m]
            result = fit_measurements(mine, name)
            fitted = fit_corrections(mine, PRIOR, ESTIMATOR)
            err = lambda ss, f: statistics.median(abs(s.predicted_ms * f(s) / s.measured_ms - 1) for s in ss)  # noqa: E731
            out.append(HalfFit(split, name, result.improves, result.before, result.after,
                               err(other, lambda s: 1.0), err(other, lambda s: fitted.multiplier(s.path))))
    return out


def halves_markdown(halves: list[HalfFit], uncalibrated: list[HalfFit] | None = None) -> list[str]:
    """The docs/validation.md section on `advisor fit` (benchmarks/validation.py report): on a
    device with no calibration (the few-shot case) when ``uncalibrated`` is given, then on top of
    `advisor calibrate`."""
    lines = [
        "## `advisor fit` on half of the measurements, scored on the other half",
        "",
        "`advisor fit` (advisor.measure.fitting: framework x precision-family multipliers, median of log ratios,",
        "prior strength 2, fixed in advance) fitted on one half of the rows above and applied to the other half.",
        "\"accepted\": advisor fit's own check on the half it fits (leave-one-model-out error must improve, else",
        "it refuses). Every halving that was looked at is listed, both ways round.",
        "",
    ]
    if uncalibrated:
        lines += [
            "### Few-shot: a device with measurements but no calibration",
            "",
            "The same measurements predicted from this CPU's datasheet figures alone (the platform record the",
            "calibration was taken on, without its calibration records), as for a device nobody has run",
            "`advisor calibrate` on: `advisor fit` learns that device's framework x precision corrections.",
            "",
            *_halves_table(uncalibrated),
            "",
            "### On top of `advisor calibrate`",
            "",
        ]
    lines += _halves_table(halves)
    return lines + [""]


def _halves_table(halves: list[HalfFit]) -> list[str]:
    lines = [
        "| split | fitted on | advisor fit | its own LOMO error | other half: error before | after |",
        "|---|---|---|---:|---:|---:|",
    ]
    for h in halves:
        verdict = "accepted" if h.accepted else "refused"
        lines.append(f"| {h.split} | {h.fit_on} | {verdict} | {h.own_before:.1%} -> {h.own_after:.1%} "
                     f"| {h.other_before:.1%} | {h.other_after:.1%} |")
    better = sum(h.other_after < h.other_before for h in halves)
    agree = sum(h.accepted == (h.other_after < h.other_before) for h in halves)
    accepted = [h for h in halves if h.accepted]
    lines += ["", f"The other half's error improved in {better} of {len(halves)} cases; advisor fit's own accept/refuse",
              f"check agreed with what happened on the other half in {agree} of {len(halves)}."]
    if accepted:
        before = statistics.median(h.other_before for h in accepted)
        after = statistics.median(h.other_after for h in accepted)
        lines += [f"Over the {len(accepted)} fits advisor fit accepts (the ones a user would store), the other half's",
                  f"median error goes from {before:.1%} to {after:.1%}, improving in "
                  f"{sum(h.other_after < h.other_before for h in accepted)} of {len(accepted)} "
                  "(tests/test_validation_halves_ort_int8.py checks this on the stored measurements)."]
    if better < len(halves):
        lines += ["Per framework x precision corrections fitted on some models do not always carry over to others:",
                  "the goal \"advisor fit on half improves the other half\" is not met for every halving."]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=FITTED)
    ap.add_argument("--platform-out", type=Path, default=PLATFORM_CORRECTIONS)
    args = ap.parse_args(argv)
    preds, _ = predict_rows()
    samples = [p.sample() for p in preds]
    source_of = {p.id: p.source for p in preds}
    structure = choose_structure(samples, source_of)
    fitted = structure.fit(samples, source_of)
    corrections = fitted.classes
    args.out.write_text(fitted_yaml(corrections, len(samples)))
    args.platform_out.write_text(platform_corrections_yaml(fitted.platforms, len(samples)))
    for path, fig in sorted(corrections.figures.items(), key=lambda kv: (len(kv[0]), kv[0])):
        print(f"{'/'.join(path) or '(all)':48} x{fig.multiplier:6.3g}  n={fig.n}")
    for fit in fitted.platforms.fits:
        print(f"{fit.platform + ' (' + fit.workload + ')':48} x{fit.multiplier:6.3g}  n={fit.rows}  leave-one-model-out "
              f"{fit.error_before:.1%} -> {fit.error_after:.1%}  ({', '.join(fit.sources)})")
    print(f"{structure}; wrote {args.out} and {args.platform_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
