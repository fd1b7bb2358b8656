"""execution list indexes: newest-first pages without sorting the whole table

Revision ID: 3c1d2e4f5a6b
Revises: 958940153e8b
Create Date: 2026-11-29 12:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '3c1d2e4f5a6b'
down_revision: str | None = '958940153e8b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.create_index('ix_executions_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_executions_project_created', ['project_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_project_created')
        batch_op.drop_index('ix_executions_created')
