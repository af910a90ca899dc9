"""POST /v1/profile's handler on a real database: the profile cache is read once per request,
and the work limits apply to a cache miss only (a cached answer builds nothing)."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.service.bodies import ProfileBody
from advisor.service.routes import profile


class CountingStore:
    """The database with its profile-cache reads counted."""

    def __init__(self, store) -> None:
        self.store = store
        self.cache_reads = 0

    def get_cached_profile(self, key: str) -> str | None:
        self.cache_reads += 1
        return self.store.get_cached_profile(key)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def test_a_cached_profile_is_read_once_and_a_miss_is_limited(db) -> None:
    store = CountingStore(db)
    small = ProfileBody(model="resnet18")
    counted = profile(store, small)  # a miss: limits checked, counted, cached
    assert counted["params"] == 11_689_512  # torchvision resnet18
    assert store.cache_reads == 1

    store.cache_reads = 0
    assert profile(store, small) == counted
    assert store.cache_reads == 1  # was 2: the limit check read the cache before profile_for did

    # 4096 x 3 x 224 x 224 = 616,562,688 input elements: over the limit when it would be counted ...
    big = ProfileBody(model="resnet18", batch=4096)
    with pytest.raises(InputError, match="batch x input shape is 616,562,688 elements, over the service's limit"):
        profile(store, big)
    # ... and answered from the cache, unchecked, once a profile is stored under its key
    db.put_cached_profile(big.workload().profile_cache_key(), db.get_cached_profile(small.workload().profile_cache_key()))
    store.cache_reads = 0
    assert profile(store, big)["params"] == 11_689_512
    assert store.cache_reads == 1
