"""Count a model's ops at aten level while it runs on meta (or small CPU) tensors.

A ``TorchDispatchMode`` sees every aten op after autograd and composite decomposition, so
functional calls (``@``, SDPA) and fused fast paths are seen as well as module calls. Each op
is looked up in the shape-only formula registry (:mod:`advisor.profiling.formulas`); ops with
no formula are reported, never counted as zero. A module stack kept by the global module
forward pre/post hooks attributes each op to the innermost running module: it adds no hooks
to the model and patches nothing in torch, and is removed when counting ends.

Weights are told apart from activations by storage identity: a tensor whose storage is
that of a parameter or buffer of the model (the parameter itself or any view of it, such as
the transposed weight a linear layer multiplies by) is a weight read.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from advisor import __version__
from advisor.errors import InputError
from advisor.models.spec import ModelSpec
from advisor.profiling.arguments import ArgumentBinder
from advisor.profiling.formulas import FORMULAS, VIEW, Cost, Formula
from advisor.profiling.meta_results import META_RESULTS, Builder
from advisor.profiling.moe import route_expert_reads
from advisor.profiling.types import Category, ModuleInfo, OpRecord, Profile, UnsupportedOp

_Tensor = torch.Tensor


class ModuleStack:
    """The stack of modules whose forward is running, kept by global forward pre/post hooks.

    Paths come from the root's ``named_modules()`` (a module shared under two names keeps its
    first). A module that is not in the tree (built inside a forward) is named after its
    parent: ``parent.ClassName``.
    """

    def __init__(self, root: torch.nn.Module) -> None:
        self._entries: dict[int, tuple[str, str]] = {
            id(m): (path, type(m).__name__) for path, m in root.named_modules()
        }
        self._stack: list[tuple[str, str]] = [("", type(root).__name__)]
        self.output_shapes: dict[str, list[int]] = {}
        self.calls: Counter[str] = Counter()
        self._handles: list[Any] = []

    @property
    def current(self) -> tuple[str, str]:
        """(module path, module class name) of the innermost running module."""
        return self._stack[-1]

    def _enter(self, module: torch.nn.Module, args: Any) -> None:
        entry = self._entries.get(id(module))
        if entry is None:
            parent = self._stack[-1][0]
            name = type(module).__name__
            entry = (f"{parent}.{name}" if parent else name, name)
            self._entries[id(module)] = entry
        self._stack.append(entry)

    def _exit(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        # pop down to this module's entry (defensive: pre/post calls always pair up, as the
        # post hook is registered with always_call)
        entry = self._entries.get(id(module))
        path = self._stack[0][0]
        while len(self._stack) > 1:
            top = self._stack.pop()
            if top == entry:
                path = top[0]
                break
        self.calls[path] += 1
        first = output[0] if isinstance(output, (tuple, list)) and output else output
        if isinstance(first, _Tensor):
            self.output_shapes[path] = list(first.shape)

    def __enter__(self) -> ModuleStack:
        self._handles = [
            register_module_forward_pre_hook(self._enter),
            register_module_forward_hook(self._exit, always_call=True),  # also when forward raises
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _storage_id(t: _Tensor) -> int | None:
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, TypeError):  # tensors without a plain storage
        return None


@dataclass(slots=True)
class _OpEntry:
    """What the counting mode needs to know about one op overload, looked up once."""

    name: str  # overload packet, the registry key: "aten.convolution"
    formula: Formula | None
    build: Builder | None  # shape-only result builder (meta_results), if any
    bind: ArgumentBinder


@dataclass
class _Unsupported:
    count: int = 0
    modules: dict[str, None] = field(default_factory=dict)  # insertion-ordered set


class CountingMode(TorchDispatchMode):
    """Runs every aten op unchanged and records its cost (the hot path of profiling)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """Opt out of TorchDispatchMode's default dynamo-disable wrapper around __torch_dispatch__.

        That wrapper imports torch._dynamo on the first op (about 2 s) and adds a call per op;
        it only matters under torch.compile, which counting never runs in.
        """
        return False

    def __init__(self, modules: ModuleStack, weight_storages: set[int], meta_shortcuts: bool = True) -> None:
        super().__init__()
        self._shortcuts = META_RESULTS if meta_shortcuts else {}
        self._modules = modules
        self._weights = weight_storages
        self._ops: dict[Any, _OpEntry] = {}
        self.records: list[OpRecord] = []
        self.unsupported: dict[str, _Unsupported] = {}
        #: > 0 while a fused op is being recorded as one: its inner aten ops are not counted
        self.suppressed = 0

    def _entry(self, func: Any) -> _OpEntry:
        entry = self._ops.get(func)
        if entry is None:
            name = str(func.overloadpacket)
            entry = self._ops[func] = _OpEntry(
                name, FORMULAS.get(name), self._shortcuts.get(func), ArgumentBinder.for_op(func)
            )
        return entry

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        entry = self._entry(func)
        bound = None
        out = None
        if entry.build is not None:
            try:
                bound = entry.bind(args, kwargs)
                out = entry.build(bound)
            except Exception:  # an argument form the builder does not know: torch decides
                out = None
        if out is None:
            out = func(*args, **kwargs)
        if self.suppressed:
            return out
        path, module_type = self._modules.current
        if entry.formula is None:
            self._unsupported(entry.name, path)
            return out
        try:
            cost = entry.formula(bound if bound is not None else entry.bind(args, kwargs), out)
        except Exception:  # a formula that cannot read this call's arguments: report, don't guess
            self._unsupported(entry.name, path)
            return out
        self.records.append(self._record(entry.name, cost, path, module_type, args, kwargs, out))
        return out

    def record_fused(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        """Record one op that torch ran as several (see FusedAttention)."""
        entry = self._entry(func)
        if entry.formula is None:
            raise KeyError(f"no formula for the fused op {entry.name}")
        path, module_type = self._modules.current
        cost = entry.formula(entry.bind(args, kwargs), out)
        self.records.append(self._record(entry.name, cost, path, module_type, args, kwargs, out))

    def _unsupported(self, name: str, path: str) -> None:
        entry = self.unsupported.setdefault(name, _Unsupported())
        entry.count += 1
        entry.modules[path] = None

    def _record(self, name: str, cost: Cost, path: str, module_type: str, args: tuple, kwargs: dict, out: Any) -> OpRecord:
        first = out
        if isinstance(out, (tuple, list)):
            first = next((o for o in out if isinstance(o, _Tensor)), None)
        shape = list(first.shape) if isinstance(first, _Tensor) else []
        if cost.category is VIEW:
            return OpRecord.model_construct(
                op=name, category=Category.view, module_path=path, module_type=module_type, flops=0, macs=0,
                weight_elems=0, input_elems=0, output_elems=0, output_shape=shape, parallel_work=0,
                gemm_mnk=None, depthwise=False, stored_weight_bytes=None,
            )
        weight_elems, input_elems = self._reads(cost, args, kwargs)
        weight_elems += cost.extra_weight_elems
        if cost.output_elems is not None:
            output_elems = cost.output_elems
        elif isinstance(out, _Tensor):
            output_elems = out.numel()
        else:
            output_elems = sum(o.numel() for o in out if isinstance(o, _Tensor)) if isinstance(out, (tuple, list)) else 0
        return OpRecord.model_construct(
            op=name, category=cost.category, module_path=path, module_type=module_type,
            flops=int(cost.flops), macs=int(cost.macs), weight_elems=int(weight_elems),
            input_elems=int(input_elems), output_elems=int(output_elems), output_shape=shape,
            parallel_work=first.numel() if isinstance(first, _Tensor) else 0,
            gemm_mnk=cost.gemm_mnk, depthwise=cost.depthwise, stored_weight_bytes=cost.stored_weight_bytes,
        )

    def _reads(self, cost: Cost, args: tuple, kwargs: dict) -> tuple[int, int]:
        """Elements read, split into (weights, activations); a tensor passed twice is read once."""
        weights = activations = 0
        seen: set[int] = set()
        if cost.reads is not None:
            items: Any = cost.reads
        else:
            items = []
            for a in (*args, *kwargs.values()):
                if isinstance(a, _Tensor):
                    items.append(a)
                elif isinstance(a, (list, tuple)):
                    items.extend(x for x in a if isinstance(x, _Tensor))
        for item in items:
            t, n = item if isinstance(item, tuple) else (item, None)
            if id(t) in seen:
                continue
            seen.add(id(t))
            n = t.numel() if n is None else n
            if _storage_id(t) in self._weights:
                weights += n
            else:
                activations += n
        return weights, activations


class FusedAttention(TorchFunctionMode):
    """Counts F.scaled_dot_product_attention as one fused op, whichever kernel torch picks.

    On CPU and CUDA torch runs a fused kernel (flash / efficient / cudnn), one aten op that
    reads q, k, v once. On meta it picks the reference decomposition (scale, bmm, softmax,
    bmm), whose intermediate score tensors and scaled copies of K would be counted as memory
    traffic that no deployed attention kernel moves (for LLM decode, a full extra pass over
    the KV cache). FLOPs and MACs are the same either way (see formulas.attention_cost).
    """

    def __init__(self, counter: CountingMode) -> None:
        super().__init__()
        self._counter = counter

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func is not torch.nn.functional.scaled_dot_product_attention:
            return func(*args, **kwargs)
        self._counter.suppressed += 1
        try:
            out = func(*args, **kwargs)
        finally:
            self._counter.suppressed -= 1
        self._counter.record_fused(torch.ops.aten.scaled_dot_product_attention.default, args, kwargs, out)
        return out


def _packed_weight_elems(module: torch.nn.Module) -> int:
    """Elements of a quantized module's packed weight and bias (not nn.Parameters)."""
    packed = getattr(module, "_packed_params", None)
    weight_bias = getattr(packed, "_weight_bias", None)
    if weight_bias is None:
        return 0
    weight, bias = weight_bias()
    return weight.numel() + (bias.numel() if bias is not None else 0)


def _module_infos(root: torch.nn.Module, stack: ModuleStack) -> tuple[int, list[ModuleInfo]]:
    """Total parameters (each counted once) and the module tree with direct parameters."""
    seen: set[int] = set()
    infos: list[ModuleInfo] = []
    total = 0
    for path, module in root.named_modules():
        direct = _packed_weight_elems(module)
        for p in module.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                direct += p.numel()
        total += direct
        infos.append(ModuleInfo(
            path=path, type=type(module).__name__, params=direct,
            output_shape=stack.output_shapes.get(path, []), calls=stack.calls.get(path, 0),
        ))
    return total, infos


def count(spec: ModelSpec, *, meta_shortcuts: bool = True) -> Profile:
    """Run the spec's model once under the counting mode and return its Profile.

    Runs under ``torch.no_grad()`` (inference), so torch may take its fused inference fast
    paths on CPU tensors; they have formulas that give the same counts as the unfused path.
    ``meta_shortcuts=False`` runs torch's own meta kernels for every op (the tests compare).
    Raises InputError if the model cannot run on its example inputs.
    """
    module = spec.module
    if not isinstance(module, torch.nn.Module):
        raise InputError(f"model '{spec.name}' is a {type(module).__name__}, not a torch.nn.Module")
    weights: set[int] = set()
    for t in (*module.parameters(), *module.buffers()):
        sid = _storage_id(t)
        if sid is not None:
            weights.add(sid)
    stack = ModuleStack(module)
    mode = CountingMode(stack, weights, meta_shortcuts)
    # On CPU/CUDA tensors torch already runs fused attention kernels (and the fused
    # MHA / encoder-layer fast paths, which an active function mode would turn off).
    fused = FusedAttention(mode) if spec.device == "meta" else contextlib.nullcontext()
    with torch.no_grad(), stack, mode, fused:
        try:
            module(*spec.args, **spec.kwargs)
        except InputError:
            raise
        except Exception as exc:  # the model's own code failed on these inputs
            from advisor.models.user_code import DATA_DEPENDENT_HINT, is_data_dependent

            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            shape = "x".join(str(d) for d in spec.input_shape)
            if is_data_dependent(exc):
                raise InputError(f"model '{spec.name}' cannot be profiled on meta tensors: {DATA_DEPENDENT_HINT}") from None
            raise InputError(f"model '{spec.name}' failed to run on input shape {shape}: {detail}") from None
    params, infos = _module_infos(module, stack)
    unsupported = [
        UnsupportedOp(op=name, count=u.count, modules=list(u.modules)) for name, u in sorted(mode.unsupported.items())
    ]
    # mixture of experts: a grouped expert GEMM reads the experts its tokens were routed to
    records = route_expert_reads(mode.records, spec.expert_top_k) if spec.expert_top_k else mode.records
    return Profile(
        model=spec.name, input_shape=list(spec.input_shape), batch=spec.batch, phase=spec.phase,
        seq_len=spec.seq_len, context=spec.context, params=params,
        active_params=params if spec.active_params is None else spec.active_params,
        kv_cache_elems=spec.kv_cache_elems, ops=records, unsupported_ops=unsupported,
        advisor_version=__version__, modules=infos, native_precision=spec.native_precision, notes=list(spec.notes),
    )
