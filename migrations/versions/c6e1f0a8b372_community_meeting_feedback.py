"""Feedback after each community meeting: each community's questions, receipts of who answered apart from
what was said, anonymous answers held back sealed until the meeting's feedback closes, and closures

Revision ID: c6e1f0a8b372
Revises: e4b7c2a9d051
Create Date: 2026-11-30 16:00:18

Only new tables: the downgrade drops them (and the feedback with them).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c6e1f0a8b372'
down_revision = 'e4b7c2a9d051'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_feedback_settings',
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('extra_questions', sa.JSON(), nullable=False),
    sa.Column('answers_are', sa.String(length=20), nullable=False),
    sa.CheckConstraint("answers_are IN ('anonymous', 'choice', 'named')", name=op.f('ck_community_feedback_settings_answers_are_valid')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_feedback_settings_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', name=op.f('pk_community_feedback_settings'))
    )
    op.create_table('community_feedback_closures',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('released', sa.Integer(), nullable=False),
    sa.CheckConstraint("reason IN ('window_ended', 'everyone_answered', 'closed_by_convener', 'meeting_withdrawn')", name=op.f('ck_community_feedback_closures_reason_valid')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_community_feedback_closures_meeting_id_community_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_community_feedback_closures'))
    )
    op.create_table('community_feedback_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_community_feedback_receipts_meeting_id_community_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_feedback_receipts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_feedback_receipts')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_community_feedback_receipts_meeting_id_user_id')
    )
    with op.batch_alter_table('community_feedback_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_feedback_receipts_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_feedback_receipts_user_id'), ['user_id'], unique=False)

    op.create_table('community_feedback_responses',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('worked', sa.Text(), nullable=False),
    sa.Column('better', sa.Text(), nullable=False),
    sa.Column('differently', sa.Text(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('named', 'anonymous', 'paper')", name=op.f('ck_community_feedback_responses_kind_valid')),
    sa.CheckConstraint("user_id IS NULL OR kind = 'named'", name=op.f('ck_community_feedback_responses_only_named_has_person')),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_community_feedback_responses_rating_range')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_community_feedback_responses_meeting_id_community_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_feedback_responses_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_community_feedback_responses'))
    )
    with op.batch_alter_table('community_feedback_responses', schema=None) as batch_op:
        batch_op.create_index('ix_community_feedback_responses_meeting_id', ['meeting_id'], unique=False)

    op.create_table('community_feedback_sealed',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_community_feedback_sealed_meeting_id_community_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_community_feedback_sealed'))
    )
    with op.batch_alter_table('community_feedback_sealed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_feedback_sealed_meeting_id'), ['meeting_id'], unique=False)



def downgrade():
    with op.batch_alter_table('community_feedback_sealed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_feedback_sealed_meeting_id'))

    op.drop_table('community_feedback_sealed')
    with op.batch_alter_table('community_feedback_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_community_feedback_responses_meeting_id')

    op.drop_table('community_feedback_responses')
    with op.batch_alter_table('community_feedback_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_feedback_receipts_user_id'))
        batch_op.drop_index(batch_op.f('ix_community_feedback_receipts_meeting_id'))

    op.drop_table('community_feedback_receipts')
    op.drop_table('community_feedback_closures')
    op.drop_table('community_feedback_settings')
