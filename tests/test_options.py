"""advisor.options: the one splitter of comma-separated option values (recommend, plan, the
CLI's --target, sensitivity's --schemes)."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.options import comma_list, split_names


def test_comma_list_flattens_repeated_options_and_drops_blanks() -> None:
    assert comma_list(["t4, a100", "", " ,h200,"]) == ["t4", "a100", "h200"]
    assert comma_list([]) == []


def test_split_names_keeps_none_and_names_the_option_when_empty() -> None:
    assert split_names("--frameworks", None) is None
    assert split_names("--frameworks", " tensorrt,,onnxruntime-gpu ") == ["tensorrt", "onnxruntime-gpu"]
    with pytest.raises(InputError, match=r"^--kv-cache ' , ': give comma-separated names$"):
        split_names("--kv-cache", " , ")


def test_recommend_and_plan_keep_their_messages() -> None:
    from advisor.plan.command import build_request as plan_request
    from advisor.recommend.command import build_request as recommend_request
    from advisor.workload import Workload

    with pytest.raises(InputError, match=r"^empty list ',': give comma-separated names$"):
        recommend_request(Workload(model="resnet18"), models=["resnet18"], target="t4", max_latency_ms=None,
                          min_throughput=None, max_memory_mb=None, frameworks=",", precisions=None, top=None)
    with pytest.raises(InputError, match=r"^--precisions ' ': give comma-separated names$"):
        plan_request(model="llama-7b", targets=["h200"], devices=None, input_len=128, output_len=128, ttft_ms=None,
                     tpot_ms=None, min_output_tokens_per_s=None, frameworks=None, precisions=" ", kv_cache=None,
                     prices=None)
