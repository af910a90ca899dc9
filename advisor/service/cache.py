"""Cache of recommend answers, valid exactly as long as what they were computed from.

A recommendation depends on the request, the profile (fixed by model, shape and advisor
version), the target platform, the framework traits and the target's calibration, all
read from the database at request time and hashed into the key: an edit through any
worker or host (shared PostgreSQL) changes the key, so a stale answer is never served.
The rules and predictor configs are read once per process, so they cannot change under
a cached answer of that process. Reading those rows costs a few
queries; recomputing the ranking costs a full prediction per candidate.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from advisor import __version__
from advisor.recommend.types import RecommendRequest

if TYPE_CHECKING:
    from advisor.db.store import Store


class RecommendCache:
    """A thread-safe LRU of serialised answers, bounded by entries and by bytes."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            payload = self._items.get(key)
            if payload is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return payload

    def put(self, key: str, payload: bytes) -> None:
        if self.max_entries <= 0 or len(payload) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = payload
            self._bytes += len(payload)
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)


def recommend_key(store: Store, request: RecommendRequest) -> str:
    """Hash of the request and of the state of every row the answer depends on.

    The state is one small SQL query, without building any spec (Store.answer_state):
    parsing the specs would cost more than a cached answer saves. An unknown target raises
    the store's InputError (with the nearest ids) before any model is profiled.
    """
    state = store.answer_state(request.target)
    if not any(kind == "platform" for kind, _, _ in state):
        store.get_platform(request.target)  # raises InputError naming the target and the nearest ids
    h = hashlib.sha256()
    for part in (__version__, request.model_dump_json(), repr(state)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()
