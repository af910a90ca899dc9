"""TensorRT engines launched kernel by kernel against torch2trt's published Jetson AGX Xavier table.

torch2trt (github.com/NVIDIA-AI-IOT/torch2trt, docs/benchmarks/jetson_xavier.md; batch 1,
224x224, fp16) times ShuffleNetV2 at widths 0.5x, 1.0x, 1.5x and 2.0x at 2.17, 2.43, 2.37 and
2.48 ms: flat, although the 2.0x network does about 14x the 0.5x network's arithmetic. That is
an engine whose host cannot launch kernels as fast as the GPU finishes them (torch2trt calls
execute_async without a CUDA graph, on the Xavier's Carmel cores). A graph-replay price (2 us
per kernel as a floor, what TensorRT was priced at before) predicts 0.25-0.56 ms, growing with
width; the enqueue timeline (configs/predictor.yaml host.enqueue_kernel_us x the edge host
slowdown per kernel) must give the flat, overhead-bound regime within 2x of the measurements.
"""

from __future__ import annotations

import pytest

from advisor.db.profile_cache import profile_for
from advisor.predict.engine import predict
from advisor.predict.platform_corrections import NO_PLATFORM_CORRECTIONS
from advisor.workload import Workload
from factories_predict import seed_framework, seed_platform

MEASURED_MS = {"shufflenet_v2_x0_5": 2.17, "shufflenet_v2_x1_0": 2.43, "shufflenet_v2_x1_5": 2.37,
               "shufflenet_v2_x2_0": 2.48}


@pytest.fixture(scope="module")
def xavier_predictions():
    xavier, trt = seed_platform("jetson-agx-xavier"), seed_framework("tensorrt")
    replayed = trt.model_copy(update={"overhead": trt.overhead.model_copy(update={"enqueue": None})})
    out = {}
    # the roofline alone: the Xavier's published correction (configs/platform_corrections.yaml)
    # is fitted on these very rows, and the launch timeline is what is tested here
    alone = NO_PLATFORM_CORRECTIONS
    for model in MEASURED_MS:
        prof = profile_for(None, Workload(model=model, batch=1))
        out[model] = (predict(prof, xavier, trt, "fp16", platform_corrections=alone),
                      predict(prof, xavier, replayed, "fp16", platform_corrections=alone))
    return out


def test_enqueued_shufflenet_is_launch_bound_and_flat_over_width(xavier_predictions) -> None:
    enqueued = {m: p[0] for m, p in xavier_predictions.items()}
    assert all(p.bound == "overhead" for p in enqueued.values())
    widest, narrowest = enqueued["shufflenet_v2_x2_0"].latency_ms, enqueued["shufflenet_v2_x0_5"].latency_ms
    assert widest / narrowest < 1.2  # measured 2.48 / 2.17 = 1.14
    # the level: within 2x of every measurement (still optimistic, -35..-42% at 5 us per launch,
    # where graph replay was 4-9x too fast; the next test)
    for model, measured in MEASURED_MS.items():
        assert measured / 2 < enqueued[model].latency_ms < measured * 1.2
    assert "enqueues each kernel from the host" in enqueued["shufflenet_v2_x1_0"].provenance["overhead"]


def test_graph_replay_of_the_same_engine_would_grow_with_width(xavier_predictions) -> None:
    replayed = {m: p[1] for m, p in xavier_predictions.items()}
    assert replayed["shufflenet_v2_x2_0"].latency_ms / replayed["shufflenet_v2_x0_5"].latency_ms > 1.5
    assert all(replayed[m].latency_ms < MEASURED_MS[m] / 4 for m in MEASURED_MS)
