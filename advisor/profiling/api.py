"""Profile a model by name: load it (zoo, callable or .pt2), count it, cache zoo profiles.

The one entry point the predictor, recommender, gate and service use. Imports torch only
when a model is actually counted (a cached profile needs none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor import __version__
from advisor.profiling.types import Profile

if TYPE_CHECKING:
    from advisor.db import Database


def cache_key(
    model: str, input_shape: str | list[int] | None, batch: int | None, phase: str | None,
    seq_len: int | None, context: int | None,
) -> str:
    """Everything that changes a zoo model's counts, plus the advisor version (formulas change)."""
    shape = "x".join(str(d) for d in input_shape) if isinstance(input_shape, list) else (input_shape or "")
    return f"profile/{__version__}/{model}/{shape.strip().lower()}/{batch or ''}/{phase or ''}/{seq_len or ''}/{context or ''}"


def get_profile(
    model: str,
    *,
    input_shape: str | list[int] | None = None,
    batch: int | None = None,
    phase: str | None = None,
    seq_len: int | None = None,
    context: int | None = None,
    db: Database | None = None,
    allow_code: bool = True,
) -> Profile:
    """The Profile of ``model`` at the given shape/phase; read from and written to ``db`` for zoo models.

    Only zoo models are cached: a callable or a .pt2 file can change behind the same name.
    Raises InputError for an unknown model, a malformed shape or a model that cannot run.
    """
    from advisor.models import is_zoo_name, load_model

    key = None
    if db is not None and is_zoo_name(model):
        key = cache_key(model, input_shape, batch, phase, seq_len, context)
        cached = db.get_cached_profile(key)
        if cached is not None:
            return Profile.model_validate_json(cached)
    spec = load_model(
        model, input_shape=input_shape, batch=batch, phase=phase, seq_len=seq_len, context=context,
        allow_code=allow_code,
    )
    from advisor.profiling.counter import count

    profile = count(spec)
    if key is not None and db is not None:
        db.put_cached_profile(key, profile.model_dump_json())
    return profile
