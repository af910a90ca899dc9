"""The torch model sources advisor has always had: the zoo, ``module:callable`` and .pt2 files.

Each is a thin ``ModelSource`` over the existing builders (``advisor.models.zoo`` and
``advisor.models.loaders``), imported only when a spec is built: claiming a spec never
imports torch unless the spec looks like a zoo name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.models.sources import LoadPolicy, ModelSource, SourceInfo

if TYPE_CHECKING:
    from advisor.models.spec import ModelSpec
    from advisor.workload import Workload

#: Zoo names are lower-case words with digits, '_', '-' and '.' ("resnet50", "llama-1.1b").
_ZOO_LIKE = re.compile(r"[a-z0-9][a-z0-9_.\-]*")


def refuse_phase_options(workload: Workload, what: str) -> None:
    """--phase/--seq-len/--context need a source that knows the model is a language model."""
    if workload.phase is not None or workload.seq_len is not None or workload.context is not None:
        raise InputError(
            f"--phase/--seq-len/--context apply to language models (zoo LLMs, Hugging Face configs), not {what}"
        )


class ZooSource(ModelSource):
    """The built-in zoo: YOLOv5/v8, every torchvision model, BERT-base, the Llama decoders."""

    name = "zoo"
    example = "resnet50"
    label = "zoo name"
    access = "builtin"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        if not _ZOO_LIKE.fullmatch(spec):
            return False
        from advisor.models.zoo import is_zoo_name

        return is_zoo_name(spec)

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        from advisor.models.zoo import BERT_NAME, is_language_model

        kind = "llm" if is_language_model(spec) else "encoder" if spec == BERT_NAME else "vision"
        return SourceInfo(source=self.name, kind=kind, name=spec)

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        from advisor.models.zoo import load_zoo_model

        return load_zoo_model(
            workload.model, input_shape=workload.input_shape, batch=workload.batch, phase=workload.phase,
            seq_len=workload.seq_len, context=workload.context,
        )


class ExportedSource(ModelSource):
    """A ``torch.export`` program saved with ``torch.export.save`` (.pt2)."""

    name = "pt2"
    example = "model.pt2"
    label = "torch.export file"
    access = "code"  # the archive can carry pickled sample inputs

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        if spec.endswith(".pt2"):
            return True
        found = policy.existing_path(spec) if policy.allow_code else None
        return found is not None and found.is_file()

    def info(self, spec: str, policy: LoadPolicy) -> SourceInfo:
        return SourceInfo(source=self.name, kind="other", name=policy.path(spec).name)

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        refuse_phase_options(workload, workload.model)
        from advisor.models.loaders import load_exported

        return load_exported(policy.path(workload.model), input_shape=workload.input_shape, batch=workload.batch)


class CallableSource(ModelSource):
    """``package.module:callable`` returning a module, or a (module, example inputs) pair."""

    name = "callable"
    example = "mypkg.models:build"
    label = "import path"
    access = "code"

    def claims(self, spec: str, policy: LoadPolicy) -> bool:
        return ":" in spec

    def build(self, workload: Workload, policy: LoadPolicy) -> ModelSpec:
        from advisor.models.loaders import load_callable

        # phase options are checked there: a callable may return a Hugging Face language model
        return load_callable(workload.model, workload)
