"""advisor.settings: the environment read in one place, with the old parsing rules."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.settings import Settings, calibrate_quick, database_url


def test_defaults_when_nothing_is_set() -> None:
    assert Settings.from_env({}) == Settings(db_url=None, api_token=None, recommend_cache_size=512, calibrate_quick=False)


def test_values_and_empty_strings() -> None:
    env = {"ADVISOR_DB": "sqlite:////tmp/x.db", "ADVISOR_API_TOKEN": "", "ADVISOR_RECOMMEND_CACHE_SIZE": "0",
           "ADVISOR_CALIBRATE_QUICK": " yes "}
    settings = Settings.from_env(env)
    assert settings.db_url == "sqlite:////tmp/x.db"
    assert settings.api_token is None  # "" counts as unset: writes are refused
    assert settings.recommend_cache_size == 0
    assert settings.calibrate_quick is True
    assert database_url({"ADVISOR_DB": ""}) is None


@pytest.mark.parametrize(("text", "quick"), [("", False), ("0", False), ("false", False), ("no", False), ("1", True)])
def test_calibrate_quick(text: str, quick: bool) -> None:
    assert calibrate_quick({"ADVISOR_CALIBRATE_QUICK": text}) is quick


def test_bad_cache_size_names_the_variable() -> None:
    with pytest.raises(InputError, match="ADVISOR_RECOMMEND_CACHE_SIZE: expected a whole number, got 'lots'"):
        Settings.from_env({"ADVISOR_RECOMMEND_CACHE_SIZE": "lots"})
    # the other settings do not depend on it
    assert database_url({"ADVISOR_RECOMMEND_CACHE_SIZE": "lots", "ADVISOR_DB": "a.db"}) == "a.db"


def test_resolve_url_reads_advisor_db(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from advisor.db.locations import resolve_url

    monkeypatch.setenv("ADVISOR_DB", str(tmp_path / "my.db"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'my.db'}"
    assert resolve_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
