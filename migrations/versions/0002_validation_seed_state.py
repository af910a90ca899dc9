"""Validation results for `advisor validate`, seed bookkeeping, NPU and sparse-headline columns.

Adds tables and nullable columns only, so every existing row (seed or user) is kept as is;
the seed refresh that follows an upgrade fills the new columns of seed rows.

Revision ID: 0002_validation_seed_state
Revises: 0001_initial_schema
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_validation_seed_state"
down_revision = "0001_initial_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(sa.Column("npu_peaks", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sparse_headline", sa.JSON(), nullable=True))

    op.create_table(
        "validation_results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("precision", sa.String(), nullable=False),
        sa.Column("framework", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("predicted_ms", sa.Float(), nullable=False),
        sa.Column("measured_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_validation_results_model", "validation_results", ["model"])
    op.create_index("ix_validation_results_target", "validation_results", ["target"])

    op.create_table(
        "seed_state",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("seed_state")
    op.drop_index("ix_validation_results_target", table_name="validation_results")
    op.drop_index("ix_validation_results_model", table_name="validation_results")
    op.drop_table("validation_results")
    with op.batch_alter_table("platforms") as batch:
        batch.drop_column("sparse_headline")
        batch.drop_column("npu_peaks")
