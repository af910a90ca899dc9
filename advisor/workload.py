"""What is being asked about: one model at one shape, batch and phase.

A `Workload` is built once at the edge (CLI options, a service body, a gate config) and
passed down unchanged through profiling, prediction, rules and ranking, so that no stage
re-derives it from loose arguments and the profile cache is keyed by one value.
Importing this module imports neither torch nor the database.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from advisor import __version__

Phase = Literal["prefill", "decode"]


class Workload(BaseModel):
    """A model spec and the shape it runs at.

    ``model`` is whatever names the model to a model source (a zoo name, a file, an import
    path). ``input_shape`` overrides the model's default input ("1x3x640x640");
    ``batch`` its batch size. ``phase``, ``seq_len`` and ``context`` apply to language
    models (prefill over ``seq_len`` prompt tokens, decode of one token against a KV cache
    of ``context`` tokens). ``kv_cache`` (a precision name) and ``devices`` are for the
    serving questions: the KV-cache dtype when it differs from the scheme's default, and
    how many devices the model is split over.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    input_shape: str | None = None
    batch: int | None = Field(default=None, ge=1)
    phase: Phase | None = None
    seq_len: int | None = Field(default=None, ge=1)
    context: int | None = Field(default=None, ge=1)
    kv_cache: str | None = None
    devices: int = Field(default=1, ge=1)

    @field_validator("input_shape", mode="before")
    @classmethod
    def _shape_as_text(cls, value: object) -> object:
        """Accept [1, 3, 224, 224] as well as "1x3x224x224"; keep the text form."""
        if isinstance(value, (list, tuple)):
            return "x".join(str(d) for d in value)
        return value

    @classmethod
    def from_options(cls, model: str, options: BaseModel) -> Workload:
        """The workload of ``model`` at the shape a request, body or config states.

        ``options`` names its fields like this class (batch, input_shape, phase, seq_len,
        context); those it shares are taken, the rest of it (targets, budgets) is not ours.
        """
        shared = (cls.model_fields.keys() & type(options).model_fields.keys()) - {"model"}
        return cls(model=model, **options.model_dump(include=shared, exclude_none=True))

    def with_model(self, model: str) -> Workload:
        """The same shape and phase for another model (recommend compares several)."""
        return self.model_copy(update={"model": model})

    def profile_cache_key(self) -> str:
        """Everything that changes a model's counts, plus the advisor version and a digest of the
        counting code (advisor.count_revision: a formula or model edit changes the key).

        ``kv_cache`` and ``devices`` do not change the counts (a Profile is precision-free and
        whole-model), so they are not part of the key.
        """
        from advisor.count_revision import counting_revision

        shape = (self.input_shape or "").strip().lower()
        return (f"profile/{__version__}+{counting_revision()}/{self.model}/{shape}/{self.batch or ''}"
                f"/{self.phase or ''}/{self.seq_len or ''}/{self.context or ''}")
