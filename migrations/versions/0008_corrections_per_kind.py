"""Fitted corrections are kept per workload kind: old records keep applying to every kind.

Why: `advisor fit` now fits whole networks, an LLM's prefill and its decode apart, stores the
phases' figures under keys with a suffix (``llama-cpp/gguf@decode``), and a prediction takes only
its own kind's figures. A record written before could have been fitted on any kind, and its
unsuffixed keys would now reach whole networks only; so each unsuffixed key (and its source note)
is copied to ``@prefill`` and ``@decode``, and every prediction it corrected before it still
corrects. No schema change.

Revision ID: 0008_corrections_per_kind
Revises: 0007_calibration_conv_figures
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_corrections_per_kind"
down_revision = "0007_calibration_conv_figures"
branch_labels = None
depends_on = None

#: the LLM phases a legacy (unsuffixed) correction is copied to
PHASES = ("prefill", "decode")

calibrations = sa.table("calibrations", sa.column("id", sa.Integer), sa.column("corrections", sa.JSON),
                        sa.column("correction_sources", sa.JSON))


def _with_phases(values: dict | None) -> dict | None:
    if not values:
        return values
    legacy = {key: value for key, value in values.items() if "@" not in key}
    return values | {f"{key}@{phase}": value for key, value in legacy.items() for phase in PHASES}


def _without_phases(values: dict | None) -> dict | None:
    if not values:
        return values
    return {key: value for key, value in values.items() if "@" not in key}


def _rewrite(change) -> None:  # noqa: ANN001
    conn = op.get_bind()
    rows = conn.execute(sa.select(calibrations.c.id, calibrations.c.corrections, calibrations.c.correction_sources)
                        .where(calibrations.c.corrections.isnot(None))).all()
    for row_id, corrections, sources in rows:
        conn.execute(calibrations.update().where(calibrations.c.id == row_id)
                     .values(corrections=change(corrections), correction_sources=change(sources)))


def upgrade() -> None:
    _rewrite(_with_phases)


def downgrade() -> None:
    _rewrite(_without_phases)
