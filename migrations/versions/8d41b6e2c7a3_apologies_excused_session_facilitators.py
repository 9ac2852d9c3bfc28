"""Apologies excused per cohort; facilitators assigned to sessions; the cohort an email is about

Revision ID: 8d41b6e2c7a3
Revises: 3f9a7c1e5d02
Create Date: 2026-11-30 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d41b6e2c7a3'
down_revision = '3f9a7c1e5d02'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cohort_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_cohort_id'), ['cohort_id'], unique=False)
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('apologies_excused', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'session_facilitators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'],
                                name=op.f('fk_session_facilitators_session_id_programme_sessions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_facilitators_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_facilitators')),
        sa.UniqueConstraint('session_id', 'user_id', name='uq_session_facilitators_session_id_user_id'),
    )
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_facilitators_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_facilitators_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_facilitators_user_id'))
        batch_op.drop_index(batch_op.f('ix_session_facilitators_session_id'))
    op.drop_table('session_facilitators')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('apologies_excused')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_cohort_id'))
        batch_op.drop_column('cohort_id')
