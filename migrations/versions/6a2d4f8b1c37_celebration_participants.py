"""Celebration participants: each participant's own answer (coming or not) with access and dietary needs

Revision ID: 6a2d4f8b1c37
Revises: 4c7e19a2b6f0
Create Date: 2026-11-30 13:45:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '6a2d4f8b1c37'
down_revision = '4c7e19a2b6f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('celebration_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('is_coming', sa.Boolean(), nullable=False),
    sa.Column('access_needs', sa.Text(), nullable=False),
    sa.Column('dietary_needs', sa.Text(), nullable=False),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_celebration_participants_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_celebration_participants_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_celebration_participants')),
    sa.UniqueConstraint('enrolment_id', name='uq_celebration_participants_enrolment_id')
    )
    with op.batch_alter_table('celebration_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_celebration_participants_cohort_id'), ['cohort_id'], unique=False)


def downgrade():
    with op.batch_alter_table('celebration_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_celebration_participants_cohort_id'))

    op.drop_table('celebration_participants')
