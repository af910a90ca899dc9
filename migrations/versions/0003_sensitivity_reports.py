"""Sensitivity reports of `advisor sensitivity`, keyed by the SHA-256 of the weight files.

A new table only: every existing row is kept as is.

Revision ID: 0003_sensitivity_reports
Revises: 0002_validation_seed_state
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sensitivity_reports"
down_revision = "0002_validation_seed_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sensitivity_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("weights_sha256", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sensitivity_reports_weights_sha256", "sensitivity_reports", ["weights_sha256"])
    op.create_index("ix_sensitivity_reports_model", "sensitivity_reports", ["model"])


def downgrade() -> None:
    op.drop_index("ix_sensitivity_reports_model", table_name="sensitivity_reports")
    op.drop_index("ix_sensitivity_reports_weights_sha256", table_name="sensitivity_reports")
    op.drop_table("sensitivity_reports")
