"""Mail retried with back-off over hours (first attempt kept); scheduler heartbeats for /healthz

Revision ID: 0c6d2e8f4b11
Revises: 5b8e1d7c9a20
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c6d2e8f4b11'
down_revision = '5b8e1d7c9a20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('scheduler_heartbeats',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade():
    op.drop_table('scheduler_heartbeats')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('first_attempted_at')
