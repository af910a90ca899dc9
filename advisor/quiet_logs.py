"""A logger's level raised for the duration of a call, then restored.

Why: libraries advisor drives log through Python logging what advisor reports itself in one
line (torch.export.load logs a traceback before it raises; onnxruntime's quantizer logs its
advice through the root logger). One helper serves every place that quiets them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def logger_level(name: str | None, level: int) -> Iterator[None]:
    """Logger ``name`` (None: the root logger) at ``level`` inside the block, its own level
    again after it, whether the block returns or raises."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)
