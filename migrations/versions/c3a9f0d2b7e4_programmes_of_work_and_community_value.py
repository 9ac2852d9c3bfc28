"""Programmes of work (grouping communities, with a team of their own and a report) and communities'
value: evidence tagged by the value-creation cycles and value stories from convener interviews

Revision ID: c3a9f0d2b7e4
Revises: c6e1f0a8b372
Create Date: 2026-11-30 16:00:00

Only new tables and a nullable column: no existing row changes, and the downgrade drops them.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a9f0d2b7e4'
down_revision = 'c6e1f0a8b372'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('programmes_of_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('run_by', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('story_questions', sa.JSON(), nullable=False),
    sa.Column('next_steps', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_programmes_of_work_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes_of_work'))
    )
    op.create_table('programme_team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_of_work_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['programme_of_work_id'], ['programmes_of_work.id'], name=op.f('fk_programme_team_members_programme_of_work_id_programmes_of_work'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_programme_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_team_members')),
    sa.UniqueConstraint('programme_of_work_id', 'user_id', name='uq_programme_team_members_programme_of_work_id_user_id')
    )
    with op.batch_alter_table('programme_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('community_value_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('cycles', sa.JSON(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('quote', 'reflection', 'change')", name=op.f('ck_community_value_evidence_kind_valid')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_value_evidence_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_community_value_evidence_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_value_evidence'))
    )
    with op.batch_alter_table('community_value_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_value_evidence_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_value_evidence_recorded_by_id'), ['recorded_by_id'], unique=False)

    op.create_table('community_value_stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('interviewee_id', sa.Integer(), nullable=True),
    sa.Column('interviewee_name', sa.String(length=200), nullable=False),
    sa.Column('interviewed_on', sa.Date(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('cycles', sa.JSON(), nullable=False),
    sa.Column('consent_to_share', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_value_stories_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewee_id'], ['users.id'], name=op.f('fk_community_value_stories_interviewee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_community_value_stories_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_value_stories'))
    )
    with op.batch_alter_table('community_value_stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_value_stories_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_value_stories_interviewee_id'), ['interviewee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_value_stories_recorded_by_id'), ['recorded_by_id'], unique=False)

    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('programme_of_work_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_communities_programme_of_work_id'), ['programme_of_work_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_communities_programme_of_work_id_programmes_of_work'), 'programmes_of_work', ['programme_of_work_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_communities_programme_of_work_id_programmes_of_work'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_communities_programme_of_work_id'))
        batch_op.drop_column('programme_of_work_id')

    with op.batch_alter_table('community_value_stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_value_stories_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_community_value_stories_interviewee_id'))
        batch_op.drop_index(batch_op.f('ix_community_value_stories_community_id'))

    op.drop_table('community_value_stories')
    with op.batch_alter_table('community_value_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_value_evidence_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_community_value_evidence_community_id'))

    op.drop_table('community_value_evidence')
    with op.batch_alter_table('programme_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_team_members_user_id'))

    op.drop_table('programme_team_members')
    op.drop_table('programmes_of_work')
