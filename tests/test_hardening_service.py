"""Hostile requests to a real `advisor serve` (issue 14, findings 1, 2, 3 and 7).

Every request here is the one of the finding, sent without a token where the finding's
user had none. What must come back instead: a 4xx whose message names the limit or the
field (never a 500, never an echo of the input), and a database that did not grow or
change. One server (temp SQLite, small limits through the environment) serves the module.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service_server import Server, start_server

TOKEN = "hardening-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
READ_TIMEOUT_S = 2
PROFILE_CACHE_ROWS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hardening")
    (tmp / "secret-notes").write_text("a file in the server's working directory\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVISOR_SERVICE_READ_TIMEOUT_S", str(READ_TIMEOUT_S))
        mp.setenv("ADVISOR_PROFILE_CACHE_ROWS", str(PROFILE_CACHE_ROWS))
        mp.chdir(tmp)  # the server's working directory holds secret-notes
        srv = start_server(tmp, db_url=f"sqlite:///{tmp / 'advisor.db'}", token=TOKEN)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def db_path(server: Server) -> Path:
    return Path(server.env["ADVISOR_DB"].removeprefix("sqlite:///"))


def platform_doc(pid: str, **memory: float) -> dict:
    return {
        "id": pid, "name": f"Board {pid}", "vendor": "Example", "device_class": "edge_gpu_soc",
        "compute_capability": "8.7", "features": ["cuda", "fp16_arith", "tensor_cores"],
        "matrix_peaks": {"fp16": {"value": 10.0, "engine": "tensor", "source": "datasheet"}},
        "vector_peaks": {"fp32": {"value": 1.0, "engine": "vector", "source": "datasheet"}},
        "memory": {"capacity_gb": {"value": memory.get("capacity_gb", 8), "source": "datasheet"},
                   "bandwidth_gbs": {"value": memory.get("bandwidth_gbs", 51.2), "source": "datasheet"}},
        "parallelism": {"units": 8, "unit_kind": "sm", "clock_ghz": 1.0, "source": "datasheet"},
    }


def refused(r: httpx.Response, status: int = 422) -> str:
    """The one message of a refusal (FastAPI's 422 shape or a plain detail)."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    detail = r.json()["detail"]
    message = detail if isinstance(detail, str) else detail[0]["msg"]
    assert "\n" not in message
    return message


def platform_ids(client: httpx.Client) -> list[str]:
    return sorted(p["id"] for p in client.get("/v1/platforms").json())


# ---------------------------------------------------------------------- finding 1: work limits
def test_gate_applies_the_shape_limits(client: httpx.Client) -> None:
    body = {"models": ["resnet18"], "target": "t4", "input_shape": "1x3x100000x100000",
            "requirements": {"max_latency_ms": 100}}
    message = refused(client.post("/v1/gate", json=body))
    assert "over the service's limit" in message


@pytest.mark.parametrize("path, body, needle", [
    ("/v1/profile", {"model": "resnet18", "batch": 4096}, "batch x input shape is 616,562,688 elements"),
    ("/v1/predict", {"model": "fasterrcnn_resnet50_fpn", "batch": 4, "target": "t4", "precision": "fp16",
                     "framework": "tensorrt"}, "detection models run on real CPU tensors"),
    ("/v1/recommend", {"models": ["resnet18", "ssdlite320_mobilenet_v3_large"], "target": "t4", "batch": 64},
     "ssdlite320_mobilenet_v3_large"),
    ("/v1/gate", {"models": ["ssdlite320_mobilenet_v3_large"], "target": "t4", "batch": 4096,
                  "requirements": {"max_latency_ms": 100}}, "detection models run on real CPU tensors"),
], ids=["profile-batch-x-default", "predict-fasterrcnn", "recommend-ssdlite", "gate-ssdlite"])
def test_batch_times_the_default_shape_is_limited(client: httpx.Client, path: str, body: dict, needle: str) -> None:
    start = time.monotonic()
    message = refused(client.post(path, json=body))
    assert time.monotonic() - start < 30  # refused before anything is built
    assert needle in message and "limit" in message


def test_a_detection_model_at_batch_one_is_still_answered(client: httpx.Client) -> None:
    r = client.post("/v1/profile", json={"model": "ssdlite320_mobilenet_v3_large", "batch": 1})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["input_shape"] == [1, 3, 320, 320]


def test_the_profile_cache_is_bounded(client: httpx.Client, server: Server) -> None:
    for batch in range(1, PROFILE_CACHE_ROWS + 3):
        r = client.post("/v1/profile", json={"model": "mobilenet_v3_small", "batch": batch})
        assert r.status_code == 200, r.text[:300]
    with sqlite3.connect(db_path(server)) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM profile_cache")]
    assert len(keys) <= PROFILE_CACHE_ROWS
    # the newest entry is kept: the oldest are evicted first
    assert any("/mobilenet_v3_small/" in k and k.endswith(f"//{PROFILE_CACHE_ROWS + 2}///") for k in keys), keys


# ---------------------------------------------------------------------- finding 2: 500s
@pytest.mark.parametrize("raw", [
    b'{"model": "resnet18", "batch": NaN}',
    b'{"model": "resnet18", "batch": Infinity}',
    b'{"model": "resnet18", "target": "t4", "precision": "fp16", "framework": "tensorrt", "batch": -Infinity}',
])
def test_nan_and_infinity_in_a_body_are_422(client: httpx.Client, raw: bytes) -> None:
    message = refused(client.post("/v1/profile", content=raw, headers={"content-type": "application/json"}))
    assert "is not a JSON number" in message


@pytest.mark.parametrize("raw, ctype, needle", [
    (b"[" * 1000 + b"]" * 1000, "application/json", "nested deeper than 32 levels"),
    (b"id: " + b"[" * 1000 + b"]" * 1000, "application/yaml", "nested deeper than 32 levels"),
    (b'{"id": ' + b"9" * 5000 + b"}", "application/json", "integer of 5000 digits"),
    (b"id: " + b"9" * 5000, "application/yaml", "integer of 5000 digits"),
], ids=["json-1000-deep", "yaml-1000-deep", "json-5000-digits", "yaml-5000-digits"])
def test_deep_and_huge_platform_bodies_are_422(client: httpx.Client, raw: bytes, ctype: str, needle: str) -> None:
    before = platform_ids(client)
    message = refused(client.post("/v1/platforms", content=raw, headers={**AUTH, "content-type": ctype}))
    assert needle in message
    assert platform_ids(client) == before


def test_a_400_digit_unit_count_is_refused(client: httpx.Client) -> None:
    doc = platform_doc("many-units")
    doc["parallelism"]["units"] = int("1" * 400)
    import json

    raw = json.dumps(doc).encode()
    assert "integer of 400 digits" in refused(client.post("/v1/platforms", content=raw,
                                                          headers={**AUTH, "content-type": "application/json"}))
    doc["parallelism"]["units"] = 10**9  # within the digit limit, beyond any device
    r = client.post("/v1/platforms", json=doc, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-2:] == ["parallelism", "units"]
    assert "many-units" not in platform_ids(client)


def test_a_stored_row_out_of_range_is_one_line_not_a_500(client: httpx.Client, server: Server) -> None:
    """A row written before the ranges existed (or by hand) is refused when read."""
    assert client.post("/v1/platforms", json=platform_doc("old-row"), headers=AUTH).status_code == 201
    with sqlite3.connect(db_path(server)) as conn:
        (parallelism,) = conn.execute("SELECT parallelism FROM platforms WHERE id = 'old-row'").fetchone()
        conn.execute("UPDATE platforms SET parallelism = ? WHERE id = 'old-row'",
                     (parallelism.replace('"units": 8', '"units": ' + "1" * 400),))
    body = {"models": ["resnet18"], "target": "old-row"}
    for path, payload in (("/v1/recommend", body), ("/v1/predict", {
            "model": "resnet18", "target": "old-row", "precision": "fp16", "framework": "tensorrt"})):
        message = refused(client.post(path, json=payload))
        assert "old-row" in message and "parallelism.units" in message
    assert client.delete("/v1/platforms/old-row", headers=AUTH).status_code == 204


def test_a_denormal_bandwidth_is_refused(client: httpx.Client) -> None:
    r = client.post("/v1/platforms", json=platform_doc("tiny-bw", bandwidth_gbs=5e-324), headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-3:] == ["memory", "bandwidth_gbs", "value"]
    assert "tiny-bw" not in platform_ids(client)


def test_racing_puts_of_a_new_id_create_it_once(client: httpx.Client, server: Server) -> None:
    for attempt in range(3):
        pid = f"race-board-{attempt}"
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def put() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                barrier.wait()
                statuses.append(own.put(f"/v1/platforms/{pid}", json=platform_doc(pid), headers=AUTH).status_code)

        threads = [threading.Thread(target=put) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200] * 7 + [201], statuses


# ---------------------------------------------------------------------- finding 3: duplicate keys
@pytest.mark.parametrize("raw, ctype", [
    (b'{"id": "dup-a", "id": "dup-b"}', "application/json"),
    (b"id: dup-a\nid: dup-b\n", "application/yaml"),
])
def test_duplicate_keys_are_refused_by_the_service_too(client: httpx.Client, raw: bytes, ctype: str) -> None:
    assert "duplicate key 'id'" in refused(client.post("/v1/platforms", content=raw,
                                                      headers={**AUTH, "content-type": ctype}))


# ---------------------------------------------------------------------- finding 7: lesser
def test_the_service_does_not_reveal_which_files_exist(client: httpx.Client) -> None:
    present = client.post("/v1/profile", json={"model": "secret-notes"})
    absent = client.post("/v1/profile", json={"model": "secret-notez"})
    assert present.status_code == absent.status_code == 422
    assert refused(present).replace("secret-notes", "NAME") == refused(absent).replace("secret-notez", "NAME")


def test_escape_sequences_in_names_are_refused(client: httpx.Client) -> None:
    doc = platform_doc("ansi-board")
    doc["name"] = "Board \x1b]0;pwned\x07\x1b[2J"
    r = client.post("/v1/platforms", json=doc, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "name"
    assert "\x1b" not in r.text


@pytest.mark.parametrize("length", [64, 65, 100, 101])
def test_id_limits_agree_between_add_read_and_delete(client: httpx.Client, length: int) -> None:
    pid = ("a" * length)[:length]
    r = client.post("/v1/platforms", json=platform_doc(pid), headers=AUTH)
    if r.status_code == 422:
        return  # refused at add: then it can never be stranded
    assert r.status_code == 201, r.text
    assert client.get(f"/v1/platforms/{pid}").status_code == 200
    assert client.delete(f"/v1/platforms/{pid}", headers=AUTH).status_code == 204


def test_an_over_long_id_is_refused_at_add(client: httpx.Client) -> None:
    r = client.post("/v1/platforms", json=platform_doc("b" * 101), headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "id"


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("partial", [
    b"POST /v1/profile HTTP/1.1\r\nHost: x\r\nContent-Ty",  # half a head
    b"POST /v1/profile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo",
], ids=["partial-head", "partial-body"])
def test_slow_clients_are_disconnected(server: Server, partial: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(partial)
        start = time.monotonic()
        assert _closed_within(sock, READ_TIMEOUT_S + 8), "a partial request held its connection"
        assert time.monotonic() - start >= READ_TIMEOUT_S - 0.5


def test_the_service_still_answers(client: httpx.Client) -> None:
    r = client.post("/v1/predict", json={"model": "resnet18", "target": "t4", "precision": "fp16", "framework": "tensorrt"})
    assert r.status_code == 200 and r.json()["latency_ms"] > 0
