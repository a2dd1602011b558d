"""account ownership of training jobs and tags

Every job and tag belongs to an account. Rows written before accounts existed take the account their
ARN already names (the server's configured account, `123456789012` unless it was changed); job names
become unique per account rather than globally.

Revision ID: 5ec0a11d0002
Revises: 5ec0a11d0001
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5ec0a11d0002'
down_revision: str | None = '5ec0a11d0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ACCOUNT = '123456789012'


def _account_of(arn: str) -> str:
    """The account field of an ARN (`arn:aws:sagemaker:<region>:<account>:...`), if it is one."""
    parts = arn.split(':')
    account = parts[4] if len(parts) > 5 else ''
    return account if len(account) == 12 and account.isdigit() else DEFAULT_ACCOUNT


def _fill_accounts(table: str, arn_column: str) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(f'SELECT DISTINCT {arn_column} FROM {table}')).scalars().all()
    if rows:
        connection.execute(
            sa.text(f'UPDATE {table} SET account_id = :account WHERE {arn_column} = :arn'),
            [{'account': _account_of(arn), 'arn': arn} for arn in rows],
        )


def upgrade() -> None:
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.String(length=12), nullable=True))
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.String(length=12), nullable=True))
    _fill_accounts('training_jobs', 'arn')
    _fill_accounts('tags', 'resource_arn')
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.String(length=12), nullable=False)
        batch_op.drop_constraint('uq_training_jobs_name_key', type_='unique')
        batch_op.create_unique_constraint(
            op.f('uq_training_jobs_account_id'), ['account_id', 'name_key']
        )
        batch_op.drop_index('ix_training_jobs_creation')
        batch_op.drop_index('ix_training_jobs_name')
        batch_op.create_index(
            'ix_training_jobs_account_creation', ['account_id', 'creation_time', 'id'], unique=False
        )
        batch_op.create_index('ix_training_jobs_account_name', ['account_id', 'name', 'id'], unique=False)
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.String(length=12), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_column('account_id')
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_training_jobs_account_name')
        batch_op.drop_index('ix_training_jobs_account_creation')
        batch_op.create_index('ix_training_jobs_name', ['name', 'id'], unique=False)
        batch_op.create_index('ix_training_jobs_creation', ['creation_time', 'id'], unique=False)
        batch_op.drop_constraint(op.f('uq_training_jobs_account_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_training_jobs_name_key'), ['name_key'])
        batch_op.drop_column('account_id')
