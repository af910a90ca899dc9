"""recommend across several targets and batches: nothing silently kept-last, best batch per
candidate under the latency budget."""

from __future__ import annotations

import pytest

from advisor.recommend.engine import recommend
from advisor.recommend.sweep import sweep
from advisor.recommend.types import RecommendRequest

REQUEST = RecommendRequest(models=["resnet18"], target="l4", frameworks=["tensorrt"], precisions=["fp16", "int8"],
                           max_latency_ms=5.0)


@pytest.fixture()
def store(isolated_db):
    from advisor.db.store import open_store

    return open_store(isolated_db, readonly=True)


def test_throughput_picks_the_best_batch_under_the_latency_budget(store):
    result = sweep(store, REQUEST, ["l4", "t4"], [1, 4, 16], optimize="throughput")
    assert {c.target for c in result.candidates} == {"l4", "t4"}
    for c in result.candidates:
        assert c.latency_ms <= 5.0
        # independent check: recommend at each batch on its own, keep the fastest-throughput one
        per_batch = []
        for batch in (1, 4, 16):
            rec = recommend(store, REQUEST.model_copy(update={"target": c.target, "batch": batch}))
            per_batch += [(x.throughput_per_s, batch) for x in rec.candidates
                          if (x.model, x.framework, x.precision) == (c.model, c.framework, c.precision)]
        assert (c.throughput_per_s, c.batch) == max(per_batch)
    throughputs = [c.throughput_per_s for c in result.candidates]
    assert throughputs == sorted(throughputs, reverse=True)
    assert [c.rank for c in result.candidates] == list(range(1, len(result.candidates) + 1))


def test_latency_keeps_every_target_and_batch(store):
    result = sweep(store, REQUEST.model_copy(update={"top": 3}), ["l4", "t4"], [1, 4], optimize="latency")
    assert len(result.candidates) == 3
    full = sweep(store, REQUEST, ["l4", "t4"], [1, 4], optimize="latency")
    assert {(c.target, c.batch) for c in full.candidates} == {("l4", 1), ("l4", 4), ("t4", 1), ("t4", 4)}
    latencies = [c.latency_ms for c in full.candidates]
    assert latencies == sorted(latencies)
    assert result.candidates == full.candidates[:3]


def test_cli_compares_every_target_and_batch(sqlite_db_url):
    import json

    from factories_predict import run_cli

    done = run_cli("recommend", "--model", "resnet18", "--target", "l4", "--target", "t4", "--batch", "1,4",
                   "--frameworks", "tensorrt", "--precisions", "fp16", "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {(c["target"], c["batch"]) for c in out["candidates"]} == {("l4", 1), ("l4", 4), ("t4", 1), ("t4", 4)}
    best = run_cli("recommend", "--model", "resnet18", "--target", "l4", "--batch", "1,4,16", "--optimize",
                   "throughput", "--max-latency-ms", "5", "--frameworks", "tensorrt", "--precisions", "fp16",
                   "--format", "json")
    assert best.returncode == 0, best.stderr
    (only,) = json.loads(best.stdout)["candidates"]
    assert only["latency_ms"] <= 5 and only["batch"] in (1, 4, 16)
    bad = run_cli("recommend", "--model", "resnet18", "--target", "l4", "--batch", "0,4")
    assert bad.returncode == 2 and "--batch '0,4'" in bad.stderr
