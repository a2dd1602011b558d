"""scheduler lease: the fencing epoch of the replica that places jobs

Revision ID: 16a0c0de0001
Revises: 5ec0a11d0015
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = '16a0c0de0001'
down_revision: str | None = '5ec0a11d0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    lease = op.create_table(
        'scheduler_lease',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('epoch', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=255), nullable=True),
        sa.Column('machine', sa.String(length=255), nullable=True),
        sa.Column('acquired_at', app.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease')),
    )
    # The one row, there from the start: electing a leader is then an UPDATE, never a racing INSERT.
    op.bulk_insert(lease, [{'name': 'scheduler', 'epoch': 0}])


def downgrade() -> None:
    op.drop_table('scheduler_lease')
