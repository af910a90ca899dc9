"""Initial schema: platforms, frameworks, calibrations, profile cache.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial_schema"
down_revision = None
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("vendor", sa.String(), nullable=False),
        sa.Column("device_class", sa.String(), nullable=False),
        sa.Column("compute_capability", sa.String(), nullable=True),
        sa.Column("bandwidth_gbs", sa.Float(), nullable=False),
        sa.Column("capacity_gb", sa.Float(), nullable=False),
        sa.Column("matrix_peaks", sa.JSON(), nullable=False),
        sa.Column("vector_peaks", sa.JSON(), nullable=False),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.Column("power_w", sa.JSON(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("parallelism", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        *_stamps(),
    )
    for column in ("name", "vendor", "device_class", "origin"):
        op.create_index(f"ix_platforms_{column}", "platforms", [column])

    op.create_table(
        "frameworks",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("device_classes", sa.JSON(), nullable=False),
        sa.Column("support", sa.JSON(), nullable=False),
        sa.Column("int8_calibration", sa.String(), nullable=False),
        sa.Column("fusion", sa.JSON(), nullable=False),
        sa.Column("overhead", sa.JSON(), nullable=False),
        sa.Column("efficiency", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        *_stamps(),
    )
    for column in ("name", "origin"):
        op.create_index(f"ix_frameworks_{column}", "frameworks", [column])

    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform_id", sa.String(), nullable=False),
        sa.Column("framework_id", sa.String(), nullable=True),
        sa.Column("measured_at", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("tool_version", sa.String(), nullable=False),
        sa.Column("matmul_tflops", sa.JSON(), nullable=False),
        sa.Column("vector_tflops", sa.JSON(), nullable=False),
        sa.Column("bandwidth_gbs", sa.Float(), nullable=True),
        sa.Column("per_op_overhead_us", sa.Float(), nullable=True),
        sa.Column("graph_kernel_us", sa.Float(), nullable=True),
        sa.Column("utilisation_curve", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("platform_id", "framework_id", "measured_at"):
        op.create_index(f"ix_calibrations_{column}", "calibrations", [column])

    op.create_table(
        "profile_cache",
        sa.Column("key_sha256", sa.String(length=64), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profile_cache")
    op.drop_table("calibrations")
    op.drop_table("frameworks")
    op.drop_table("platforms")
