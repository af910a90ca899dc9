"""The one place a workload's Profile is looked up in the store, else counted and cached.

Why here: predict, recommend, profile, the gate and the service all need a Profile for a
workload; each used to look the cache up on its own (twice on one path). The lookup comes
first and needs neither torch nor SQLAlchemy, so a cached `recommend` stays fast; only a
miss builds the model through its source and counts it. Only zoo models are written back:
a file or a callable can change behind the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from advisor.profiling.types import Profile
from advisor.workload import Workload

if TYPE_CHECKING:
    from advisor.db.store import Store


def profile_for(store: Store | None, workload: Workload, *, allow_code: bool = True,
                before_counting: Callable[[Workload], None] | None = None) -> Profile:
    """The Profile of ``workload``: from ``store``'s cache when present, else counted.

    ``allow_code`` False refuses code, and files outside --models-dir (the HTTP service).
    ``before_counting`` runs on a cache miss only, before the model is built: the service's
    work limits, which a cached profile does not need (one cache read either way). Raises
    InputError for an unknown model, a malformed shape or a model that cannot run.
    """
    key = workload.profile_cache_key()
    if store is not None:
        cached = store.get_cached_profile(key)
        if cached is not None:
            profile = Profile.model_validate_json(cached)
            # only zoo profiles are cached; those written before profiles named their source lack it
            return profile if profile.source else profile.model_copy(update={"source": "zoo"})

    if before_counting is not None:
        before_counting(workload)
    from advisor.profiling.api import count_workload

    profile = count_workload(workload, allow_code=allow_code)
    if store is not None and profile.source == "zoo":
        store.put_cached_profile(key, profile.model_dump_json())
    return profile
