"""advisor.quiet_logs.logger_level: a logger's level for one block, restored after it."""

from __future__ import annotations

import logging

import pytest

from advisor.quiet_logs import logger_level


def test_the_level_holds_inside_and_is_restored_after() -> None:
    logger = logging.getLogger("advisor-test-quiet")
    logger.setLevel(logging.INFO)
    with logger_level("advisor-test-quiet", logging.CRITICAL):
        assert logger.level == logging.CRITICAL
        assert not logger.isEnabledFor(logging.ERROR)
    assert logger.level == logging.INFO


def test_the_root_logger_is_restored_when_the_block_raises() -> None:
    root = logging.getLogger()
    before = root.level
    with pytest.raises(RuntimeError), logger_level(None, logging.ERROR):
        assert root.level == logging.ERROR
        raise RuntimeError("boom")
    assert root.level == before
