"""`advisor hardware ...`, `advisor frameworks ...` and `advisor db ...`.

Read commands open the store read-only (advisor.db.store.open_store: the standard-library
path for an up-to-date SQLite file) and read typed specs; writes go through a writable
store. Nothing here imports torch, and pydantic, PyYAML, SQLAlchemy are imported only by
the commands that need them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.domain.vocab import DEVICE_CLASSES
from advisor.errors import InputError, unknown_name

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from advisor.db.store import Store
    from advisor.domain.specs import Figure, FrameworkSpec, PlatformSpec

#: What the JSON and YAML printers take: JSON-shaped data.
JsonData = dict[str, object] | list[dict[str, object]]

PRECISION_COLUMNS = ("fp32", "fp16", "bf16", "fp8", "int8")
TEXT_SORTS = {"id": "id", "name": "name", "vendor": "vendor", "class": "device_class"}
NUMBER_SORTS = ("bandwidth", "memory", "power", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")


# ---------------------------------------------------------------------- output helpers
def _console() -> Console:
    from rich.console import Console

    # Wide enough that piped output is not squeezed into 80 columns.
    # markup/emoji off: names, notes and sources are user text ("[x]" or ":x:" must print as is).
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False, highlight=False, markup=False, emoji=False)


def _print_json(data: JsonData) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _print_yaml(data: JsonData) -> None:
    from advisor.db.yaml_io import dump_yaml

    sys.stdout.write(dump_yaml(data))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _sig3(value: float | None) -> str:
    from advisor.display import sig3

    return "-" if value is None else sig3(value)


def _best_peak(platform: PlatformSpec, precision: str) -> float | None:
    """The largest dense peak the device has at a precision (matrix or vector engine)."""
    values = [table[precision].value for table in (platform.matrix_peaks, platform.vector_peaks) if precision in table]  # type: ignore[index]
    return max(values) if values else None


def _full_data(spec: PlatformSpec | FrameworkSpec) -> dict[str, object]:
    """The JSON form of a spec with every field (what `list/show --format json` print)."""
    return spec.model_dump(mode="json")


def _printed_as_data(specs: list[PlatformSpec] | list[FrameworkSpec], fmt: str) -> bool:
    """`--format json/yaml` of a list command: every field of each spec. False for a table."""
    if fmt not in ("json", "yaml"):
        return False
    (_print_json if fmt == "json" else _print_yaml)([_full_data(spec) for spec in specs])
    return True


def _export_data(spec: PlatformSpec | FrameworkSpec) -> dict[str, object]:
    """The exported (YAML/JSON) form: the spec with defaults left out, as `add` reads it."""
    from advisor.db.yaml_io import spec_to_data

    return spec_to_data(spec)


@contextmanager
def _reading() -> Iterator[Store]:
    """The store, opened read-only for one command."""
    from advisor.db.store import open_store

    store = open_store(readonly=True)
    try:
        yield store
    finally:
        store.close()


# ---------------------------------------------------------------------- hardware
def _sort_platforms(platforms: list[PlatformSpec], sort: str) -> list[PlatformSpec]:
    key = sort.strip().lower()
    if key in TEXT_SORTS:
        field = TEXT_SORTS[key]
        return sorted(platforms, key=lambda p: (str(getattr(p, field)).lower(), p.id))
    if key in NUMBER_SORTS:
        def value(p: PlatformSpec) -> float | None:
            if key == "bandwidth":
                return p.memory.bandwidth_gbs.value
            if key == "memory":
                return p.memory.capacity_gb.value
            if key == "power":
                return p.power_w.value if p.power_w else None
            return _best_peak(p, key)
        # Largest first; devices without the figure last.
        return sorted(platforms, key=lambda p: (value(p) is None, -(value(p) or 0.0), p.id))
    raise unknown_name("sort key", sort, [*TEXT_SORTS, *NUMBER_SORTS])


def hardware_list(device_class: str | None = None, vendor: str | None = None, sort: str = "id", fmt: str = "table") -> None:
    """List platforms, filtered by class and vendor, sorted by a column."""
    if device_class is not None:
        wanted = device_class.strip().lower().replace("-", "_")
        if wanted not in DEVICE_CLASSES:
            raise unknown_name("device class", device_class, DEVICE_CLASSES)
        device_class = wanted
    with _reading() as store:
        platforms = store.list_platforms(device_class)
        origins = store.platform_origins() if fmt == "table" else {}
    if vendor is not None:
        platforms = [p for p in platforms if p.vendor.lower() == vendor.strip().lower()]
    platforms = _sort_platforms(platforms, sort)
    if _printed_as_data(platforms, fmt):
        return
    from advisor.display import Column, fitted_table
    from advisor.display import console as fitting_console

    columns = [Column("id"), Column("name", shrink=True, min_width=16, priority=3),
               Column("vendor", shrink=True, min_width=6, priority=4), Column("class", priority=5),
               *(Column(prec, "right", priority=2 if prec in ("bf16", "fp8") else 0) for prec in PRECISION_COLUMNS),
               Column("GB/s", "right"), Column("GB", "right"), Column("origin", priority=6)]
    rows = [[p.id, p.name, p.vendor, p.device_class, *(_sig3(_best_peak(p, prec)) for prec in PRECISION_COLUMNS),
             _sig3(p.memory.bandwidth_gbs.value), _sig3(p.memory.capacity_gb.value), origins[p.id]] for p in platforms]
    console = fitting_console()
    console.print(fitted_table(columns, rows, console.width,
                               title="Platforms (dense peaks: TFLOPS for float, TOPS for int8)"), markup=False)


def _figure_row(table: Table, label: str, figure: Figure | None) -> None:
    if figure is None:
        return
    source = figure.source + (f" ({figure.note})" if figure.note else "")
    table.add_row(label, _num(figure.value), source)


def _show_platform_table(p: PlatformSpec, origin: str) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"{p.id}: {p.name} ({p.vendor}, {p.device_class}, origin: {origin})")
    peaks = Table(title="Dense peaks (TFLOPS float / TOPS int)", title_justify="left")
    for header in ("table", "precision", "value", "engine", "source / derivation"):
        peaks.add_column(header, overflow="fold")
    for table_name, table in (("matrix", p.matrix_peaks), ("vector", p.vector_peaks), ("npu", p.npu_peaks)):
        for precision, peak in table.items():
            detail = "; ".join(x for x in (peak.source, peak.derivation, peak.note) if x)
            peaks.add_row(table_name, precision, _num(peak.value), peak.engine, detail)
    console.print(peaks)
    figures = Table(title="Memory, power, parallelism", title_justify="left")
    for header in ("figure", "value", "source"):
        figures.add_column(header, overflow="fold")
    memory = p.memory
    _figure_row(figures, "memory bandwidth (GB/s)", memory.bandwidth_gbs)
    _figure_row(figures, "memory capacity (GB)", memory.capacity_gb)
    _figure_row(figures, "on-chip memory (MB)", memory.on_chip_mb)
    _figure_row(figures, "host link (GB/s)", memory.host_link_gbs)
    _figure_row(figures, "power (W)", p.power_w)
    par = p.parallelism
    figures.add_row(f"parallel units ({par.unit_kind})", str(par.units), par.source)
    figures.add_row("clock (GHz)", _num(par.clock_ghz), par.source)
    _figure_row(figures, "sustained clock (GHz)", par.sustained_clock_ghz)
    console.print(figures)
    if p.sparse_headline:
        console.print("sparse headline (reference only, never used): " + ", ".join(f"{k} {_num(v.value)}" for k, v in p.sparse_headline.items()))
    if p.compute_capability:
        console.print(f"compute capability: {p.compute_capability}")
    console.print("features: " + (", ".join(p.features) or "-"))
    if memory.type:
        console.print(f"memory type: {memory.type}")
    if p.notes:
        console.print(f"notes: {p.notes}")
    for source in p.sources:
        console.print(f"source: {source}", highlight=False)


def hardware_show(platform_id: str, fmt: str = "table") -> None:
    """One platform with the source of every figure."""
    with _reading() as store:
        platform = store.get_platform(platform_id)
        origin = store.platform_origins()[platform.id] if fmt == "table" else ""
    if fmt == "json":
        _print_json(_full_data(platform))
    elif fmt == "yaml":
        _print_yaml(_export_data(platform))
    else:
        _show_platform_table(platform, origin)


def hardware_export(platform_id: str | None = None, fmt: str = "yaml") -> None:
    """YAML (or JSON) that `advisor hardware add` accepts: one mapping for an id, a list
    for all platforms."""
    if platform_id is None and fmt == "table":
        hardware_list(fmt="table")
        return
    with _reading() as store:
        platforms = [store.get_platform(platform_id)] if platform_id is not None else store.list_platforms()
        origin = store.platform_origins()[platforms[0].id] if platform_id is not None and fmt == "table" else ""
    data: JsonData
    if platform_id is not None:
        if fmt == "table":
            _show_platform_table(platforms[0], origin)
            return
        data = _export_data(platforms[0])
    else:
        data = [_export_data(p) for p in platforms]
    if fmt == "json":
        _print_json(data)
    else:
        _print_yaml(data)


def hardware_add(files: list[Path], replace: bool = False) -> None:
    """Validate every file, then add all their platforms in one transaction."""
    from advisor.db.store import DuplicateIdError, open_store
    from advisor.db.yaml_io import load_platform_file

    specs = []
    origin_file: dict[str, Path] = {}
    for file in files:
        for spec in load_platform_file(Path(file)):
            if spec.id in origin_file:
                raise InputError(f"{file}: field id: platform id '{spec.id}' is also given in {origin_file[spec.id]}")
            origin_file[spec.id] = Path(file)
            specs.append(spec)
    store = open_store()
    try:
        store.add_platforms(specs, replace=replace)
    except DuplicateIdError as exc:
        raise InputError(f"{origin_file[exc.spec_id]}: field id: {exc}") from None
    finally:
        store.close()
    verb = "added or replaced" if replace else "added"
    print(f"{verb} {len(specs)} platform(s): {', '.join(s.id for s in specs)}")


def hardware_remove(platform_id: str) -> None:
    from advisor.db.store import open_store

    store = open_store()
    try:
        store.remove_platform(platform_id)
    finally:
        store.close()
    print(f"removed platform {platform_id}")


# ---------------------------------------------------------------------- frameworks
def _precisions(framework: FrameworkSpec) -> list[str]:
    from advisor.precision import SCHEMES

    have = {entry.precision for entry in framework.support}
    return [s for s in SCHEMES if s in have]


def frameworks_list(fmt: str = "table") -> None:
    with _reading() as store:
        frameworks = store.list_frameworks()
    if _printed_as_data(frameworks, fmt):
        return
    from rich.table import Table

    table = Table(title="Inference frameworks", title_justify="left")
    for header in ("id", "name", "device classes", "precisions", "int8 calib.", "fusion", "us/kernel", "us/call", "eff. compute", "eff. bw"):
        table.add_column(header, no_wrap=header not in ("name", "device classes"))
    for f in frameworks:
        fusion = f.fusion
        traits = [name for name, flag in (("bn", fusion.bn_folding), ("epilogue", fusion.epilogue_fusion),
                                          ("eltwise", fusion.elementwise_fusion), ("attn", fusion.attention_fusion)) if flag]
        table.add_row(
            f.id, f.name, ", ".join(f.device_classes), " ".join(_precisions(f)), f.int8_calibration,
            ",".join(traits) or "-", _num(f.overhead.per_kernel_us.value), _num(f.overhead.per_call_us.value),
            _num(f.efficiency.compute.value), _num(f.efficiency.bandwidth.value),
        )
    _console().print(table)


def frameworks_show(framework_id: str, fmt: str = "table") -> None:
    with _reading() as store:
        f = store.get_framework(framework_id)
        origin = store.framework_origins()[f.id] if fmt == "table" else ""
    if fmt == "json":
        _print_json(_full_data(f))
        return
    if fmt == "yaml":
        _print_yaml(_export_data(f))
        return
    from rich.table import Table

    console = _console()
    console.print(f"{f.id}: {f.name} (runs on {', '.join(f.device_classes)}; int8 calibration: {f.int8_calibration}; origin: {origin})")
    support = Table(title="Precision support (alternatives listed separately; conditions are all-of)", title_justify="left")
    for header in ("class", "precision", "min CC", "requires", "excluded", "note", "source"):
        support.add_column(header, overflow="fold")
    for e in f.support:
        support.add_row(e.device_class, e.precision, e.min_compute_capability or "-",
                        ", ".join(e.requires_features) or "-", ", ".join(e.excluded_platforms) or "-",
                        e.note or "", e.source)
    console.print(support)
    figures = Table(title="Overheads and efficiency", title_justify="left")
    for header in ("figure", "value", "source"):
        figures.add_column(header, overflow="fold")
    _figure_row(figures, "per-kernel overhead (us)", f.overhead.per_kernel_us)
    _figure_row(figures, "per-call overhead (us)", f.overhead.per_call_us)
    _figure_row(figures, "compute efficiency", f.efficiency.compute)
    _figure_row(figures, "bandwidth efficiency", f.efficiency.bandwidth)
    console.print(figures)
    if f.overhead.enqueue is not None:
        console.print(f"kernel launches: enqueued one by one from the host at run time ({f.overhead.enqueue})")
    fusion = f.fusion
    console.print(f"fusion: bn_folding={fusion.bn_folding} epilogue={fusion.epilogue_fusion} "
                  f"elementwise={fusion.elementwise_fusion} attention={fusion.attention_fusion} ({fusion.source})")
    for trait, what in (("fused_qkv", "q, k and v projections run as one GEMM"),
                        ("attention_prologue_fusion", "rotary embedding and cache writes run inside attention"),
                        ("fused_norm", "each normalisation module is one kernel")):
        origin = getattr(fusion, trait)
        if origin is not None:
            console.print(f"fusion: {what} ({origin})", highlight=False)
    if fusion.note:
        console.print(f"fusion note: {fusion.note}")
    if f.notes:
        console.print(f"notes: {f.notes}")
    for source in f.sources:
        console.print(f"source: {source}", highlight=False)


# ---------------------------------------------------------------------- db
def db_upgrade() -> None:
    """Migrate to head and re-apply the seed; user rows are kept."""
    from advisor.db.database import Database

    db = Database.open(migrate_schema=False)
    try:
        before = db.revision()
        db.upgrade()
        print(f"{db.location}: revision {before or '(empty)'} -> {db.revision()}; "
              f"seed refreshed ({len(db.platform_ids())} platforms, {len(db.framework_ids())} frameworks)")
    finally:
        db.close()


def db_path() -> None:
    """Where the database is (the file for SQLite, else the URL with the password hidden)."""
    from advisor.db.locations import display_location, resolve_url

    print(display_location(resolve_url()))
