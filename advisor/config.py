"""Where the YAML configuration files are and how they are read (configs/*.yaml).

One loader for every stage: the predictor's constants, the rules' thresholds. A file that
is missing, is not YAML or is not a mapping is an InputError naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from advisor.errors import InputError

if TYPE_CHECKING:
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def config_path(name: str, env: str) -> Path:
    """A config file: $ENV when set, else configs/NAME in the source tree."""
    override = os.environ.get(env)
    return Path(override) if override else CONFIG_DIR / name


def load_yaml(path: Path) -> dict[str, Any]:
    """A config file through the bounded reader (advisor.safe_input), which every file
    the advisor reads goes through."""
    from advisor.safe_input import read_yaml_file

    if not path.exists():
        raise InputError(f"config file not found: {path}")
    data = read_yaml_file(path, what="config file (YAML)")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return data


def load_config_model(path: Path, model: type[Model]) -> Model:
    """A config file validated as ``model``; a bad value is one InputError line naming the
    file and the field (the first error pydantic reports)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(load_yaml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{path}: field '{field}': {err['msg']}") from None
