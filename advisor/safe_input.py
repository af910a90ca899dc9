"""One bounded reader for every file and request body the advisor parses.

Why: platform files, gate configs, baselines and the service's bodies come from people
and pipelines we do not control. Each reader used to check ``st_size`` and then read the
whole file (a FIFO hangs, ``/dev/zero`` fills memory), and PyYAML expands aliases (a
few hundred bytes of "billion laughs" become gigabytes), recurses once per nesting level
(5,000 levels: a RecursionError) and converts integers of any length (5,000 digits: a
ValueError from Python's own digit limit). Here, every one of those is refused before it
costs anything, with one line that names the file (or body) and the problem and never
echoes the input back:

- regular files only, and at most ``limit`` bytes are read whatever the file claims;
- UTF-8 text only;
- YAML: aliases refused, nesting depth capped, duplicate keys refused;
- JSON: nesting depth capped, duplicate keys refused, NaN/Infinity refused;
- both: integers capped in digits, floats must be finite.

Standard library and PyYAML only (PyYAML imported on first use), so any stage may use it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
from itertools import accumulate
from pathlib import Path
from typing import Any

from advisor.errors import InputError

#: A platform, framework or gate file is a few kB; a baseline a few hundred.
DEFAULT_LIMIT_BYTES = 1_000_000
#: Deeper than any document the advisor reads (a platform file nests 4 levels).
MAX_DEPTH = 32
#: Digits of the largest integer accepted (a FLOP count of 10^30 fits; no figure is larger).
MAX_INT_DIGITS = 30
#: Characters of a key or value shown in an error message.
SHOWN_CHARS = 40


def describe(value: object, limit: int = SHOWN_CHARS) -> str:
    """A short, printable rendering of a user-supplied value for an error message:
    control characters (ANSI/OSC escapes) shown as \\x1b, cut to ``limit`` characters."""
    text = str(value)
    cut = len(text) > limit
    text = text[:limit]
    return printable(text) + ("..." if cut else "")


def control_character(text: str, *, allow_newlines: bool = False) -> str | None:
    """The first control or format character in ``text`` (as U+XXXX), else None.

    Escape sequences (ESC, the C1 CSI/OSC bytes), bidi overrides and other invisible
    format characters can rewrite a terminal or hide text in it; names and notes never
    need them. ``allow_newlines`` lets multi-line notes keep newlines and tabs."""
    for ch in text:
        if allow_newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
            return f"U+{ord(ch):04X}"
    return None


# ---------------------------------------------------------------------- bytes
def read_bytes(path: Path | str, limit: int = DEFAULT_LIMIT_BYTES, *, what: str = "file") -> bytes:
    """The bytes of a regular file, at most ``limit`` of them.

    Opened without blocking (a FIFO with no writer would wait forever) and checked with
    fstat on the open descriptor (no race with a rename); character devices, FIFOs,
    sockets and directories are refused. The read stops at ``limit`` + 1 bytes, so a
    file that grows, or lies about its size, never costs more than the limit."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{path}: cannot read {what}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: not a regular file ({_file_kind(mode)}); expected a {what}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            except BlockingIOError:  # pragma: no cover - regular files never block
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{path}: {what} is over the limit of {limit} bytes")
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def decode_text(raw: bytes, source: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or an InputError naming the byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def read_text(path: Path | str, limit: int = DEFAULT_LIMIT_BYTES, *, what: str = "file") -> str:
    return decode_text(read_bytes(path, limit, what=what), str(path))


# ---------------------------------------------------------------------- YAML
def _bounded_loader() -> type:
    """A SafeLoader subclass with the limits above (built on first use: PyYAML is lazy)."""
    import yaml
    from yaml.composer import ComposerError
    from yaml.constructor import ConstructorError

    class BoundedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's API
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise ComposerError(None, None, "YAML aliases (*name) are not accepted", mark)
            if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
                return super().compose_node(parent, index)
            self.depth += 1  # containers only, as json_depth counts them
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # noqa: ANN401
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeConstructor says so below
                    continue
                if duplicate:
                    raise ConstructorError(None, None, f"duplicate key '{describe(key)}'", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node: Any) -> int:
            digits = re.sub(r"[^0-9a-fA-F]", "", str(node.value))
            if len(digits) > MAX_INT_DIGITS:
                raise ConstructorError(None, None, f"integer of {len(digits)} digits is over the "
                                       f"{MAX_INT_DIGITS}-digit limit", node.start_mark)
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node: Any) -> float:
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                raise ConstructorError(None, None, "non-finite number (.inf or .nan) is not accepted",
                                       node.start_mark)
            return value

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)
    BoundedLoader.add_constructor("tag:yaml.org,2002:float", BoundedLoader.construct_yaml_float)
    return BoundedLoader


_LOADER: type | None = None


def load_yaml(text: str, source: str) -> Any:  # noqa: ANN401 - any YAML document
    """Parse one YAML document within the limits; InputError "source: invalid YAML at
    line L, column C: problem" otherwise. An empty document is None."""
    global _LOADER  # noqa: PLW0603 - a class built once, not state
    import yaml

    if _LOADER is None:
        _LOADER = _bounded_loader()
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        if isinstance(exc, yaml.reader.ReaderError):  # a control character in the text itself
            where, problem = f" at character {exc.position}", f"{exc.reason} (U+{exc.character:04X})" \
                if isinstance(exc.character, int) else exc.reason
        raise InputError(f"{source}: invalid YAML{where}: {printable(problem)}") from None
    except RecursionError:  # pragma: no cover - the depth limit stops nesting long before
        raise InputError(f"{source}: invalid YAML: nested too deeply") from None


def printable(text: str) -> str:
    """``text`` with every non-printable character written as an escape (\\x1b): safe to
    print to a terminal whatever a user or a file put in it."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


# ---------------------------------------------------------------------- JSON
class _Refused(ValueError):
    """A value the JSON hooks refuse; json.loads lets it through unchanged."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key '{describe(key)}'")
        out[key] = value
    return out


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"integer of {digits} digits is over the {MAX_INT_DIGITS}-digit limit")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number too large for a float ({len(text)} characters)")
    return value


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number (only finite numbers are accepted)")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in ``text`` (strings skipped), without
    recursing: the depth check must not itself overflow the stack."""
    brackets = _BRACKET.findall(_STRING.sub("", text))
    if not brackets:
        return 0
    return max(0, max(accumulate(1 if b in "[{" else -1 for b in brackets)))


def load_json(text: str, source: str) -> Any:  # noqa: ANN401 - any JSON document
    """Parse JSON within the limits; InputError "source: invalid JSON...: problem" otherwise."""
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise InputError(f"{source}: invalid JSON: nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_int=_bounded_int,
                          parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except _Refused as exc:
        raise InputError(f"{source}: invalid JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:  # pragma: no cover - limits above come first
        raise InputError(f"{source}: invalid JSON: {type(exc).__name__}") from None


# ---------------------------------------------------------------------- files
def read_yaml_file(path: Path | str, limit: int = DEFAULT_LIMIT_BYTES, *, what: str = "YAML file") -> Any:  # noqa: ANN401
    """A YAML file read and parsed within every limit above (None when it is empty)."""
    return load_yaml(read_text(path, limit, what=what), str(path))


def read_json_file(path: Path | str, limit: int = DEFAULT_LIMIT_BYTES, *, what: str = "JSON file") -> Any:  # noqa: ANN401
    """A JSON file read and parsed within every limit above."""
    return load_json(read_text(path, limit, what=what), str(path))


__all__ = [
    "DEFAULT_LIMIT_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "control_character", "decode_text", "describe",
    "json_depth", "load_json", "load_yaml", "printable", "read_bytes", "read_json_file", "read_text", "read_yaml_file",
]
