"""What onnxruntime's int8 (QDQ) CPU graph runs, and what its non-GEMM nodes cost per element.

Backs the onnxruntime int8 terms of the predictor (advisor/predict/kernels.py,
``QUANTIZED_DECOMPOSITION`` and ``QUANTIZED_NODE_OPS``; docs/predictor.md).

    # the graph onnxruntime actually runs for a model quantized the way `advisor bench` does
    # (quant_pre_process + quantize_static, QDQ, u8 activations, s8 per-channel weights),
    # with ORT's profiler: share of time per op type (per-node medians over the runs)
    python benchmarks/ort_int8_ops.py graph vit_b_16 [--batch 1] [--runs 20]
    # cost per element of each quantized node kind, in "vector-op equivalents": time per
    # element x onnxruntime's depthwise (vector) rate, measured the way `advisor calibrate`
    # measures it, so the figures carry to another CPU through that CPU's calibration
    python benchmarks/ort_int8_ops.py costs [--runs 30]

Run `costs` on a quiet machine: it times kernels (a few seconds). Shares from `graph` are
robust to a busy machine (per-node medians); absolute times are not.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _elems(shape_entry: dict) -> int:
    import math

    return math.prod(next(iter(shape_entry.values())))


def graph(args: argparse.Namespace) -> None:
    """The optimized int8 graph of a model and its per-op-type time shares."""
    import onnx

    from advisor.measure.bench import ModelBench, _ort_feeds, onnx_artifacts
    from advisor.measure.bench import ort_session
    from advisor.measure.microbench import ort_node_medians

    mb = ModelBench(args.model, args.batch)
    try:
        art = onnx_artifacts(mb.m, args.model, "int8")
        with tempfile.TemporaryDirectory() as tmp:
            optimized = str(Path(tmp) / "optimized.onnx")
            sess = ort_session(str(art.int8), mb.threads, profile_prefix=f"{tmp}/ort_profile", optimized_path=optimized)
            feeds = _ort_feeds(mb.m, [i.name for i in sess.get_inputs()])
            nodes = ort_node_medians(sess, feeds, runs=args.runs)
            ops = collections.Counter(n.op_type for n in onnx.load(optimized).graph.node)
    finally:
        mb.close()
    print(f"{args.model} batch {args.batch}, onnxruntime int8 (QDQ), optimized graph: "
          + ", ".join(f"{op} {n}" for op, n in ops.most_common()))
    per_op: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0, 0])
    for us, a in nodes.values():
        row = per_op[a.get("op_name", "?")]
        row[0] += us
        row[1] += 1
        row[2] += _elems(a["output_type_shape"][0]) if a.get("output_type_shape") else 0
    total = sum(r[0] for r in per_op.values())
    print(f"sum of per-node medians {total / 1e3:.2f} ms ({args.runs} runs, {mb.threads} threads)")
    print(f"  {'op':24s} {'ms':>8s} {'share':>6s} {'nodes':>5s} {'ns/out elem':>11s}")
    for op, (us, n, elems) in sorted(per_op.items(), key=lambda kv: -kv[1][0]):
        print(f"  {op:24s} {us / 1e3:8.3f} {us / total:6.1%} {n:5d} {us * 1e3 / max(elems, 1):11.3f}")


def _model(nodes, inputs: dict[str, list[int]], outputs: dict[str, list[int]], inits=()) -> bytes:
    from onnx import TensorProto, helper

    from advisor.measure.microbench import _onnx_model

    return _onnx_model(nodes, [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()],
                       [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in outputs.items()], inits)


#: (channels C of the 3x3 conv, side of the square map) of the im2col pairs
IM2COL_CASES = ((4, 160), (16, 80), (64, 40))


def micro_graphs():
    """(label, fp32 ONNX bytes, feeds): small graphs whose int8 (QDQ) versions contain the
    node kinds of CNN and ViT graphs. Sizes: 409600-element activations (a 64 x 80 x 80
    YOLO map) and ViT-B/16 at batch 1 (197 tokens x 768/3072, 12 heads)."""
    import numpy as np
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    x = [1, 64, 80, 80]
    feed = lambda *shapes: {f"X{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}  # noqa: E731
    out = []
    # a conv in front so the elementwise node's inputs are quantized activations, as in a network
    w = numpy_helper.from_array(rng.standard_normal((64, 64, 1, 1)).astype(np.float32) * 0.1, "W")
    conv = helper.make_node("Conv", ["X0", "W"], ["c"], kernel_shape=[1, 1])
    out.append(("add", _model([conv, helper.make_node("Add", ["c", "X1"], ["Y"])], {"X0": x, "X1": x}, {"Y": x}, [w]),
                feed(x, x)))
    out.append(("mul", _model([conv, helper.make_node("Mul", ["c", "X1"], ["Y"])], {"X0": x, "X1": x}, {"Y": x}, [w]),
                feed(x, x)))
    out.append(("sigmoid", _model([conv, helper.make_node("Sigmoid", ["c"], ["Y"])], {"X0": x}, {"Y": x}, [w]), feed(x)))
    cat = [1, 128, 80, 80]
    out.append(("concat", _model([conv, helper.make_node("Concat", ["c", "X1"], ["Y"], axis=1)], {"X0": x, "X1": x},
                                 {"Y": cat}, [w]), feed(x, x)))
    s = [12, 197, 197]
    out.append(("softmax", _model([helper.make_node("Softmax", ["X0"], ["Y"], axis=-1)], {"X0": s}, {"Y": s}), feed(s)))
    # ViT-B/16: LayerNorm between quantized adds (it stays float: DequantizeLinear, LN, QuantizeLinear)
    t = [1, 197, 768]
    g = numpy_helper.from_array(np.ones(768, np.float32), "g")
    b = numpy_helper.from_array(np.zeros(768, np.float32), "b")
    ln = [helper.make_node("Add", ["X0", "X1"], ["a"]),
          helper.make_node("LayerNormalization", ["a", "g", "b"], ["n"], axis=-1, epsilon=1e-6),
          helper.make_node("Add", ["n", "X1"], ["Y"])]
    out.append(("layer_norm", _model(ln, {"X0": t, "X1": t}, {"Y": t}, [g, b]), feed(t, t)))
    # GELU as torch.onnx exports nn.GELU(): x * 0.5 * (1 + erf(x / sqrt(2)))
    h = [1, 197, 3072]
    consts = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
              (("r2", 1.4142135), ("one", 1.0), ("half", 0.5))]
    gelu = [helper.make_node("Add", ["X0", "X1"], ["a"]), helper.make_node("Div", ["a", "r2"], ["d"]),
            helper.make_node("Erf", ["d"], ["e"]), helper.make_node("Add", ["e", "one"], ["p"]),
            helper.make_node("Mul", ["a", "p"], ["m"]), helper.make_node("Mul", ["m", "half"], ["Y"])]
    out.append(("gelu", _model(gelu, {"X0": h, "X1": h}, {"Y": h}, consts), feed(h, h)))
    # im2col: a 3x3 conv over C channels and a 1x1 conv over 9C channels run the same GEMM
    # (M = side^2 pixels, N = 16, K = 9C); the difference is the 3x3 conv's im2col, 9 taps
    # (copies of C bytes) per output pixel
    for cin, side in IM2COL_CASES:
        for k, c in ((3, cin), (1, 9 * cin)):
            wk = numpy_helper.from_array(rng.standard_normal((16, c, k, k)).astype(np.float32) * 0.1, "W")
            node = helper.make_node("Conv", ["X0", "W"], ["Y"], kernel_shape=[k, k], pads=[k // 2] * 4)
            out.append((f"conv{k}x{k}_cin{c}", _model([node], {"X0": [1, c, side, side]}, {"Y": [1, 16, side, side]}, [wk]),
                        feed([1, c, side, side])))
    return out


def vector_rate_gflops(threads: int, repeats: int = 3) -> float:
    """onnxruntime's fp32 vector figure as `advisor calibrate` states it, median of ``repeats``
    measurements."""
    return statistics.median(_vector_rate_once(threads) for _ in range(repeats))


def _vector_rate_once(threads: int) -> float:
    """One measurement of the figure, in GFLOP/s: the kernels `advisor calibrate` times for
    onnxruntime fp32 (its ORT_GEMM_SIZE MatMul, utilisation sweep and depthwise convolutions),
    turned into the figure by calibrate's own function (``ort_fp32_figures``)."""
    from advisor.measure import microbench as mb

    budget = mb.Budget.full()
    gemm = mb.ort_gemm_tops("fp32", mb.ORT_GEMM_SIZE, threads, budget)
    sweep, floor = mb.ort_utilisation_sweep(threads, budget, "fp32")
    vector = mb.ort_fp32_figures(gemm, sweep, floor, mb.ort_depthwise_points(threads, budget))[2]
    if vector is None:
        raise SystemExit("no depthwise convolution ran long enough above onnxruntime's call floor to state "
                         "the vector figure (advisor calibrate falls back to torch's; rerun on a quiet machine)")
    return vector * 1e3


def costs(args: argparse.Namespace) -> None:
    """ns per output element of each int8 node kind, and the vector-op equivalents."""
    from advisor.measure.bench import ort_session
    from advisor.measure.microbench import _quantize_bytes, ort_node_medians

    threads = args.threads
    rows: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
    taps: dict[str, float] = {}
    for label, model, feeds in micro_graphs():
        q = _quantize_bytes(model, feeds)
        with tempfile.TemporaryDirectory() as tmp:
            nodes = ort_node_medians(ort_session(q, threads, profile_prefix=f"{tmp}/ort_profile"), feeds, runs=args.runs)
        for name, (us, a) in nodes.items():
            op = a.get("op_name", "?")
            if label.startswith("conv") and op == "QLinearConv":
                taps[label] = us
                continue
            if op in ("QLinearConv", "Transpose", "Reshape") or not a.get("output_type_shape"):
                continue
            rows[f"{op} ({label})"].append((us, _elems(a["output_type_shape"][0])))
    vector = vector_rate_gflops(threads)
    print(f"onnxruntime fp32 vector figure (advisor calibrate's method, median of 3): {vector:.2f} GFLOP/s, "
          f"{threads} threads")
    print(f"  {'node (graph)':40s} {'ns/elem':>8s} {'vector-op equivalents/elem':>27s}")
    for key, vals in sorted(rows.items()):
        us = sum(v[0] for v in vals)
        n = sum(v[1] for v in vals)
        ns = us * 1e3 / n
        print(f"  {key:40s} {ns:8.3f} {ns * vector:27.1f}")
    for cin, side in IM2COL_CASES:
        three, one = taps[f"conv3x3_cin{cin}"], taps[f"conv1x1_cin{9 * cin}"]
        per_tap = (three - one) * 1e3 / (side * side * 9)
        print(f"  im2col, {cin:3d} channels: QLinearConv 3x3 {three:7.1f} us vs 1x1 over {9 * cin} channels {one:7.1f} us "
              f"(same GEMM): {per_tap:.3f} ns per tap = {per_tap * vector:.1f} vector-op equivalents per tap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("graph", help="optimized int8 graph of a model and its time shares")
    g.add_argument("model")
    g.add_argument("--batch", type=int, default=1)
    g.add_argument("--runs", type=int, default=20)
    c = sub.add_parser("costs", help="per-element cost of int8 node kinds (times kernels: quiet machine)")
    c.add_argument("--runs", type=int, default=30)
    c.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    graph(args) if args.cmd == "graph" else costs(args)


if __name__ == "__main__":
    main()
