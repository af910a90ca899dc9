"""Model sources: each recognises a model spec string and builds what the profiler needs.

Why a registry: people arrive with their model in many forms (a zoo name, an ONNX file, a
Hugging Face config, a GGUF/safetensors header, ``timm:NAME``, ``package.module:callable``,
a ``torch.export`` .pt2). Every command resolves the spec here, once, so each form works
everywhere and an unknown spec gets one line naming the forms with one example each.

A source's ``build`` returns either a torch ``ModelSpec`` (counted by
``advisor.profiling.counter`` on meta tensors) or a ``GraphSpec`` (an ONNX graph counted
node by node by ``advisor.profiling.onnx_graph`` without importing torch). Sources stay
below profiling in the layering: they never import ``advisor.profiling``.

``claims`` and ``info`` must be cheap: no torch import, no model build (recommend resolves
every candidate's spec; the service resolves per request).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from advisor.errors import InputError, unknown_name

if TYPE_CHECKING:
    from advisor.models.graph import GraphSpec
    from advisor.models.spec import ModelSpec
    from advisor.workload import Workload

#: How later stages treat a model: "llm" is profiled per phase (prefill/decode) and gets the
#: LLM frameworks and weight-only schemes; "encoder" takes token ids and --seq-len;
#: "vision" takes an image batch; "other" is anything else (a graph, a callable).
ModelKind = Literal["llm", "encoder", "encoder-decoder", "vision", "other"]

#: What resolving a spec touches. "builtin": nothing the spec's author controls (the zoo,
#: a config from the local Hugging Face cache); "files": reads a file or directory the
#: spec names (ONNX, GGUF, safetensors, a config directory); "code": imports or unpickles
#: (``module:callable``, .pt2), never allowed from an HTTP request.
Access = Literal["builtin", "files", "code"]


@dataclass(frozen=True)
class LoadPolicy:
    """What a caller lets a spec touch.

    The CLI allows everything with paths relative to the current directory. The service
    passes ``allow_code=False`` and ``models_dir``: files only from inside that directory
    (named by the operator when starting the server), code never.
    """

    allow_code: bool = True
    models_dir: Path | None = None

    @classmethod
    def of(cls, allow_code: bool) -> LoadPolicy:
        """The policy behind a caller's ``allow_code``: the CLI's (everything), or the
        service's (no code; files only from the directory `advisor serve --models-dir` names,
        which its workers inherit as $ADVISOR_MODELS_DIR)."""
        if allow_code:
            return cls()
        from advisor.settings import models_dir

        return cls(allow_code=False, models_dir=models_dir())

    @property
    def allow_files(self) -> bool:
        return self.allow_code or self.models_dir is not None

    def path(self, spec: str) -> Path:
        """The file or directory ``spec`` names, or InputError (outside ``models_dir``, not allowed)."""
        if self.models_dir is None:
            if not self.allow_code:
                raise InputError(
                    f"model files ('{spec}') are not served here: start the server with --models-dir DIR"
                )
            return Path(spec).expanduser()
        root = self.models_dir.resolve()
        candidate = (root / spec).resolve()
        if not candidate.is_relative_to(root):
            raise InputError(f"model file '{spec}' is outside the models directory")
        return candidate

    def existing_path(self, spec: str) -> Path | None:
        """Like ``path`` but None instead of an error, for ``claims`` checks."""
        try:
            found = self.path(spec)
        except InputError:
            return None
        return found if found.exists() else None


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a spec before building it (cheap: no torch, no weights)."""

    source: str  # the source's name: "zoo", "onnx", "hf", "gguf", "safetensors", "timm", "callable", "pt2"
    kind: ModelKind
    name: str  # what reports call the model (a file's name, the zoo name)


class ModelSource(ABC):
    """One form a model can arrive in.

    Subclasses set the class attributes and implement ``claims`` and ``build``; ``info``
    defaults to kind "other" with the spec as its name.
    """

    #: short id, also the profile JSON's ``source`` value
    name: ClassVar[str]
    #: one spec this source accepts, shown when a spec is not recognised
    example: ClassVar[str]
    #: a few words for docs and the unknown-spec message ("ONNX file")
    label: ClassVar[str]
    access: ClassVar[Access] = "builtin"

    @abstractmethod
    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        """True when ``spec`` is in this source's form (cheap; never raises for a foreign spec)."""

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        """Kind and display name of a claimed spec, without building the model."""
        return SourceInfo(source=self.name, kind="other", name=spec)

    @abstractmethod
    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec | GraphSpec:
        """Build the model of ``workload.model`` at the workload's shape/batch/phase.

        Raises InputError (one line naming the value, with a hint) for anything the user
        can fix: a missing file, a shape the model cannot take, an option that does not apply.
        """


class SourceRegistry:
    """An ordered list of sources; the first that claims a spec builds it."""

    def __init__(self, sources: tuple[ModelSource, ...]) -> None:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model sources registered twice: {', '.join(duplicates)}")
        self.sources = sources

    def __iter__(self):
        return iter(self.sources)

    def get(self, name: str) -> ModelSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def resolve(self, spec: str, policy: LoadPolicy = LoadPolicy()) -> ModelSource:
        """The source that claims ``spec``, after checking the policy allows what it touches.

        An unknown spec raises one InputError naming every source with an example.
        """
        if not isinstance(spec, str) or not spec.strip():
            raise InputError("model name is empty")
        for source in self.sources:
            if source.claims(spec, policy):
                self._check_access(source, spec, policy)
                return source
        raise self.unknown(spec)

    def info(self, spec: str, policy: LoadPolicy = LoadPolicy()) -> SourceInfo:
        return self.resolve(spec, policy).info(spec, policy)

    def build(self, workload: Workload, policy: LoadPolicy = LoadPolicy()) -> tuple[ModelSource, ModelSpec | GraphSpec]:
        source = self.resolve(workload.model, policy)
        return source, source.build(workload, policy)

    @staticmethod
    def _check_access(source: ModelSource, spec: str, policy: LoadPolicy) -> None:
        if source.access == "code" and not policy.allow_code:
            raise InputError(
                f"{source.label} '{spec}' is not allowed here: code is never loaded from a request; "
                "use a zoo name or a model file in the server's models directory"
            )
        if source.access == "files" and not policy.allow_files:
            policy.path(spec)  # raises the one-line reason

    def unknown(self, spec: str) -> InputError:
        """One line: the nearest zoo names if any, then every accepted form with an example."""
        from advisor.models.zoo import zoo_names

        forms = "; ".join(f"{s.label} ({s.example})" for s in self.sources)
        lead = str(unknown_name("model", spec, zoo_names())).split(" (valid:")[0]
        return InputError(f"{lead}; a model is one of: {forms}")


def default_registry() -> SourceRegistry:
    """Every source advisor ships, most specific first: prefixes (``hf:``, ``timm:``) and file
    forms before zoo names, the zoo before "any other existing file is a .pt2", and
    ``module:callable`` (anything with a colon) last."""
    from advisor.models.builtin_sources import CallableSource, ExportedSource, ZooSource
    from advisor.models.checkpoint_source import GgufSource, SafetensorsSource
    from advisor.models.hf_source import HfSource
    from advisor.models.onnx_source import OnnxSource
    from advisor.models.timm_source import TimmSource

    return SourceRegistry((
        OnnxSource(),
        HfSource(),
        TimmSource(),
        GgufSource(),
        SafetensorsSource(),
        ZooSource(),
        ExportedSource(),
        CallableSource(),
    ))
