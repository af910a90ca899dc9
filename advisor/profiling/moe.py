"""Mixture-of-experts counting: the grouped expert GEMM, its routing helpers, and which
expert weights a batch actually reads.

Transformers runs a MoE layer's experts as one ``aten._grouped_mm`` per projection: the
routed (token, expert) rows sorted by expert (``aten.sort``), rows per expert counted with
``aten.histc``, and the stacked weights of every expert ``[E, K, N]`` passed in. The GEMM
computes only the routed rows, so its MACs are rows x K x N. Its weight argument holds all
E experts, but a kernel reads only the experts that received a row; with T tokens each
routed to k of E experts (uniformly, the load-balanced case router losses aim for), the
expected number of distinct experts a layer touches is E * (1 - (1 - k/E)^T)
(each expert is missed by one token with probability 1 - k/E). ``route_expert_reads``
applies that to the counted weight reads once the top-k is known from the model's config.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from advisor.profiling.arguments import Arguments
from advisor.profiling.formulas import DATA, MATMUL, NORM, Cost, Formula, register_formula
from advisor.profiling.types import OpRecord

GROUPED_MM_OPS = ("aten._grouped_mm",)


def grouped_mm_cost(a: Arguments, out: Any) -> Cost:
    """``_grouped_mm(self, mat2, offs=None, bias=None, out_dtype=None)``.

    Forms: self [S, K] x mat2 [E, K, N] with offsets (the MoE forward: each row meets one
    group's matrix): S*K*N MACs; [G, M, K] x [G, K, N] (batched): G*M*K*N; [M, Ktot] x
    [Ktot, N] with offsets over K (out [G, M, N]): M*Ktot*N; [G, M, K] x [K, Ntot]: out x K.
    The weight read is the whole mat2 here; ``route_expert_reads`` narrows it to the experts
    a routed batch touches.
    """
    x, w = a["self"], a["mat2"]
    if x.dim() == 2 and w.dim() == 2:
        m, k, n = x.shape[0], x.shape[1], w.shape[1]
        macs = m * k * n
    else:
        k, n = x.shape[-1], out.shape[-1]
        m = out.numel() // n
        macs = out.numel() * k
    bias_adds = out.numel() if isinstance(a.get("bias"), torch.Tensor) else 0
    return Cost(MATMUL, flops=2 * macs + bias_adds, macs=macs, gemm_mnk=(m, n, k))


def histc_cost(a: Arguments, out: Any) -> Cost:
    """One bin increment per input element; the bins are written."""
    return Cost(NORM, flops=a["self"].numel())


def sort_cost(a: Arguments, out: Any) -> Cost:
    """n*ceil(log2 n) comparisons per sorted row (a comparison sort); values and indices written."""
    x = a["self"]
    n = x.shape[a.get("dim", -1)] if x.dim() else 1
    rows = x.numel() // max(1, n)
    return Cost(NORM, flops=rows * n * max(1, math.ceil(math.log2(max(n, 2)))))


def bincount_cost(a: Arguments, out: Any) -> Cost:
    """One increment per input element."""
    return Cost(DATA, flops=a["self"].numel())


#: Formulas for the ops the MoE paths of transformers call that the base registry lacks.
MOE_FORMULAS: dict[str, Formula] = {
    "aten._grouped_mm": grouped_mm_cost,
    "aten.histc": histc_cost,
    "aten.sort": sort_cost,
    "aten.argsort": sort_cost,
    "aten.bincount": bincount_cost,
}


def expected_distinct_experts(experts: int, top_k: int, tokens: int) -> float:
    """Expected experts hit at least once when ``tokens`` tokens each pick ``top_k`` of ``experts``.

    E * (1 - (1 - k/E)^T): for one token exactly k; for many tokens it approaches E.
    """
    if experts < 1 or not 1 <= top_k <= experts:
        raise ValueError(f"top_k {top_k} must be between 1 and the number of experts {experts}")
    if tokens <= 0:
        return 0.0
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


def route_expert_reads(records: list[OpRecord], top_k: int) -> list[OpRecord]:
    """Grouped expert GEMMs read only the experts their tokens were routed to.

    For each grouped-mm record whose weight is a stack of E experts (weight_elems divisible
    by E is taken from the GEMM's own shapes: rows S = tokens * top_k), the weight read
    becomes expected_distinct_experts(E, k, S/k) / E of the stack. Other records are returned
    unchanged. MACs are unaffected: the GEMM already computes the routed rows only.
    """
    routed: list[OpRecord] = []
    for record in records:
        if record.op not in GROUPED_MM_OPS or not record.weight_elems or record.gemm_mnk is None:
            routed.append(record)
            continue
        rows, n, k = record.gemm_mnk
        per_expert = n * k
        experts = record.weight_elems // per_expert if per_expert else 0
        if experts < top_k or experts * per_expert != record.weight_elems:
            routed.append(record)  # not an [E, K, N] expert stack: leave the count as traced
            continue
        tokens = max(1, rows // top_k)
        touched = expected_distinct_experts(experts, top_k, tokens)
        routed.append(record.model_copy(update={"weight_elems": round(touched * per_expert)}))
    return routed


# Registered on import; the counter imports this module, so every count has them.
for _name, _formula in MOE_FORMULAS.items():
    register_formula(_name, _formula)
