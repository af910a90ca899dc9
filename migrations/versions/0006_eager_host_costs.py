"""Calibration records keep eager PyTorch's host-only costs: a Python module call and a view op.

Two nullable float columns on `calibrations`: existing rows are kept as is (no figure: the
predictor uses the framework's seed figures, hardware_db/frameworks/pytorch.yaml).

Revision ID: 0006_eager_host_costs
Revises: 0005_serving_facts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_eager_host_costs"
down_revision = "0005_serving_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(sa.Column("module_call_us", sa.Float(), nullable=True))
        batch.add_column(sa.Column("view_op_us", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("view_op_us")
        batch.drop_column("module_call_us")
