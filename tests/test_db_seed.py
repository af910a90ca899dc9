"""The seed data in hardware_db/: published figures, the precision rules the predictor
relies on, a source for every number, and how seed changes reach a database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from advisor.db import Database
from advisor.db.locations import SEED_DIR
from advisor.domain.specs import PlatformSpec, compute_capability_tuple
from advisor.db.yaml_io import load_framework_file, load_platform_file
from advisor.errors import InputError
from db_samples import FRAMEWORK_IDS, PLATFORM_IDS, make_platform

PLATFORMS = {p.id: p for f in sorted((SEED_DIR / "platforms").glob("*.yaml")) for p in load_platform_file(f)}
FRAMEWORKS = {s.id: s for f in sorted((SEED_DIR / "frameworks").glob("*.yaml")) for s in load_framework_file(f)}


def test_one_file_per_id() -> None:
    for sub, ids in (("platforms", PLATFORM_IDS), ("frameworks", FRAMEWORK_IDS)):
        files = sorted((SEED_DIR / sub).glob("*.yaml"))
        assert sorted(f.stem for f in files) == sorted(ids)
        for file in files:
            loader = load_platform_file if sub == "platforms" else load_framework_file
            specs = loader(file)
            assert [s.id for s in specs] == [file.stem]


@pytest.mark.parametrize(("platform_id", "precision", "expected"), [
    ("h200", "bf16", 989.5),  # NVIDIA H200 datasheet: 1,979 with sparsity
    ("h100-sxm", "fp8", 1979),
    ("a100-sxm", "fp16", 312),  # 108 SM x 1024 FMA x 2 x 1.41 GHz = 311.9
    ("t4", "int8", 130),
    ("l4", "fp8", 242.5),  # 485 sparse
    ("l40s", "fp8", 733),  # not the 1,466 sparse figure, not the 366 some pages print
    ("mi300x", "bf16", 1307.4),  # not the 2,614.9 sparse figure
    ("jetson-agx-orin", "int8", 85.2),  # 170 sparse GPU TOPS / 2
    ("jetson-orin-nx", "int8", 30.1),  # 8 SM x 4096 ops x 0.918 GHz = 30.08
    ("rtx-4090", "fp16", 165.2),  # FP32 accumulate, the rate frameworks use
    ("xeon-8480", "bf16", 114.7),  # AMX 1024 FLOP/cycle x 56 x 2.0 GHz
])
def test_published_dense_matrix_peaks(platform_id: str, precision: str, expected: float) -> None:
    assert PLATFORMS[platform_id].matrix_peaks[precision].value == expected


def test_bandwidth_and_capacity() -> None:
    expected = {"h200": (4800, 141), "h100-sxm": (3350, 80), "a100-sxm": (2039, 80), "t4": (320, 16),
                "jetson-nano": (25.6, 4), "jetson-orin-nano": (68, 8), "raspberry-pi-5": (17.1, 8), "mi300x": (5300, 192)}
    for platform_id, (bandwidth, capacity) in expected.items():
        memory = PLATFORMS[platform_id].memory
        assert (memory.bandwidth_gbs.value, memory.capacity_gb.value) == (bandwidth, capacity)


def test_derived_vector_peaks_match_unit_counts() -> None:
    # fp32 = units x FP32 lanes x 2 (FMA) x clock; lanes per SM: Maxwell/Pascal 128, Volta 64, Ampere GA10x 128
    for platform_id, lanes in (("jetson-nano", 128), ("jetson-tx2", 128), ("jetson-agx-xavier", 64), ("jetson-orin-nano", 128)):
        p = PLATFORMS[platform_id]
        derived = p.parallelism.units * lanes * 2 * p.parallelism.clock_ghz / 1000
        assert p.vector_peaks["fp32"].value == pytest.approx(derived, rel=0.01), platform_id


def _all_peaks(p: PlatformSpec) -> dict[str, list]:
    out: dict[str, list] = {}
    for table in (p.matrix_peaks, p.vector_peaks, p.npu_peaks):
        for precision, peak in table.items():
            out.setdefault(precision, []).append(peak)
    return out


def test_precision_rules_the_predictor_relies_on() -> None:
    for p in PLATFORMS.values():
        peaks = _all_peaks(p)
        cc = compute_capability_tuple(p.compute_capability) if p.compute_capability else None
        if cc is not None:
            assert f"sm_{p.compute_capability.replace('.', '')}" in p.features
            if "fp8" in peaks:
                assert cc >= (8, 9), p.id  # FP8 from Ada/Hopper
            if "bf16" in peaks:
                assert cc >= (8, 0), p.id  # BF16 from Ampere
            if "tf32" in peaks:
                assert cc >= (8, 0), p.id
        if p.device_class == "cpu" and "fp16_arith" not in p.features:
            assert "fp16" not in peaks, p.id  # no fp16 arithmetic: no fp16 peak
        for precision, headline in p.sparse_headline.items():
            dense = max(peak.value for peak in peaks[precision])
            assert headline.value == pytest.approx(2 * dense, rel=0.03), (p.id, precision)  # vendors round (Orin Nano: 40.96 -> "40")
    for no_int8 in ("jetson-nano", "jetson-tx2"):
        assert "int8" not in _all_peaks(PLATFORMS[no_int8])
    assert set(_all_peaks(PLATFORMS["coral-edge-tpu"])) == {"int8"}


def test_every_figure_has_a_source() -> None:
    for p in PLATFORMS.values():
        for table in (p.matrix_peaks, p.vector_peaks, p.npu_peaks, p.sparse_headline):
            assert all(peak.source.strip() for peak in table.values()), p.id
        memory = p.memory
        for figure in (memory.capacity_gb, memory.bandwidth_gbs, memory.on_chip_mb, memory.host_link_gbs, p.power_w):
            assert figure is None or figure.source.strip(), p.id
        assert p.parallelism.source.strip() and p.sources, p.id
    for f in FRAMEWORKS.values():
        assert all(entry.source.strip() for entry in f.support), f.id
        for figure in (f.overhead.per_kernel_us, f.overhead.per_call_us, f.efficiency.compute, f.efficiency.bandwidth):
            assert figure.source.strip(), f.id
        assert f.fusion.source.strip() and f.sources, f.id


def test_tensorrt_support_matrix() -> None:
    trt = FRAMEWORKS["tensorrt"]
    supported = {pid for pid, p in PLATFORMS.items() if trt.support_for(p, "int8")}
    assert {"jetson-nano", "jetson-tx2", "mi300x"}.isdisjoint(supported)
    assert {"jetson-xavier-nx", "jetson-agx-orin", "t4", "a100-sxm", "h200", "rtx-3090"} <= supported
    fp8 = {pid for pid, p in PLATFORMS.items() if trt.support_for(p, "fp8")}
    assert fp8 == {"l4", "l40s", "h100-sxm", "h200", "rtx-4090"}
    assert "excluded" in trt.why_unsupported(PLATFORMS["jetson-tx2"], "int8")
    assert "5.3" in trt.why_unsupported(PLATFORMS["jetson-nano"], "int8")
    assert trt.why_unsupported(PLATFORMS["raspberry-pi-5"], "fp32").startswith("tensorrt does not run on cpu")


def test_cpu_and_npu_support() -> None:
    assert FRAMEWORKS["openvino"].support_for(PLATFORMS["xeon-8480"], "bf16")
    assert not FRAMEWORKS["openvino"].support_for(PLATFORMS["core-i9-13900k"], "bf16")
    assert FRAMEWORKS["tflite-xnnpack"].support_for(PLATFORMS["raspberry-pi-5"], "fp16")
    assert not FRAMEWORKS["tflite-xnnpack"].support_for(PLATFORMS["raspberry-pi-4"], "fp16")
    assert FRAMEWORKS["tflite-edgetpu"].support_for(PLATFORMS["coral-edge-tpu"], "int8")
    assert not FRAMEWORKS["tflite-edgetpu"].support_for(PLATFORMS["hailo-8"], "int8")
    assert not FRAMEWORKS["coreml"].support_for(PLATFORMS["apple-m1"], "int8")  # W8A8 needs A17 Pro / M4
    assert FRAMEWORKS["pytorch"].support_for(PLATFORMS["mi300x"], "bf16")  # ROCm build
    assert not FRAMEWORKS["pytorch-cudagraphs"].support_for(PLATFORMS["mi300x"], "bf16")


@pytest.mark.parametrize(("change", "needles"), [
    (lambda d: d["support"][0].update(precision="int3"), ["support.0.precision", "unknown precision 'int3'"]),
    (lambda d: d["support"][0].update(device_class="gpu"), ["support.0.device_class", "'gpu'"]),
    (lambda d: d["efficiency"]["compute"].update(value=1.7), ["efficiency", "(0, 1]", "1.7"]),
    (lambda d: d["overhead"]["per_kernel_us"].update(value=-2), ["overhead", "per_kernel_us", "-2"]),
    (lambda d: d.update(int8_calibration="sometimes"), ["int8_calibration", "'sometimes'"]),
    (lambda d: d["fusion"].pop("bn_folding"), ["fusion.bn_folding", "required"]),
    (lambda d: d.update(device_classes=["cpu"]), ["support.0.device_class", "not in device_classes"]),
    (lambda d: d["support"][0].update(min_compute_capability="eight"), ["support.0.min_compute_capability", "'eight'"]),
])
def test_bad_framework_yaml(tmp_path: Path, change, needles: list[str]) -> None:  # noqa: ANN001
    data = yaml.safe_load((SEED_DIR / "frameworks" / "tensorrt.yaml").read_text())
    change(data)
    file = tmp_path / "tensorrt.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as info:
        load_framework_file(file)
    message = str(info.value)
    assert "\n" not in message and str(file) in message
    for needle in needles:
        assert needle in message


def _platform_export(db: Database) -> list[dict]:
    return [p.model_dump(mode="json") for p in db.list_platforms()]


def test_seed_changes_reach_seed_rows_only(tmp_path: Path, isolated_db: str) -> None:
    seed = tmp_path / "hardware_db"
    shutil.copytree(SEED_DIR, seed)
    db = Database.open(isolated_db, seed_dir=seed)
    db.add_platforms([make_platform("h200", bandwidth=1.0)], replace=True)  # user row with a seed id
    db.add_platforms([make_platform("my-box")])
    db.close()

    t4 = yaml.safe_load((seed / "platforms" / "t4.yaml").read_text())
    t4["memory"]["bandwidth_gbs"]["value"] = 300.0
    (seed / "platforms" / "t4.yaml").write_text(yaml.safe_dump(t4, sort_keys=False))
    h200 = yaml.safe_load((seed / "platforms" / "h200.yaml").read_text())
    h200["name"] = "changed in the seed"
    (seed / "platforms" / "h200.yaml").write_text(yaml.safe_dump(h200, sort_keys=False))
    (seed / "platforms" / "l4.yaml").unlink()

    db = Database.open(isolated_db, seed_dir=seed)  # fingerprint changed: refresh on open
    assert db.get_platform("t4").memory.bandwidth_gbs.value == 300.0
    assert db.get_platform("h200") == make_platform("h200", bandwidth=1.0)
    assert db.get_platform("my-box") == make_platform("my-box")
    with pytest.raises(InputError):
        db.get_platform("l4")

    # A broken seed file: opening fails with one line naming it, and nothing changes.
    before = _platform_export(db)
    db.close()
    (seed / "frameworks" / "zz-broken.yaml").write_text("id: zz-broken\nname: [\n")
    with pytest.raises(InputError, match="zz-broken.yaml: invalid YAML"):
        Database.open(isolated_db, seed_dir=seed)
    db = Database.open(isolated_db, seed_dir=SEED_DIR)
    assert db.get_platform("l4")  # the real seed brings it back
    db.close()
    (seed / "frameworks" / "zz-broken.yaml").unlink()
    db = Database.open(isolated_db, seed_dir=seed)
    assert _platform_export(db) == before
    db.close()
