"""webhooks and schedules: forge webhook deliveries and cron schedule fire markers

Revision ID: 958940153e8b
Revises: 619575dbb81b
Create Date: 2026-11-29 06:12:26.630667
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '958940153e8b'
down_revision: str | None = '619575dbb81b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_deliveries',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=200), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=500), nullable=False),
    sa.Column('execution_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'cockroachdb').with_variant(advanced_alchemy.types.json.ORA_JSONB(), 'oracle').with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_webhook_deliveries_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('project_id', 'provider', 'idempotency_key', name='uq_webhook_deliveries_key')
    )
    op.create_index('ix_webhook_deliveries_project_created', 'webhook_deliveries', ['project_id', 'created_at'],
                    unique=False)

    op.create_table('schedule_fires',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('pipeline_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('scheduled_for', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('cron', sa.String(length=200), nullable=False),
    sa.Column('execution_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_schedule_fires_pipeline_id_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_fires')),
    sa.UniqueConstraint('pipeline_id', 'scheduled_for', name='uq_schedule_fires_slot')
    )


def downgrade() -> None:
    op.drop_table('schedule_fires')
    op.drop_index('ix_webhook_deliveries_project_created', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
