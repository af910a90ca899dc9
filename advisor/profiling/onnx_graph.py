"""Count an ONNX graph node by node: the same Profile as the torch counter, without torch.

Why a second counter: an ONNX file already is the graph a deployment runtime executes, with
every shape known after shape inference, so reading it is faster and closer to what runs than
rebuilding a torch model. Formulas live in ``onnx_formulas`` (docs/counting.md conventions).

Roles: a tensor is a weight when it is constant: an initializer, a Constant node, or the
output of a node whose data inputs are all constant (a DequantizeLinear or Transpose of a
weight, which runtimes fold at load time; such nodes are recorded as free views). Shape
computations (Shape, Size and what they feed) are constant too. Parameters are the elements
of float initializers and of quantized weights, excluding batch-norm statistics, scalars and
quantization scales/zero points, as torch counts ``parameters()``.

The per-layer tree comes from node names: the dynamo exporter's ``pkg.torch.onnx.name_scopes``
metadata, else TorchScript-style names ``/layer1/layer1.0/conv1/Conv``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from advisor import __version__
from advisor.models.graph import GraphSpec
from advisor.profiling.onnx_formulas import MissingShape, NodeView, formula_for, numel
from advisor.profiling.types import Category, ModuleInfo, OpRecord, Profile, UnsupportedOp

#: ONNX TensorProto element types -> (bytes per element, precision name)
_ELEM_TYPES: dict[int, tuple[float, str]] = {
    1: (4, "fp32"), 2: (1, "uint8"), 3: (1, "int8"), 4: (2, "uint16"), 5: (2, "int16"), 6: (4, "int32"),
    7: (8, "int64"), 9: (1, "bool"), 10: (2, "fp16"), 11: (8, "fp64"), 12: (4, "uint32"), 13: (8, "uint64"),
    16: (2, "bf16"), 17: (1, "fp8"), 18: (1, "fp8"), 19: (1, "fp8"), 20: (1, "fp8"), 21: (0.5, "uint4"),
    22: (0.5, "int4"), 23: (0.5, "fp4"),
}
_FLOAT_TYPES = {1, 10, 11, 16}
_INT8_TYPES = {2, 3}
_INT4_TYPES = {21, 22, 23}
_FP8_TYPES = {17, 18, 19, 20}

#: operators of the QOperator format (quantized kernels with their own scales)
QOPERATOR_OPS = frozenset({
    "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "QGemm", "QLinearAdd", "QLinearMul",
    "QLinearSigmoid", "QLinearLeakyRelu", "QLinearGlobalAveragePool", "QLinearConcat", "QLinearAveragePool",
    "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits",
})
_MATMUL_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
#: inputs that are quantization parameters, not weights (scale, zero point) per op
_QUANT_PARAM_INPUTS: dict[str, frozenset[int]] = {
    "QuantizeLinear": frozenset({1, 2}), "DequantizeLinear": frozenset({1, 2}),
    "QLinearConv": frozenset({1, 2, 4, 5, 6, 7}), "QLinearMatMul": frozenset({1, 2, 4, 5, 6, 7}),
    "MatMulInteger": frozenset({2, 3}), "ConvInteger": frozenset({2, 3}),
    "QGemm": frozenset({1, 2, 4, 5, 7, 8}), "MatMulNBits": frozenset({2, 3, 4}),
    "BatchNormalization": frozenset({3, 4}),  # running mean and variance: buffers, not parameters
}
_SHAPE_OPS = frozenset({"Shape", "Size"})
#: quantized-kernel operators (activations quantized) and the input index of their weight
_QUANTIZED_WEIGHT_INPUT: dict[str, int] = {
    "QLinearConv": 3, "QLinearMatMul": 3, "QGemm": 3, "ConvInteger": 1, "MatMulInteger": 1,
    "DynamicQuantizeMatMul": 1, "MatMulIntegerToFloat": 1,
}
#: inputs holding quantized values whose int32 form still counts as parameters
_QUANTIZED_BIAS_INPUT: dict[str, int] = {"DequantizeLinear": 0, "QLinearConv": 8, "QGemm": 6}
_TYPE_INT8, _TYPE_INT32, _TYPE_INT4 = 3, 6, 22  # TensorProto.INT8, INT32, INT4


@dataclass
class _Tensors:
    """Shapes, element types and constness of every named tensor in the graph."""

    shapes: dict[str, list[int] | None] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    constant: set[str] = field(default_factory=set)
    #: the element type of the initializer a constant tensor derives from (its stored width)
    stored_type: dict[str, int] = field(default_factory=dict)
    #: constants read as quantized values (DequantizeLinear inputs, QLinearConv/QGemm int32 biases)
    dequantized: set[str] = field(default_factory=set)

    def add(self, value_info: Any) -> None:
        t = value_info.type
        if not t.HasField("tensor_type"):
            return
        self.types[value_info.name] = t.tensor_type.elem_type
        if not t.tensor_type.HasField("shape"):
            self.shapes.setdefault(value_info.name, None)
            return
        dims = [int(d.dim_value) if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim]
        self.shapes[value_info.name] = None if any(d is None for d in dims) else dims


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    values: dict[str, Any] = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        values[attr.name] = value.decode() if isinstance(value, bytes) else value
    return values


def _module_of(node: Any) -> tuple[str, list[tuple[str, str]]]:
    """(module path, [(path, class name)] of the path and its ancestors where known)."""
    meta = {p.key: p.value for p in node.metadata_props}
    scopes_text = meta.get("pkg.torch.onnx.name_scopes")
    if scopes_text:
        try:
            scopes = ast.literal_eval(scopes_text)
            classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            scopes, classes = [], []
        paths = [s for s in scopes[:-1]]  # the last scope is the op itself
        types = [c.rsplit(".", 1)[-1] for c in classes[:-1]]
        tree = list(zip(paths, types)) if len(types) == len(paths) else [(p, "") for p in paths]
        return (paths[-1] if paths else ""), tree
    name = node.name or ""
    if not name.startswith("/"):
        return "", []
    path = ""
    tree: list[tuple[str, str]] = []
    for part in name.strip("/").split("/")[:-1]:
        path = part if (not path or part.startswith(path + ".")) else f"{path}.{part}"
        tree.append((path, ""))
    return path, tree


def _op_name(node: Any) -> str:
    return f"{node.domain}.{node.op_type}" if node.domain not in ("", "ai.onnx") else f"onnx.{node.op_type}"


def _constant_tensor(node: Any) -> tuple[list[int], int] | None:
    """Shape and element type of a Constant node's value (None for non-tensor values)."""
    for attr in node.attribute:
        if attr.name == "value" and attr.HasField("t"):
            return list(attr.t.dims), attr.t.data_type
        if attr.name in ("value_float", "value_int"):
            return [], 1 if attr.name == "value_float" else 7
        if attr.name in ("value_floats", "value_ints"):
            return [len(attr.floats) or len(attr.ints)], 1 if attr.name == "value_floats" else 7
    return None


def _collect(model: Any) -> _Tensors:
    tensors = _Tensors()
    graph = model.graph
    for value in (*graph.input, *graph.value_info, *graph.output):
        tensors.add(value)
    for init in graph.initializer:
        tensors.shapes[init.name] = list(init.dims)
        tensors.types[init.name] = init.data_type
        tensors.constant.add(init.name)
        tensors.stored_type[init.name] = init.data_type
    for node in graph.node:
        bias = _QUANTIZED_BIAS_INPUT.get(node.op_type)
        if bias is not None and len(node.input) > bias and node.input[bias]:
            tensors.dequantized.add(node.input[bias])
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            found = _constant_tensor(node)
            if found is not None:
                tensors.shapes[node.output[0]], tensors.types[node.output[0]] = found
                tensors.stored_type[node.output[0]] = found[1]
            tensors.constant.add(node.output[0])
    return tensors


@dataclass
class _Params:
    """Parameters by the tensors that hold them, attributed to the module of their first use."""

    owner: dict[str, str] = field(default_factory=dict)  # tensor -> module path
    elems: dict[str, int] = field(default_factory=dict)


def _weight_leaf(name: str, producers: dict[str, Any], tensors: _Tensors) -> str | None:
    """The initializer (or Constant) a constant tensor derives from through folded nodes
    (DequantizeLinear, Transpose, Reshape, Cast, Identity): where its parameters live.
    An Identity of an initializer is a leaf of its own: the TorchScript exporter shares one
    initializer between equal parameters (e.g. zero biases) through Identity nodes."""
    seen = 0
    while name in producers and seen < 16:
        node = producers[name]
        if node.op_type == "Constant" or node.op_type == "Identity":
            return name
        data = [i for i in node.input if i and i in tensors.constant]
        if not data:
            return None
        name = data[0]
        seen += 1
    return name


def count_graph(spec: GraphSpec) -> Profile:
    """The Profile of an ONNX graph whose shapes have been inferred (``load_onnx``)."""
    model = spec.model
    tensors = _collect(model)
    producers = {out: node for node in model.graph.node for out in node.output if out}
    records: list[OpRecord] = []
    unsupported: dict[str, tuple[int, list[str]]] = {}
    modules: dict[str, str] = {}
    module_order: list[str] = []
    module_calls: dict[str, int] = defaultdict(int)
    module_shapes: dict[str, list[int]] = {}
    params = _Params()
    quantized = _quantization(model, tensors)

    def note_module(tree: list[tuple[str, str]], path: str, op_type: str) -> None:
        for p, t in [("", ""), *tree]:
            if p not in modules:
                modules[p] = t
                module_order.append(p)
            elif t and not modules[p]:
                modules[p] = t
        if not modules.get(path):
            modules[path] = op_type

    qdq_pairs = _qdq_pairs(model)
    for node in model.graph.node:
        path, tree = _module_of(node)
        owner = _weight_owner(node, producers, tensors)
        if owner is not None and owner != path:
            # an exporter that folded batch norm names the fused conv after the norm's scope;
            # its weight still carries the conv's parameter name
            path, tree = owner, _ancestors(owner)
        note_module(tree, path, node.op_type)
        inputs = list(node.input)
        present = [i for i in inputs if i]
        if node.op_type in _SHAPE_OPS or (node.op_type == "Constant") or (
            present and all(i in tensors.constant for i in present)
        ):
            # folded when the runtime loads the graph (constant subgraphs, shape arithmetic)
            for out in node.output:
                if out:
                    tensors.constant.add(out)
                    leaf = _weight_leaf(out, producers, tensors)
                    if leaf is not None and leaf in tensors.stored_type:
                        tensors.stored_type[out] = tensors.stored_type[leaf]
            if node.op_type != "Constant":
                records.append(OpRecord(op=_op_name(node), category=Category.view, module_path=path,
                                        module_type=modules.get(path, "")))
            continue
        if id(node) in qdq_pairs:
            records.append(OpRecord(op=_op_name(node), category=Category.view, module_path=path,
                                    module_type=modules.get(path, "")))
            continue
        formula = formula_for(node.domain, node.op_type)
        view = NodeView(
            op_type=node.op_type, attrs=_attrs(node),
            inputs=[tensors.shapes.get(i) if i else None for i in inputs],
            outputs=[tensors.shapes.get(o) if o else None for o in node.output],
        )
        reason = None
        if formula is None:
            reason = _op_name(node)
        else:
            try:
                cost = formula(view)
            except (MissingShape, KeyError, IndexError, TypeError, ZeroDivisionError) as exc:
                reason = f"{_op_name(node)} (shape unknown: {exc})" if isinstance(exc, MissingShape) else (
                    f"{_op_name(node)} (unreadable attributes)")
        if reason is not None:
            count, where = unsupported.get(reason, (0, []))
            if path not in where:
                where.append(path)
            unsupported[reason] = (count + 1, where)
            continue
        data = range(len(inputs)) if cost.data_inputs is None else cost.data_inputs
        quant_params = _QUANT_PARAM_INPUTS.get(node.op_type, frozenset())
        weight_elems = input_elems = 0
        stored = 0.0
        seen: set[str] = set()
        for index in data:
            name = inputs[index] if index < len(inputs) else ""
            if not name or name in seen or index in quant_params:
                continue
            seen.add(name)
            shape = tensors.shapes.get(name)
            if shape is None:
                continue
            elems = cost.reads.get(index, numel(shape)) if cost.reads else numel(shape)
            if name in tensors.constant:
                weight_elems += elems
                stored += elems * _ELEM_TYPES.get(tensors.stored_type.get(name, 1), (4, ""))[0]
                leaf = _weight_leaf(name, producers, tensors)
                if leaf is not None and leaf not in params.owner and _is_parameter(leaf, tensors):
                    params.owner[leaf] = path
                    params.elems[leaf] = numel(tensors.shapes.get(leaf) or [])
            else:
                input_elems += elems
        outs = [o for o in node.output if o][: cost.outputs] if cost.outputs is not None else [
            o for o in node.output if o]
        out_shapes = [tensors.shapes.get(o) for o in outs]
        output_elems = sum(numel(s) for s in out_shapes if s is not None)
        first_shape = out_shapes[0] if out_shapes and out_shapes[0] is not None else []
        if first_shape:
            module_shapes[path] = first_shape
        module_calls[path] += 1
        records.append(OpRecord(
            op=_op_name(node), category=cost.category, module_path=path, module_type=modules.get(path, ""),
            flops=cost.flops, macs=cost.macs, weight_elems=weight_elems, input_elems=input_elems,
            output_elems=output_elems, output_shape=list(first_shape), parallel_work=output_elems,
            gemm_mnk=cost.gemm_mnk, depthwise=cost.depthwise,
            stored_weight_bytes=stored if quantized and weight_elems else None,
        ))
    owned: dict[str, int] = defaultdict(int)
    for leaf, owner in params.owner.items():
        owned[owner] += params.elems[leaf]
    infos = [
        ModuleInfo(path=p, type=modules[p], params=owned.get(p, 0), output_shape=module_shapes.get(p, []),
                   calls=module_calls.get(p, 0))
        for p in module_order
    ]
    return Profile(
        model=spec.name, input_shape=list(spec.input_shape), batch=spec.batch, params=sum(params.elems.values()),
        ops=records, advisor_version=__version__, modules=infos,
        unsupported_ops=[UnsupportedOp(op=op, count=c, modules=m) for op, (c, m) in sorted(unsupported.items())],
        source="onnx", native_precision=quantized or _float_precision(model), notes=[*spec.notes,
                                                                                  *_notes(model, quantized)],
    )


def _qdq_pairs(model: Any) -> set[int]:
    """Nodes of QuantizeLinear -> DequantizeLinear pairs on activations (ids of the nodes).

    A QDQ graph marks each quantized activation with such a pair; runtimes fuse the pair into
    the quantized kernels around it (DQ -> Conv -> Q becomes QLinearConv), so the pair is no
    work of its own and is recorded as a free view."""
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            if name:
                consumers[name].append(node)
    pairs: set[int] = set()
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or not node.output:
            continue
        users = consumers.get(node.output[0], [])
        if users and all(u.op_type == "DequantizeLinear" for u in users):
            pairs.add(id(node))
            pairs.update(id(u) for u in users)
    return pairs


def _ancestors(path: str) -> list[tuple[str, str]]:
    parts = path.split(".")
    return [(".".join(parts[: i + 1]), "") for i in range(len(parts))]


def _weight_owner(node: Any, producers: dict[str, Any], tensors: _Tensors) -> str | None:
    """The module path a matmul-class node's weight names ("layer1.0.conv1.weight" ->
    "layer1.0.conv1"), or None."""
    index = _QUANTIZED_WEIGHT_INPUT.get(node.op_type, 1 if node.op_type in _MATMUL_OPS else None)
    if index is None or index >= len(node.input) or node.input[index] not in tensors.constant:
        return None
    leaf = _weight_leaf(node.input[index], producers, tensors) or ""
    return leaf.removesuffix(".weight") if leaf.endswith(".weight") and len(leaf) > len(".weight") else None


def _is_parameter(name: str, tensors: _Tensors) -> bool:
    """Float or quantized-integer tensors with more than one element (scalars such as a
    1/sqrt(d) scale are constants, not parameters; int64 tensors are shapes and indices;
    int32 tensors count when dequantized: the biases of a QDQ graph)."""
    dtype = tensors.stored_type.get(name, tensors.types.get(name))
    shape = tensors.shapes.get(name) or []
    quantized_bias = dtype == _TYPE_INT32 and name in tensors.dequantized
    return (quantized_bias or dtype in (_FLOAT_TYPES | _INT8_TYPES | _INT4_TYPES | _FP8_TYPES)) and numel(shape) > 1


def _quantization(model: Any, tensors: _Tensors) -> str | None:
    """The scheme a quantized graph fixes, or None for a float graph.

    QOperator graphs run quantized kernels (QLinearConv, MatMulInteger...); QDQ graphs wrap
    float Conv/MatMul/Gemm in DequantizeLinear (weights) and QuantizeLinear/DequantizeLinear
    (activations). int8 weights and activations: "int8"; int8 or 4-bit weights with float
    activations: "w8a16" / "w4a16" (weight-only); 8-bit floats: "fp8".
    """
    ops = {n.op_type for n in model.graph.node}
    producers = {out: node for node in model.graph.node for out in node.output if out}
    weight_types: set[int] = set()
    activation_quantized = False
    for node in model.graph.node:
        if node.op_type in _QUANTIZED_WEIGHT_INPUT:
            activation_quantized = True
            index = _QUANTIZED_WEIGHT_INPUT[node.op_type]
            if index < len(node.input):
                weight_types.add(tensors.types.get(node.input[index], _TYPE_INT8))
        elif node.op_type == "MatMulNBits":
            bits = next((a.i for a in node.attribute if a.name == "bits"), 4)
            weight_types.add(_TYPE_INT4 if bits == 4 else _TYPE_INT8)
        elif node.op_type in _MATMUL_OPS:
            for name in node.input[:2]:
                source = producers.get(name)
                if source is None or source.op_type != "DequantizeLinear":
                    continue
                quantized_type = tensors.types.get(source.input[0])
                if source.input[0] in tensors.constant:
                    weight_types.add(quantized_type or _TYPE_INT8)
                else:
                    activation_quantized = True
    if not weight_types and not (ops & QOPERATOR_OPS):
        return None
    if weight_types & _FP8_TYPES:
        return "fp8"
    if weight_types & _INT4_TYPES:
        return "w4a16"
    return "int8" if activation_quantized else "w8a16"


def _float_precision(model: Any) -> str | None:
    """fp16/bf16 when most initializer elements are stored so; None (any scheme) for fp32."""
    totals: dict[int, int] = defaultdict(int)
    for init in model.graph.initializer:
        totals[init.data_type] += numel(init.dims)
    if not totals:
        return None
    main = max(totals, key=lambda t: totals[t])
    return {10: "fp16", 16: "bf16"}.get(main)


def _notes(model: Any, quantized: str | None) -> list[str]:
    """One-line facts about the graph that explain differences from the torch original."""
    notes: list[str] = []
    folded = 0
    for node in model.graph.node:
        rules = next((p.value for p in node.metadata_props if p.key == "pkg.onnxscript.rewriter.rule_name"), "")
        if "FuseBatchNorm" in rules:
            folded += 1
        elif node.op_type == "Conv" and len(node.input) > 1 and node.input[1].startswith("onnx::Conv_"):
            folded += 1  # the TorchScript exporter names the weights it rewrote when folding batch norm
    if folded and not any(n.op_type == "BatchNormalization" for n in model.graph.node):
        notes.append(f"batch norm folded into {folded} convolutions by the exporter: its scale and shift are merged "
                     "into their weights and biases, so parameters differ from the torch model's")
    if quantized:
        kind = "QOperator" if any(n.op_type in QOPERATOR_OPS for n in model.graph.node) else "QDQ"
        notes.append(f"quantized graph ({kind}): its precision is {quantized}; predictions use it")
    return notes
