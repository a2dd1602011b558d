"""web console sessions

Signed-in console sessions live in the database (only the token's SHA-256), so several replicas sharing
it share the sessions.

Revision ID: 5ec0a11d0015
Revises: 5ec0a11d0002
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base


revision: str = '5ec0a11d0015'
down_revision: str | None = '5ec0a11d0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('access_key_id', sa.String(length=128), nullable=False),
        sa.Column('created_at', app.db.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', app.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_console_sessions')),
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_expires_at'))
    op.drop_table('console_sessions')
