"""metric point hosts

Each metric point names the VM whose log held it (`algo-1`...), for CloudWatch's `Host` dimension.
Points stored before have no host: they count for their job, not for any one VM.

Revision ID: 5ec0a11d0003
Revises: 5ec0a11d0013
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5ec0a11d0003'
down_revision: str | None = '5ec0a11d0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.drop_column('host')
