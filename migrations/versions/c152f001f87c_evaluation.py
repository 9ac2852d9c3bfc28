"""Evaluation: feedback (receipts apart from responses), participants' CoPs and meetings, value evidence,
impact stories, report narrative, and when each session was first planned

Revision ID: c152f001f87c
Revises: beed997cbe12
Create Date: 2026-11-23 15:51:03.232750

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c152f001f87c'
down_revision = 'beed997cbe12'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programme_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_starts_at', sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE programme_sessions SET planned_starts_at = starts_at')
    op.create_table('feedback_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('recommend_scale', sa.String(length=10), nullable=False),
    sa.Column('ask_free_text', sa.Boolean(), nullable=False),
    sa.Column('ask_quote', sa.Boolean(), nullable=False),
    sa.Column('allow_anonymous', sa.Boolean(), nullable=False),
    sa.CheckConstraint("recommend_scale IN ('yes_no', 'zero_ten')", name=op.f('ck_feedback_settings_recommend_scale_valid')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_feedback_settings_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_settings')),
    sa.UniqueConstraint('cohort_id', 'kind', name='uq_feedback_settings_cohort_id_kind')
    )
    op.create_table('report_narratives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('next_steps', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_report_narratives_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_narratives')),
    sa.UniqueConstraint('cohort_id', name=op.f('uq_report_narratives_cohort_id'))
    )
    op.create_table('impact_stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('once_upon_a_time', sa.Text(), nullable=False),
    sa.Column('every_day', sa.Text(), nullable=False),
    sa.Column('one_day', sa.Text(), nullable=False),
    sa.Column('because_of_that', sa.JSON(), nullable=False),
    sa.Column('until_finally', sa.Text(), nullable=False),
    sa.Column('cycles', sa.JSON(), nullable=False),
    sa.Column('consent_to_publish', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'published')", name=op.f('ck_impact_stories_status_valid')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_impact_stories_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_impact_stories_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_impact_stories'))
    )
    with op.batch_alter_table('impact_stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_impact_stories_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_impact_stories_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('participant_communities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('domain', sa.Text(), nullable=False),
    sa.Column('member_kinds', sa.Text(), nullable=False),
    sa.Column('crosses_boundaries', sa.Boolean(), nullable=False),
    sa.Column('boundaries_how', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planning', 'launched', 'meeting_regularly', 'paused')", name=op.f('ck_participant_communities_status_valid')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_participant_communities_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_communities')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_participant_communities_enrolment_id'))
    )
    op.create_table('community_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.Column('methods', sa.JSON(), nullable=False),
    sa.Column('reflection', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('attendance >= 0', name=op.f('ck_community_meetings_attendance_not_negative')),
    sa.ForeignKeyConstraint(['community_id'], ['participant_communities.id'], name=op.f('fk_community_meetings_community_id_participant_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_meetings'))
    )
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_meetings_community_id'), ['community_id'], unique=False)

    op.create_table('feedback_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_feedback_receipts_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'], name=op.f('fk_feedback_receipts_session_id_programme_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_receipts')),
    sa.UniqueConstraint('session_id', 'enrolment_id', name='uq_feedback_receipts_session_id_enrolment_id')
    )
    with op.batch_alter_table('feedback_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_receipts_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_receipts_session_id'), ['session_id'], unique=False)

    op.create_table('feedback_responses',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('worthwhile', sa.SmallInteger(), nullable=True),
    sa.Column('recommend_scale', sa.String(length=10), nullable=False),
    sa.Column('recommend_yes', sa.Boolean(), nullable=True),
    sa.Column('recommend_score', sa.SmallInteger(), nullable=True),
    sa.Column('what_worked', sa.Text(), nullable=False),
    sa.Column('what_to_change', sa.Text(), nullable=False),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('quote_consent', sa.Boolean(), nullable=False),
    sa.Column('value_cycles', sa.JSON(), nullable=False),
    sa.CheckConstraint('recommend_score IS NULL OR recommend_score BETWEEN 0 AND 10', name=op.f('ck_feedback_responses_recommend_score_range')),
    sa.CheckConstraint('worthwhile IS NULL OR worthwhile BETWEEN 1 AND 5', name=op.f('ck_feedback_responses_worthwhile_range')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_feedback_responses_enrolment_id_enrolments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'], name=op.f('fk_feedback_responses_session_id_programme_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_feedback_responses'))
    )
    with op.batch_alter_table('feedback_responses', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_responses_session_id', ['session_id'], unique=False)

    op.create_table('value_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('cycles', sa.JSON(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('consent_to_share', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('quote', 'reflection', 'change')", name=op.f('ck_value_evidence_kind_valid')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_value_evidence_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_value_evidence_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_value_evidence_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_value_evidence'))
    )
    with op.batch_alter_table('value_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_value_evidence_cohort_id'), ['cohort_id'], unique=False)



def downgrade():
    with op.batch_alter_table('value_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_value_evidence_cohort_id'))

    op.drop_table('value_evidence')
    with op.batch_alter_table('feedback_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_responses_session_id')

    op.drop_table('feedback_responses')
    with op.batch_alter_table('feedback_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_receipts_session_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_receipts_enrolment_id'))

    op.drop_table('feedback_receipts')
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_meetings_community_id'))

    op.drop_table('community_meetings')
    op.drop_table('participant_communities')
    with op.batch_alter_table('impact_stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_impact_stories_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_impact_stories_cohort_id'))

    op.drop_table('impact_stories')
    op.drop_table('report_narratives')
    op.drop_table('feedback_settings')
    with op.batch_alter_table('programme_sessions', schema=None) as batch_op:
        batch_op.drop_column('planned_starts_at')
