"""Settings read from the environment, in one typed place.

Why: the database URL, the service's token and cache size and calibrate's quick mode used
to be read with ``os.environ.get`` wherever they were needed, each with its own parsing.
Callers now ask `Settings.from_env()` (or take a `Settings` built by a test); the
commands that need one variable only read it with its own function here, so that a bad
value of another (the service's cache size) cannot stop them. A standard
library dataclass, not pydantic-settings: `advisor hardware list` reads ADVISOR_DB and must
start fast. Bad values raise InputError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from advisor.errors import InputError

#: The database URL or SQLite path; unset: a SQLite file in the user's data directory.
ENV_DB = "ADVISOR_DB"
#: The bearer token the service requires for writes; unset: writes are refused.
ENV_API_TOKEN = "ADVISOR_API_TOKEN"
#: Entries in the service's cache of recommend answers (0 turns it off).
ENV_RECOMMEND_CACHE_SIZE = "ADVISOR_RECOMMEND_CACHE_SIZE"
#: Set (to anything but "", 0, false, no): `advisor calibrate` runs its quick budget.
ENV_CALIBRATE_QUICK = "ADVISOR_CALIBRATE_QUICK"
#: The only directory the service reads model files from (`advisor serve --models-dir`).
ENV_MODELS_DIR = "ADVISOR_MODELS_DIR"

#: Seconds a client has to send a whole request (head and body) before the service closes
#: the connection (slow clients holding sockets, issue 14); 0 turns the deadline off.
ENV_SERVICE_READ_TIMEOUT = "ADVISOR_SERVICE_READ_TIMEOUT_S"
#: Seconds the service may take to start answering a request before it answers 503.
ENV_REQUEST_BUDGET = "ADVISOR_REQUEST_BUDGET_S"
#: Rows the profile cache keeps; the oldest are evicted beyond it.
ENV_PROFILE_CACHE_ROWS = "ADVISOR_PROFILE_CACHE_ROWS"

DEFAULT_RECOMMEND_CACHE_SIZE = 512
#: nginx's client_header_timeout and client_body_timeout are 60 s each; half of that for
#: head and body together still lets a phone on a poor link send a platform file.
DEFAULT_SERVICE_READ_TIMEOUT_S = 30.0
#: Twice the 30 s a cold profile of the largest zoo model takes (advisor.service.server).
DEFAULT_REQUEST_BUDGET_S = 60.0
#: A profile is 10-500 kB of JSON: 1,000 rows stay under a few hundred MB at worst.
DEFAULT_PROFILE_CACHE_ROWS = 1000


@dataclass(frozen=True)
class Settings:
    """Everything the advisor takes from the environment. Empty strings count as unset."""

    db_url: str | None = None
    api_token: str | None = None
    recommend_cache_size: int = DEFAULT_RECOMMEND_CACHE_SIZE
    calibrate_quick: bool = False
    request_budget_s: float = DEFAULT_REQUEST_BUDGET_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            db_url=database_url(env),
            api_token=env.get(ENV_API_TOKEN) or None,
            recommend_cache_size=_whole_number(env, ENV_RECOMMEND_CACHE_SIZE, DEFAULT_RECOMMEND_CACHE_SIZE),
            calibrate_quick=calibrate_quick(env),
            request_budget_s=_seconds(env, ENV_REQUEST_BUDGET, DEFAULT_REQUEST_BUDGET_S),
        )


def database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """$ADVISOR_DB alone: every command needs it, and a bad value of another variable
    (the service's cache size) must not stop `hardware list`."""
    env = os.environ if environ is None else environ
    return env.get(ENV_DB) or None


def models_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """$ADVISOR_MODELS_DIR alone: the directory `advisor serve --models-dir` names (the
    service's workers inherit it); None: the service reads no model files."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_MODELS_DIR)
    return Path(value) if value else None


def calibrate_quick(environ: Mapping[str, str] | None = None) -> bool:
    """$ADVISOR_CALIBRATE_QUICK alone (calibrate needs nothing else from here)."""
    env = os.environ if environ is None else environ
    return env.get(ENV_CALIBRATE_QUICK, "").strip() not in ("", "0", "false", "no")


def service_read_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """$ADVISOR_SERVICE_READ_TIMEOUT_S alone (read by each connection's protocol)."""
    env = os.environ if environ is None else environ
    return _seconds(env, ENV_SERVICE_READ_TIMEOUT, DEFAULT_SERVICE_READ_TIMEOUT_S)


def profile_cache_rows(environ: Mapping[str, str] | None = None) -> int:
    """$ADVISOR_PROFILE_CACHE_ROWS alone (read by the profile cache's writer)."""
    env = os.environ if environ is None else environ
    rows = _whole_number(env, ENV_PROFILE_CACHE_ROWS, DEFAULT_PROFILE_CACHE_ROWS)
    if rows < 1:
        raise InputError(f"{ENV_PROFILE_CACHE_ROWS}: expected at least 1, got '{rows}'")
    return rows


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name}: expected a number of seconds, got '{text}'") from None
    if not 0 <= value < 1e6:
        raise InputError(f"{name}: expected seconds between 0 and 1000000, got '{text}'")
    return value


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name}: expected a whole number, got '{text}'") from None
