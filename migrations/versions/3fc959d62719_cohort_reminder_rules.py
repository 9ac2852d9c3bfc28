"""Cohort reminder rules: each cohort's own timing for a reminder rule, or the default when no row

Revision ID: 3fc959d62719
Revises: c152f001f87c
Create Date: 2026-11-23 15:55:07.465348

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3fc959d62719'
down_revision = 'c152f001f87c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cohort_reminder_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('rule_key', sa.String(length=40), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('days', sa.JSON(), nullable=True),
    sa.Column('at_minute', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Integer(), nullable=True),
    sa.Column('every_days', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('at_minute IS NULL OR (at_minute >= 0 AND at_minute < 1440)', name=op.f('ck_cohort_reminder_rules_at_minute_range')),
    sa.CheckConstraint('every_days IS NULL OR every_days > 0', name=op.f('ck_cohort_reminder_rules_every_days_positive')),
    sa.CheckConstraint('hours IS NULL OR hours > 0', name=op.f('ck_cohort_reminder_rules_hours_positive')),
    sa.CheckConstraint('revision > 0', name=op.f('ck_cohort_reminder_rules_revision_positive')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_cohort_reminder_rules_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_cohort_reminder_rules_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohort_reminder_rules')),
    sa.UniqueConstraint('cohort_id', 'rule_key', name='uq_cohort_reminder_rules_cohort_id_rule_key')
    )
    with op.batch_alter_table('cohort_reminder_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohort_reminder_rules_cohort_id'), ['cohort_id'], unique=False)



def downgrade():
    with op.batch_alter_table('cohort_reminder_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohort_reminder_rules_cohort_id'))

    op.drop_table('cohort_reminder_rules')
