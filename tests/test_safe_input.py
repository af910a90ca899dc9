"""advisor.safe_input: the one bounded reader for files and bodies (issue 14, finding 3).

Each hostile input of the finding is read here with a wall-clock bound far below what
it cost before (billion laughs: 55 s and 2.5 GB; /dev/zero: all memory; a FIFO: forever),
and must give one InputError line that names the source and does not echo the input.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.safe_input import (
    MAX_DEPTH,
    control_character,
    describe,
    json_depth,
    load_json,
    load_yaml,
    read_bytes,
    read_yaml_file,
)


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level nine aliases of the one before (9**9 = 387M leaves)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def one_line_error(fn, *args, limit_s: float = 5.0) -> str:
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        fn(*args)
    assert time.monotonic() - start < limit_s
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def test_billion_laughs_is_refused_at_the_first_alias(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    message = one_line_error(read_yaml_file, path, limit_s=2.0)
    assert message.startswith(f"{path}: invalid YAML at line 2")
    assert "aliases" in message and "lol" not in message


@pytest.mark.parametrize("text", [
    "x: " + "[" * 5000 + "]" * 5000,  # flow style
    "x:\n" + "".join("  " * i + "-\n" for i in range(1, 5000)),  # block style
])
def test_deep_nesting_is_refused_without_recursion(text: str) -> None:
    message = one_line_error(load_yaml, text, "deep.yaml")
    assert f"nested deeper than {MAX_DEPTH} levels" in message


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 1  # the document's top mapping is one level
    value = load_yaml("x: " + "[" * depth + "1" + "]" * depth, "ok.yaml")
    for _ in range(depth + 1):
        value = value["x"] if isinstance(value, dict) else value[0]
    assert value == 1


def test_huge_integers_and_non_finite_floats_are_refused() -> None:
    assert "5000 digits" in one_line_error(load_yaml, "units: " + "9" * 5000, "f.yaml")
    assert "400 digits" in one_line_error(load_yaml, "units: " + "1" * 400, "f.yaml")
    assert "non-finite" in one_line_error(load_yaml, "value: .inf", "f.yaml")
    assert "non-finite" in one_line_error(load_yaml, "value: .nan", "f.yaml")
    assert load_yaml("a: 123456789012\nb: 0x1F\nc: 2.5e+3\nd: true", "f.yaml") == {
        "a": 123456789012, "b": 31, "c": 2500.0, "d": True}


def test_duplicate_keys_are_refused_in_yaml_and_json() -> None:
    assert "duplicate key 'bandwidth_gbs'" in one_line_error(load_yaml, "bandwidth_gbs: 1\nbandwidth_gbs: 2", "f.yaml")
    assert "duplicate key 'id'" in one_line_error(load_json, '{"id": "a", "id": "b"}', "body")


@pytest.mark.parametrize("text, needle", [
    ('{"batch": NaN}', "NaN is not a JSON number"),
    ('{"batch": Infinity}', "Infinity is not a JSON number"),
    ('{"batch": -Infinity}', "-Infinity is not a JSON number"),
    ('{"bandwidth": 1e999}', "too large for a float"),
    ('{"units": ' + "9" * 5000 + "}", "5000 digits"),
    ("[" * 1000 + "]" * 1000, "nested deeper than"),
])
def test_json_limits(text: str, needle: str) -> None:
    assert needle in one_line_error(load_json, text, "body")


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "]]]\\"[["}]}') == 3
    assert load_json('{"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "body") == {"name": "[" * 38}


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(device: str) -> None:
    message = one_line_error(read_bytes, device, limit_s=1.0)
    assert message == f"{device}: not a regular file (a character device); expected a file"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "platform.yaml"
    os.mkfifo(fifo)
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(one_line_error(read_bytes, fifo, limit_s=2.0)), daemon=True)
    thread.start()
    thread.join(5.0)
    assert not thread.is_alive(), "reading a FIFO blocked"
    assert result == [f"{fifo}: not a regular file (a FIFO); expected a file"]


def test_reading_stops_at_the_limit_whatever_the_size_says(tmp_path: Path) -> None:
    # /proc files say st_size 0 and hold more: the limit is on bytes read, not on stat.
    assert os.stat("/proc/self/maps").st_size == 0
    assert "over the limit of 10 bytes" in one_line_error(read_bytes, "/proc/self/maps", 10)
    path = tmp_path / "ok.yaml"
    path.write_bytes(b"x" * 10)
    assert read_bytes(path, 10) == b"x" * 10
    assert "over the limit of 9 bytes" in one_line_error(read_bytes, path, 9)


def test_missing_directory_and_binary_files(tmp_path: Path) -> None:
    assert one_line_error(read_bytes, tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: cannot read file: no such file"
    assert "is a directory" in one_line_error(read_bytes, tmp_path) or "a directory" in one_line_error(read_bytes, tmp_path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"id: \xff\xfe")
    assert one_line_error(read_yaml_file, binary) == f"{binary}: not UTF-8 text (byte 4)"


def test_errors_never_echo_control_characters() -> None:
    raw = one_line_error(load_yaml, "\x1b]0;pwned\x07: 1", "f.yaml")
    assert raw == "f.yaml: invalid YAML at character 0: special characters are not allowed (U+001B)"
    message = one_line_error(load_yaml, '"\\e]0;pwned\\a": 1\n"\\e]0;pwned\\a": 2', "f.yaml")
    assert "\x1b" not in message and "\x07" not in message
    assert "duplicate key '\\x1b]0;pwned\\x07'" in message
    assert describe("a" * 100).endswith("...") and len(describe("a" * 100)) == 43


def test_control_characters_are_found() -> None:
    assert control_character("Jetson Orin Nano (8 GB)") is None
    assert control_character("evil\x1b[2J") == "U+001B"
    assert control_character("osc\x9d") == "U+009D"
    assert control_character("bidi\u202e") == "U+202E"
    assert control_character("two\nlines") == "U+000A"
    assert control_character("two\nlines\tok", allow_newlines=True) is None
