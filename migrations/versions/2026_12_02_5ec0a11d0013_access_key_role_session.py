"""role session of temporary access keys

STS AssumeRole issues temporary keys like a job's, for a role of the caller's account and a session name;
`role_session` keeps `<role name>/<session name>` so GetCallerIdentity can name the assumed-role ARN.

Revision ID: 5ec0a11d0013
Revises: 16a0c0de0001
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5ec0a11d0013'
down_revision: str | None = '16a0c0de0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role_session', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.drop_column('role_session')
