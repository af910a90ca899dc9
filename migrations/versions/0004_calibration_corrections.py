"""Calibration records keep the latency corrections `advisor fit` fitted, and their origin.

Two nullable JSON columns on `calibrations`: every existing row is kept as is (no
corrections: the predictor multiplies by 1).

Revision ID: 0004_calibration_corrections
Revises: 0003_sensitivity_reports
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_calibration_corrections"
down_revision = "0003_sensitivity_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(sa.Column("corrections", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("correction_sources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("correction_sources")
        batch.drop_column("corrections")
