"""What this CPU is: model name, vendor, cores, clock and ISA features.

Read from /proc/cpuinfo (and /sys where the kernel exposes a max clock) so that
`advisor calibrate` can name the `local` platform and derive datasheet-like peaks as
cores x clock x FLOPs per cycle. No torch import: this is plain file parsing.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

#: Feature names advisor stores for a CPU platform, and the /proc/cpuinfo flags behind each.
#: "amx" stands for the AMX tile unit (amx_tile) with its bf16/int8 matrix instructions.
FEATURE_FLAGS: dict[str, tuple[str, ...]] = {
    "fma": ("fma",),
    "avx2": ("avx2",),
    "avx512f": ("avx512f",),
    "avx512_vnni": ("avx512_vnni",),
    "avx_vnni": ("avx_vnni",),
    "avx512_bf16": ("avx512_bf16",),
    "avx512_fp16": ("avx512_fp16",),
    "amx": ("amx_tile",),
    "amx_bf16": ("amx_bf16",),
    "amx_int8": ("amx_int8",),
    "neon": ("asimd", "neon"),
    "neon_dotprod": ("asimddp",),
}

_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "0x41": "Arm"}


@dataclass(frozen=True)
class CpuInfo:
    """The facts about this CPU that the platform record and the peak derivation need."""

    model_name: str
    vendor: str
    logical_cpus: int
    clock_ghz: float | None  # max (or nominal) clock; None when the kernel does not say
    clock_source: str
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def features(self) -> list[str]:
        """advisor feature names present on this CPU, in a stable order."""
        return [name for name, flags in FEATURE_FLAGS.items() if any(f in self.flags for f in flags)]

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def native_bf16(self) -> bool:
        """bf16 arithmetic in hardware (AVX512-BF16 dot products or AMX-BF16 tiles)."""
        return self.has("avx512_bf16") or self.has("amx_bf16")

    @property
    def native_int8(self) -> bool:
        """int8 dot-product instructions (VNNI or AMX-INT8) that make w8a8 faster than fp32."""
        return self.has("avx512_vnni") or self.has("avx_vnni") or self.has("amx_int8") or self.has("neon_dotprod")


def _parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as key -> value."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _max_clock_ghz(fields: dict[str, str]) -> tuple[float | None, str]:
    """Prefer the kernel's cpufreq maximum; fall back to the 'cpu MHz' that cpuinfo reports
    (on virtual machines this is the nominal TSC clock, not the turbo clock)."""
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        return int(max_freq.read_text().strip()) / 1e6, str(max_freq)
    except (OSError, ValueError):
        pass
    mhz = fields.get("cpu MHz")
    if mhz:
        try:
            return float(mhz) / 1000.0, "/proc/cpuinfo 'cpu MHz' (nominal clock)"
        except ValueError:
            pass
    return None, "unknown"


def private_cache_kib(level: int = 2, sysfs_cpu: str | Path = "/sys/devices/system/cpu/cpu0") -> int | None:
    """Size of cpu0's cache at ``level`` when no other logical CPU shares it (a core's
    private L2), from sysfs; None when sysfs does not say or the cache is shared."""
    for index in sorted(Path(sysfs_cpu, "cache").glob("index*")):
        try:
            if int((index / "level").read_text()) != level or (index / "type").read_text().strip() == "Instruction":
                continue
            shared = (index / "shared_cpu_list").read_text().strip()
            size = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        if shared not in ("0", ""):
            return None  # shared with hyper-threads or other cores: not private
        scale = {"K": 1, "M": 1024}.get(size[-1:], None)
        try:
            return int(size[:-1]) * scale if scale else int(size) // 1024
        except ValueError:
            return None
    return None


def detect_cpu(cpuinfo_path: str | Path = "/proc/cpuinfo") -> CpuInfo:
    """Read this machine's CPU facts; works (with fewer facts) where /proc/cpuinfo is missing."""
    try:
        fields = _parse_cpuinfo(Path(cpuinfo_path).read_text())
    except OSError:
        fields = {}
    model = fields.get("model name") or fields.get("Model") or platform.processor() or "unknown CPU"
    vendor_id = fields.get("vendor_id") or fields.get("CPU implementer", "")
    flags = frozenset((fields.get("flags") or fields.get("Features") or "").split())
    clock, clock_source = _max_clock_ghz(fields)
    return CpuInfo(
        model_name=model,
        vendor=_VENDORS.get(vendor_id, vendor_id or "unknown"),
        logical_cpus=os.cpu_count() or 1,
        clock_ghz=clock,
        clock_source=clock_source,
        flags=flags,
    )


@dataclass(frozen=True)
class DerivedPeak:
    """A peak computed as cores x clock x operations per cycle, with the arithmetic spelled out."""

    tflops: float
    engine: str  # "vector" (SIMD FMA units) or "tensor" (AMX tiles)
    derivation: str


def derived_peaks(cpu: CpuInfo, cores: int) -> dict[str, DerivedPeak]:
    """Datasheet-style dense peaks per precision from the ISA.

    FLOPs per cycle per core assume two FMA pipes (true for server Xeons with AVX-512 and
    for recent desktop cores with AVX2; an assumption advisor cannot detect, so the
    derivation says so). AMX: one TMUL per core doing a 16x32 by 32x16 bf16 tile product
    (8192 MACs) every 16 cycles = 1024 bf16 FLOPs/cycle, twice that for int8 (Intel
    Architecture Instruction Set Extensions Programming Reference, ch. 3).
    """
    if not cpu.clock_ghz:
        return {}
    ghz = cpu.clock_ghz
    peaks: dict[str, DerivedPeak] = {}

    def add(precision: str, per_cycle: int, engine: str, why: str) -> None:
        value = cores * ghz * per_cycle / 1e3
        peaks[precision] = DerivedPeak(
            value, engine, f"{cores} cores x {ghz:.2f} GHz x {per_cycle} {why} = {value:.3f} T/s"
        )

    if cpu.has("avx512f"):
        add("fp32", 64, "vector", "FLOP/cycle (2 AVX-512 FMA pipes x 16 fp32 lanes x 2, assumed 2 pipes)")
    elif cpu.has("avx2") and cpu.has("fma"):
        add("fp32", 32, "vector", "FLOP/cycle (2 AVX2 FMA pipes x 8 fp32 lanes x 2, assumed 2 pipes)")
    if cpu.has("amx_bf16"):
        add("bf16", 1024, "tensor", "FLOP/cycle (AMX-BF16 TMUL: 16x16x32 MACs per 16 cycles x 2)")
    elif cpu.has("avx512_bf16"):
        add("bf16", 128, "vector", "FLOP/cycle (2 pipes x VDPBF16PS 32 bf16 pairs x 2)")
    if cpu.has("amx_int8"):
        add("int8", 2048, "tensor", "OP/cycle (AMX-INT8 TMUL: 16x16x64 MACs per 16 cycles x 2)")
    elif cpu.has("avx512_vnni"):
        add("int8", 256, "vector", "OP/cycle (2 pipes x VPDPBUSD 64 u8s8 MACs x 2)")
    elif cpu.has("avx_vnni"):
        add("int8", 128, "vector", "OP/cycle (2 pipes x 256-bit VPDPBUSD 32 MACs x 2)")
    return peaks
