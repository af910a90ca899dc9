"""The one place a workload's Profile is looked up in the store, else counted and cached.

Why here: predict, recommend, profile, the gate and the service all need a Profile for a
workload; each used to look the cache up on its own (twice on one path). The lookup comes
first and needs neither torch nor SQLAlchemy, so a cached `recommend` stays fast; only a
miss builds the model through its source and counts it. Only zoo models are written back:
a file or a callable can change behind the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from advisor.errors import InputError
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
    profile = cached_profile(store, workload)
    if profile is not None:
        return profile
    if before_counting is not None:
        before_counting(workload)
    return count_and_cache(store, workload, allow_code=allow_code)


def cached_profile(store: Store | None, workload: Workload) -> Profile | None:
    """The cached Profile of ``workload`` (one read of the store), None on a miss."""
    if store is None:
        return None
    cached = store.get_cached_profile(workload.profile_cache_key())
    if cached is None:
        return None
    profile = Profile.model_validate_json(cached)
    # only zoo profiles are cached; those written before profiles named their source lack it
    return profile if profile.source else profile.model_copy(update={"source": "zoo"})


def count_and_cache(store: Store | None, workload: Workload, *, allow_code: bool = True) -> Profile:
    """Count ``workload`` (a cache miss: the caller has looked) and cache it if it is a zoo model."""
    from advisor.profiling.api import count_workload

    profile = count_workload(workload, allow_code=allow_code)
    if store is not None and profile.source == "zoo":
        store.put_cached_profile(workload.profile_cache_key(), profile.model_dump_json())
    return profile


def profiles_for(store: Store | None, workloads: Sequence[Workload], *, allow_code: bool = True,
                 before_counting: Callable[[Workload], None] | None = None,
                 counting_error: Callable[[int, InputError], InputError] | None = None) -> dict[Workload, Profile]:
    """The Profiles of several workloads, all or nothing: the cache is read once per workload,
    and every miss passes ``before_counting`` before any model is built, so a refusal of the last
    one leaves the store as it was (a request the service refuses caches nothing).

    ``counting_error(i, exc)`` turns the InputError of counting the i-th workload into the
    caller's own (the gate names the model's field); a ``before_counting`` refusal is raised as
    it is."""
    found: dict[Workload, Profile | None] = {}
    for workload in workloads:
        if workload not in found:
            found[workload] = cached_profile(store, workload)
    if before_counting is not None:
        for workload, profile in found.items():
            if profile is None:
                before_counting(workload)
    profiles: dict[Workload, Profile] = {}
    for i, workload in enumerate(workloads):
        if workload in profiles:
            continue
        profile = found[workload]
        if profile is None:
            try:
                profile = count_and_cache(store, workload, allow_code=allow_code)
            except InputError as exc:
                if counting_error is None:
                    raise
                raise counting_error(i, exc) from None
        profiles[workload] = profile
    return profiles
