"""Shape inference for ONNX graphs whose shapes depend on shape arithmetic.

Why: ONNX's own inference (C++, fast) propagates values only through a few operators, so a
TorchScript export that computes a reshape target as ``Shape -> Gather -> Div -> Concat``
(every transformer's head split) leaves everything after that reshape without a shape. When
that happens, a second pass walks the graph in order, evaluates the small integer tensors of
such shape computations with ONNX's reference evaluator, and infers each node's outputs
from its inputs' types and those values (``onnx.shape_inference.infer_node_outputs``).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

#: shape-arithmetic operators whose outputs are evaluated when all their inputs are known
FOLDABLE = frozenset({
    "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Add", "Sub", "Mul", "Div", "Mod", "Slice", "Equal",
    "Where", "Reshape", "ConstantOfShape", "Expand", "Neg", "Abs", "Min", "Max", "Floor", "Ceil", "ReduceProd",
    "Identity", "Range", "Not", "Less", "Greater", "Sqrt", "Pow", "Transpose", "Flatten",
})
#: the largest tensor treated as a shape value (shape vectors are short)
MAX_VALUE_ELEMS = 64


def complete(type_proto: Any) -> bool:
    """A tensor type with every dimension known."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return False
    return all(d.HasField("dim_value") for d in type_proto.tensor_type.shape.dim)


def missing_shapes(model: Any) -> bool:
    """True when some node output has no complete shape after inference."""
    known = {v.name for v in (*model.graph.value_info, *model.graph.output, *model.graph.input) if complete(v.type)}
    return any(o and o not in known for n in model.graph.node for o in n.output if n.op_type != "Constant")


def _evaluate(node: Any, values: dict[str, Any], opsets: list[Any]) -> list[Any] | None:
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    inits = [numpy_helper.from_array(values[i], i) for i in node.input if i]
    outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output]
    graph = helper.make_graph([node], "fold", [], outputs, initializer=inits)
    try:
        # the reference evaluator prints its own failures to stdout
        with contextlib.redirect_stdout(io.StringIO()):
            return list(ReferenceEvaluator(helper.make_model(graph, opset_imports=opsets)).run(None, {}))
    except Exception:  # noqa: BLE001 - an op the reference cannot fold stays unknown
        return None


def propagate(model: Any) -> None:
    """Fill ``model.graph.value_info`` with shapes the C++ inference could not derive."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    opsets = list(model.opset_import)
    versions = {o.domain or "": o.version for o in opsets}
    types: dict[str, Any] = {}
    for value in (*graph.input, *graph.value_info):
        types[value.name] = value.type
    values: dict[str, Any] = {}
    for init in graph.initializer:
        types[init.name] = helper.make_tensor_type_proto(init.data_type, list(init.dims))
        if init.data_location != onnx.TensorProto.EXTERNAL and np.prod(init.dims) <= MAX_VALUE_ELEMS:
            values[init.name] = numpy_helper.to_array(init)
    for node in graph.node:
        present = [i for i in node.input if i]
        if node.op_type == "Constant":
            value = _evaluate(node, values, opsets)
            if value is not None:
                values[node.output[0]] = np.asarray(value[0])
                types[node.output[0]] = helper.make_tensor_type_proto(
                    helper.np_dtype_to_tensor_dtype(values[node.output[0]].dtype), list(values[node.output[0]].shape))
            continue
        if node.op_type == "Shape" and present and present[0] in types and complete(types[present[0]]):
            dims = [d.dim_value for d in types[present[0]].tensor_type.shape.dim]
            attrs = {a.name: a.i for a in node.attribute}
            start, end = attrs.get("start", 0), attrs.get("end", len(dims))
            values[node.output[0]] = np.array(dims[start:end] if "end" in attrs else dims[start:], dtype=np.int64)
        elif (node.op_type in FOLDABLE and node.domain in ("", "ai.onnx") and present
              and all(i in values for i in present)):
            result = _evaluate(node, values, opsets)
            if result is not None:
                for name, value in zip(node.output, result):
                    if np.asarray(value).size <= MAX_VALUE_ELEMS:
                        values[name] = np.asarray(value)
        for name in node.output:
            if name in values:
                types[name] = helper.make_tensor_type_proto(
                    helper.np_dtype_to_tensor_dtype(values[name].dtype), list(values[name].shape))
        if all(not o or (o in types and complete(types[o])) for o in node.output):
            continue
        if node.domain == "com.microsoft":
            for name, type_proto in contrib_outputs(node, types).items():
                types[name] = type_proto
            continue
        try:
            schema = onnx.defs.get_schema(node.op_type, versions.get(node.domain or "", 1), node.domain or "")
            inferred = onnx.shape_inference.infer_node_outputs(
                schema, node, {i: types[i] for i in present if i in types},
                {i: numpy_helper.from_array(values[i], i) for i in present if i in values},
            )
        except Exception:  # noqa: BLE001 - a node inference cannot handle keeps unknown outputs
            continue
        for name, type_proto in inferred.items():
            if name not in types or not complete(types[name]):
                types[name] = type_proto
    known = {v.name for v in (*graph.input, *graph.output)} | {i.name for i in graph.initializer}
    del graph.value_info[:]
    for name, type_proto in types.items():
        if name not in known and complete(type_proto):
            graph.value_info.append(helper.make_value_info(name, type_proto))
    for output in graph.output:
        if output.name in types and complete(types[output.name]) and not complete(output.type):
            output.type.CopyFrom(types[output.name])


def _dims(types: dict[str, Any], name: str) -> list[int] | None:
    found = types.get(name)
    if found is None or not complete(found):
        return None
    return [d.dim_value for d in found.tensor_type.shape.dim]


def _broadcast(a: list[int], b: list[int]) -> list[int]:
    a, b = [1] * (len(b) - len(a)) + a, [1] * (len(a) - len(b)) + b
    return [max(x, y) if 1 in (x, y) else x for x, y in zip(a, b)]


def contrib_outputs(node: Any, types: dict[str, Any]) -> dict[str, Any]:
    """Output types of the com.microsoft operators that onnxruntime's quantization tools emit
    (ONNX has no schema for them), from their documented semantics (onnxruntime
    docs/ContribOperators.md). Unknown operators stay unknown (and are reported unsupported)."""
    from onnx import TensorProto, helper

    op, inputs = node.op_type, list(node.input)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    first = _dims(types, inputs[0]) if inputs and inputs[0] else None
    first_type = types[inputs[0]].tensor_type.elem_type if inputs and inputs[0] in types else TensorProto.FLOAT
    shape: list[int] | None = None
    elem = first_type
    if op in ("QLinearAdd", "QLinearMul") and first is not None:
        other = _dims(types, inputs[3]) if len(inputs) > 3 else None
        shape = _broadcast(first, other) if other is not None else None
    elif op in ("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax", "Gelu", "FastGelu", "BiasGelu",
                "QuickGelu", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization"):
        shape = first
    elif op == "QGemm" and first is not None:
        b = _dims(types, inputs[3])
        if b is not None:
            m = first[1] if attrs.get("transA", 0) else first[0]
            n = b[0] if attrs.get("transB", 0) else b[1]
            shape = [m, n]
            elem = first_type if len(inputs) > 7 and inputs[7] else TensorProto.FLOAT
    elif op == "QLinearGlobalAveragePool" and first is not None:
        shape = [first[0], *([1] * (len(first) - 2)), first[-1]] if attrs.get("channels_last", 0) else [
            *first[:2], *([1] * (len(first) - 2))]
    elif op == "QLinearConcat":
        parts = [_dims(types, inputs[i]) for i in range(2, len(inputs), 3)]
        if parts and all(p is not None for p in parts):
            axis = int(attrs.get("axis", 0)) % len(parts[0])
            shape = list(parts[0])
            shape[axis] = sum(p[axis] for p in parts)
            elem = types[inputs[2]].tensor_type.elem_type
    elif op == "MatMulNBits" and first is not None:
        shape = [*first[:-1], int(attrs["N"])]
    elif op in ("DynamicQuantizeMatMul", "MatMulIntegerToFloat") and first is not None:
        b = _dims(types, inputs[1])
        if b is not None:
            shape = [*_broadcast(first[:-2], b[:-2]), first[-2], b[-1]] if len(first) >= 2 else [b[-1]]
            elem = TensorProto.FLOAT
    if shape is None or not node.output or not node.output[0]:
        return {}
    return {node.output[0]: helper.make_tensor_type_proto(elem, shape)}
