"""Serving facts for `advisor plan`: platform interconnect and price, framework serving traits.

Three nullable JSON columns: every existing row is kept as is (no interconnect: the platform is
planned on one device; no price: cost is unknown; no serving traits: not an LLM server). The
seed refresh that follows an upgrade fills them for seed rows.

Revision ID: 0005_serving_facts
Revises: 0004_calibration_corrections
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_serving_facts"
down_revision = "0004_calibration_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(sa.Column("interconnect", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("price_per_device_hour", sa.JSON(), nullable=True))
    with op.batch_alter_table("frameworks") as batch:
        batch.add_column(sa.Column("serving", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("frameworks") as batch:
        batch.drop_column("serving")
    with op.batch_alter_table("platforms") as batch:
        batch.drop_column("price_per_device_hour")
        batch.drop_column("interconnect")
