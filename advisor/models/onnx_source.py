"""ONNX files as a model source: load the graph (never the tensor data), fix its dynamic
dimensions from ``--input-shape``/``--batch``, and run ONNX shape inference.

Why without torch: ONNX is what deployment tools consume, and reading a graph takes a
fraction of the time of building a torch model. Initializer shapes come from the
TensorProto dims, so a model whose weights live in external-data files (>2 GB) is read
without touching those files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.models.graph import GraphSpec
from advisor.models.shapes import format_shape, parse_shape
from advisor.models.sources import LoadPolicy, ModelSource, SourceInfo

if TYPE_CHECKING:
    from advisor.workload import Workload

#: the oldest default-domain opset whose operators the formulas follow (issue 9)
MIN_OPSET = 11

Dims = list[int | str | None]  # a graph input's dims: a value, a symbol name, or unknown


class OnnxSource(ModelSource):
    """``path/model.onnx``: the graph's own nodes are counted (advisor.profiling.onnx_graph)."""

    name = "onnx"
    example = "model.onnx"
    label = "ONNX file"
    access = "files"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        return spec.lower().endswith(".onnx")

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        return SourceInfo(source=self.name, kind="other", name=Path(spec).name)

    def build(self, workload: Workload, policy: LoadPolicy) -> GraphSpec:
        from advisor.models.builtin_sources import refuse_phase_options

        refuse_phase_options(workload, workload.model)
        return load_onnx(policy.path(workload.model), input_shape=workload.input_shape, batch=workload.batch)


def load_onnx(path: Path, *, input_shape: str | None = None, batch: int | None = None) -> GraphSpec:
    """The graph at ``path`` with concrete input shapes and inferred shapes for every tensor."""
    import onnx

    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for a non-ONNX file
        raise InputError(f"{path}: not an ONNX model ({type(exc).__name__}); export one with torch.onnx.export") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset < MIN_OPSET:
        raise InputError(f"{path}: opset {opset} is older than {MIN_OPSET}; convert it with "
                         f"onnx.version_converter.convert_version(model, {MIN_OPSET}) or re-export")
    inputs = graph_inputs(model)
    if not inputs:
        raise InputError(f"{path}: the graph has no inputs")
    shapes = fix_input_shapes(path.name, inputs, input_shape, batch)
    for value in model.graph.input:
        if value.name in shapes:
            dims = value.type.tensor_type.shape.dim
            for dim, size in zip(dims, shapes[value.name]):
                dim.Clear()
                dim.dim_value = size
    # Drop the exporter's (possibly symbolic) intermediate shapes so inference recomputes them
    # from the concrete inputs.
    del model.graph.value_info[:]
    for value in model.graph.output:
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.ClearField("shape")
    try:
        model = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - inference errors name the node that does not fit
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: the graph does not take input shapes "
                         f"{', '.join(format_shape(s) for s in shapes.values())}: {first}") from None
    from advisor.models.onnx_shapes import missing_shapes, propagate

    if missing_shapes(model):
        propagate(model)
    first_shape = next(iter(shapes.values()))
    return GraphSpec(name=path.name, path=path, model=model, input_shapes=shapes, input_shape=first_shape,
                     batch=first_shape[0] if first_shape else 1)


def graph_inputs(model: Any) -> dict[str, Dims]:
    """Graph inputs that are not initializers (old exporters list weights as inputs too)."""
    initializers = {t.name for t in model.graph.initializer}
    found: dict[str, Dims] = {}
    for value in model.graph.input:
        if value.name in initializers or not value.type.HasField("tensor_type"):
            continue
        dims: Dims = []
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value > 0:
                dims.append(int(dim.dim_value))
            else:
                dims.append(dim.dim_param or None)
        found[value.name] = dims
    return found


def _describe(dims: Dims) -> str:
    return "x".join(str(d) if d is not None else "?" for d in dims)


def fix_input_shapes(file: str, inputs: dict[str, Dims], input_shape: str | None,
                     batch: int | None) -> dict[str, list[int]]:
    """Concrete shapes for every graph input.

    ``input_shape`` gives the first input's shape ("1x3x224x224", or without the batch
    "3x224x224"), or one shape per input separated by commas. ``batch`` sets dimension 0 of
    every input whose dimension 0 is dynamic. A named dynamic dimension set on one input is
    set on every input that uses the same name. A dimension fixed in the graph cannot be
    changed (the graph may have it baked into reshapes); a dynamic one left unset is an
    error naming the input.
    """
    given = [s for s in (input_shape or "").split(",") if s.strip()]
    if len(given) > len(inputs):
        raise InputError(f"{file}: --input-shape gives {len(given)} shapes but the graph has "
                         f"{len(inputs)} input(s): {', '.join(inputs)}")
    symbols: dict[str, int] = {}
    shapes: dict[str, list[int]] = {}
    names = list(inputs)
    for index, name in enumerate(names):
        dims = inputs[name]
        wanted: list[int | None] = [None] * len(dims)
        if index < len(given):
            parsed = parse_shape(given[index])
            if len(parsed) == len(dims) - 1:
                parsed = [batch or (dims[0] if isinstance(dims[0], int) else 1), *parsed]
            if len(parsed) != len(dims):
                raise InputError(f"{file}: input '{name}' has {len(dims)} dimensions ({_describe(dims)}); "
                                 f"--input-shape {format_shape(parsed)} has {len(parsed)}")
            if batch is not None and parsed[0] != batch:
                raise InputError(f"input shape '{format_shape(parsed)}' has batch {parsed[0]} but --batch is {batch}")
            wanted = list(parsed)
        elif batch is not None and dims and not isinstance(dims[0], int):
            wanted[0] = batch
        shape: list[int] = []
        for position, (dim, want) in enumerate(zip(dims, wanted)):
            if isinstance(dim, int):
                if want is not None and want != dim:
                    raise InputError(
                        f"{file}: input '{name}' has a fixed dimension {position} of {dim} ({_describe(dims)}); "
                        f"it cannot be {want}: re-export with that dimension dynamic (dynamic_axes / dynamic_shapes)")
                if position == 0 and batch is not None and dim != batch and index >= len(given):
                    raise InputError(
                        f"{file}: input '{name}' has a fixed batch of {dim} ({_describe(dims)}); --batch {batch} "
                        "does not apply: re-export with a dynamic batch (dynamic_axes / dynamic_shapes)")
                shape.append(dim)
                continue
            if want is None and dim is not None:
                want = symbols.get(dim)
            if want is None:
                label = f"'{dim}'" if dim else f"{position}"
                raise InputError(
                    f"{file}: input '{name}' has a dynamic dimension {label} ({_describe(dims)}): set it with "
                    f"--input-shape{' (one shape per input, comma-separated)' if len(names) > 1 else ''}"
                    f"{' or --batch' if position == 0 else ''}")
            if dim is not None:
                if symbols.setdefault(dim, want) != want:
                    raise InputError(f"{file}: dimension '{dim}' is {symbols[dim]} in one input and {want} in "
                                     f"input '{name}'")
            shape.append(want)
        shapes[name] = shape
    return shapes
