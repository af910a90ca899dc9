"""Calibration records keep a convolution figure and curve of their own.

Why: eager PyTorch on a CPU runs convolutions in oneDNN and GEMMs in its BLAS (MKL/OpenBLAS);
on an AMD EPYC the convolutions reached 0.47 TFLOPS where torch.mm reached 0.23, so one
"matmul" figure and curve cannot price both. Two nullable JSON columns on `calibrations`:
existing rows are kept as is (no figure: convolutions use matmul_tflops and its curve).

Revision ID: 0007_calibration_conv_figures
Revises: 0006_eager_host_costs
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_calibration_conv_figures"
down_revision = "0006_eager_host_costs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(sa.Column("conv_tflops", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("conv_utilisation_curve", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("conv_utilisation_curve")
        batch.drop_column("conv_tflops")
