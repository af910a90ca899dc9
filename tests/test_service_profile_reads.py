"""POST /v1/predict, /v1/recommend and /v1/gate on a real database read each workload's
cached profile once: the service's work limits run on a cache miss only (they used to read the
cache a first time on their own, and the gate a third time), and on every model of a request
before any is counted, so a refused request caches nothing.

The app runs in-process on a fresh SQLite database; the only thing between the endpoints
and the store is a wrapper that counts profile-cache reads per key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from advisor.workload import Workload

# hand-computed from advisor.service.limits: real-tensor models may take 3 x 800 x 800 elements
REAL_LIMIT = "1,920,000"


class CountingStore:
    """The service's store with its profile-cache reads counted per key."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.reads: Counter[str] = Counter()

    def get_cached_profile(self, key: str) -> str | None:
        self.reads[key] += 1
        return self.store.get_cached_profile(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture()
def served(isolated_db: str) -> Iterator[tuple[Any, CountingStore]]:
    from fastapi.testclient import TestClient

    from advisor.service.app import create_app
    from advisor.service.deps import get_store

    app = create_app(db_url=isolated_db)
    with TestClient(app) as client:
        store = CountingStore(app.state.store)
        app.dependency_overrides[get_store] = lambda: store
        yield client, store


def key(model: str, **shape: Any) -> str:
    return Workload(model=model, **shape).profile_cache_key()


def refusal(r: Any) -> str:
    """The 422 body the service gives an InputError, with its one message."""
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body == {"detail": [{"loc": ["body"], "msg": body["detail"][0]["msg"], "type": "value_error"}]}
    return body["detail"][0]["msg"]


def cache_under(store: CountingStore, model: str, like: str, **shape: Any) -> None:
    """Store ``like``'s profile under the key of an over-limit workload: answering it must
    then skip the limits (nothing would be built)."""
    store.store.put_cached_profile(key(model, **shape), store.store.get_cached_profile(key(like)))


def test_predict_reads_the_cache_once(served: tuple[Any, CountingStore]) -> None:
    client, store = served
    body = {"model": "resnet18", "target": "t4", "precision": "fp16", "framework": "tensorrt"}
    cold = client.post("/v1/predict", json=body)  # a miss: limits checked, counted, cached
    assert cold.status_code == 200, cold.text[:300]
    assert store.reads == {key("resnet18"): 1}

    store.reads.clear()
    warm = client.post("/v1/predict", json=body)
    assert warm.json() == cold.json()
    assert store.reads == {key("resnet18"): 1}  # was 2: check_workload read it first

    # 4 x 3 x 800 x 800 = 7,680,000 elements of real CPU tensors: refused, nothing cached
    big = {**body, "model": "fasterrcnn_resnet50_fpn", "batch": 4}
    store.reads.clear()
    assert refusal(client.post("/v1/predict", json=big)) == (
        "fasterrcnn_resnet50_fpn: batch x input shape is 7,680,000 elements, over the service's limit of "
        f"{REAL_LIMIT} (detection models run on real CPU tensors)")
    assert store.reads == {key("fasterrcnn_resnet50_fpn", batch=4): 1}
    assert store.store.get_cached_profile(key("fasterrcnn_resnet50_fpn", batch=4)) is None

    cache_under(store, "fasterrcnn_resnet50_fpn", "resnet18", batch=4)
    store.reads.clear()
    answered = client.post("/v1/predict", json=big)
    assert answered.status_code == 200, answered.text[:300]
    assert store.reads == {key("fasterrcnn_resnet50_fpn", batch=4): 1}


def test_recommend_reads_the_cache_once_per_model(served: tuple[Any, CountingStore]) -> None:
    client, store = served
    body = {"models": ["resnet18", "mobilenet_v3_small"], "target": "t4"}
    cold = client.post("/v1/recommend", json=body)
    assert cold.status_code == 200, cold.text[:300]
    assert {c["model"] for c in cold.json()["candidates"]} == {"resnet18", "mobilenet_v3_small"}
    assert store.reads == {key("resnet18"): 1, key("mobilenet_v3_small"): 1}

    store.reads.clear()  # the same request: the service's answer cache, no profile read at all
    assert client.post("/v1/recommend", json=body).content == cold.content
    assert store.reads == {}

    store.reads.clear()  # another request on the same profiles: ranked again, one read each
    explained = client.post("/v1/recommend", json={**body, "explain": True})
    assert explained.status_code == 200, explained.text[:300]
    assert store.reads == {key("resnet18"): 1, key("mobilenet_v3_small"): 1}

    # 64 x 3 x 320 x 320 = 19,660,800 elements: refused with the message the route gave before
    big = {"models": ["ssdlite320_mobilenet_v3_large"], "target": "t4", "batch": 64}
    store.reads.clear()
    assert refusal(client.post("/v1/recommend", json=big)) == (
        "ssdlite320_mobilenet_v3_large: batch x input shape is 19,660,800 elements, over the service's limit of "
        f"{REAL_LIMIT} (detection models run on real CPU tensors)")
    assert store.reads == {key("ssdlite320_mobilenet_v3_large", batch=64): 1}

    cache_under(store, "ssdlite320_mobilenet_v3_large", "mobilenet_v3_small", batch=64)
    store.reads.clear()
    answered = client.post("/v1/recommend", json=big)
    assert answered.status_code == 200, answered.text[:300]
    assert store.reads == {key("ssdlite320_mobilenet_v3_large", batch=64): 1}


def test_gate_reads_the_cache_once_per_model(served: tuple[Any, CountingStore]) -> None:
    client, store = served
    body = {"models": ["resnet18", "mobilenet_v3_small"], "target": "t4", "requirements": {"max_latency_ms": 100}}
    cold = client.post("/v1/gate", json=body)
    assert cold.status_code == 200, cold.text[:300]
    assert cold.json()["passed"] is True
    # was 3 each: the route's limit check, the gate's own lookup and the recommender's
    assert store.reads == {key("resnet18"): 1, key("mobilenet_v3_small"): 1}

    store.reads.clear()
    assert client.post("/v1/gate", json=body).json()["candidates"] == cold.json()["candidates"]
    assert store.reads == {key("resnet18"): 1, key("mobilenet_v3_small"): 1}

    # the limit's own message, not prefixed with the gate's "body: models[0]:" (as before)
    big = {"models": ["ssdlite320_mobilenet_v3_large"], "target": "t4", "batch": 4096,
           "requirements": {"max_latency_ms": 100}}
    store.reads.clear()
    assert refusal(client.post("/v1/gate", json=big)) == (
        "ssdlite320_mobilenet_v3_large: batch x input shape is 1,258,291,200 elements, over the service's "
        f"limit of {REAL_LIMIT} (detection models run on real CPU tensors)")
    assert store.reads == {key("ssdlite320_mobilenet_v3_large", batch=4096): 1}

    cache_under(store, "ssdlite320_mobilenet_v3_large", "mobilenet_v3_small", batch=4096)
    store.reads.clear()
    answered = client.post("/v1/gate", json=big)
    assert answered.status_code == 200, answered.text[:300]
    assert store.reads == {key("ssdlite320_mobilenet_v3_large", batch=4096): 1}


def test_a_bad_model_in_a_gate_is_still_named_by_its_field(served: tuple[Any, CountingStore]) -> None:
    """Only the limits' refusal is passed through as it is: other errors keep the gate's prefix."""
    client, _ = served
    body = {"models": ["resnet18", "resnet_nineteen"], "target": "t4", "requirements": {"max_latency_ms": 100}}
    assert refusal(client.post("/v1/gate", json=body)).startswith("body: models[1]: ")


@pytest.mark.parametrize("route", ["/v1/recommend", "/v1/gate"])
def test_a_refused_request_counts_and_caches_nothing(served: tuple[Any, CountingStore], route: str) -> None:
    """All or nothing: the limits of every model are checked before any is counted, so a request
    whose second model is over the limit leaves the store as it was (its cheap first model is
    not counted and cached either)."""
    client, store = served
    body: dict[str, Any] = {"models": ["resnet18", "ssdlite320_mobilenet_v3_large"], "target": "t4", "batch": 64}
    if route == "/v1/gate":
        body["requirements"] = {"max_latency_ms": 100}
    assert "over the service's limit" in refusal(client.post(route, json=body))
    assert store.store.get_cached_profile(key("resnet18", batch=64)) is None
    assert store.reads == {key("resnet18", batch=64): 1, key("ssdlite320_mobilenet_v3_large", batch=64): 1}
    # the same request within the limits is answered, and only then is resnet18 cached
    ok = client.post(route, json={**body, "models": ["resnet18"]})
    assert ok.status_code == 200, ok.text[:300]
    assert store.store.get_cached_profile(key("resnet18", batch=64)) is not None
