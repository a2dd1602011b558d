"""tuning jobs and trials

Hyperparameter tuning jobs and the trials (child training jobs) each launched, with the optimizer state
the tuner resumes from after a restart.

Revision ID: b742f410ec22
Revises: 5ec0a11d0003
Create Date: 2026-12-02 03:13:51.318178
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.db.base


revision: str = 'b742f410ec22'
down_revision: str | None = '5ec0a11d0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tuning_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('name_key', sa.String(length=32), nullable=False),
    sa.Column('arn', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('by_admin', sa.Boolean(), nullable=False),
    sa.Column('warm_start', sa.JSON(), nullable=False),
    sa.Column('failure_reason', sa.String(length=1024), nullable=True),
    sa.Column('completion_details', sa.JSON(), nullable=True),
    sa.Column('creation_time', app.db.base.UTCDateTime(), nullable=False),
    sa.Column('last_modified_time', app.db.base.UTCDateTime(), nullable=False),
    sa.Column('end_time', app.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tuning_jobs')),
    sa.UniqueConstraint('account_id', 'name_key', name=op.f('uq_tuning_jobs_account_id'))
    )
    with op.batch_alter_table('tuning_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tuning_jobs_status'), ['status'], unique=False)

    op.create_table('tuning_trials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tuning_job_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Integer(), nullable=False),
    sa.Column('training_job_name', sa.String(length=63), nullable=False),
    sa.Column('training_job_arn', sa.String(length=256), nullable=False),
    sa.Column('tuned', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('objective', sa.Float(), nullable=True),
    sa.Column('objective_status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=1024), nullable=True),
    sa.Column('retryable', sa.Boolean(), nullable=False),
    sa.Column('early_stopped', sa.Boolean(), nullable=False),
    sa.Column('intermediate', sa.JSON(), nullable=False),
    sa.Column('pruner_state', sa.JSON(), nullable=False),
    sa.Column('creation_time', app.db.base.UTCDateTime(), nullable=False),
    sa.Column('training_start_time', app.db.base.UTCDateTime(), nullable=True),
    sa.Column('training_end_time', app.db.base.UTCDateTime(), nullable=True),
    sa.Column('billable_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tuning_job_id'], ['tuning_jobs.id'], name=op.f('fk_tuning_trials_tuning_job_id_tuning_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tuning_trials')),
    sa.UniqueConstraint('tuning_job_id', 'number', name=op.f('uq_tuning_trials_tuning_job_id'))
    )


def downgrade() -> None:
    op.drop_table('tuning_trials')
    with op.batch_alter_table('tuning_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tuning_jobs_status'))

    op.drop_table('tuning_jobs')
