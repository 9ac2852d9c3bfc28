"""Discussion moderation (locked and pinned threads, who hid a post, follow or mute a thread) and resources
marked done

Revision ID: 8c1f5a3e7d20
Revises: 6a2d4f8b1c37
Create Date: 2026-11-30 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c1f5a3e7d20'
down_revision = '6a2d4f8b1c37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_locked', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('is_pinned', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_posts_hidden_by_id_users'), 'users', ['hidden_by_id'], ['id'],
                                    ondelete='SET NULL')
    op.create_table('thread_subscriptions',
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('following', 'muted')", name=op.f('ck_thread_subscriptions_state_valid')),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_subscriptions_thread_id_threads'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_subscriptions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', 'user_id', name=op.f('pk_thread_subscriptions'))
    )
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_subscriptions_user_id'), ['user_id'], unique=False)
    op.create_table('resource_progress',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_progress_resource_id_resources'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_resource_progress_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'user_id', name=op.f('pk_resource_progress'))
    )
    with op.batch_alter_table('resource_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_progress_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('resource_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_progress_user_id'))
    op.drop_table('resource_progress')
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_subscriptions_user_id'))
    op.drop_table('thread_subscriptions')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_posts_hidden_by_id_users'), type_='foreignkey')
        batch_op.drop_column('hidden_by_id')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('is_pinned')
        batch_op.drop_column('is_locked')
