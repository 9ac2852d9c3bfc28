"""Session history (every move, postponement, cancellation) and the statuses postponed and did not take place

Revision ID: 5b8e1d7c9a20
Revises: a7f3c2d41e90
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e1d7c9a20'
down_revision = 'a7f3c2d41e90'
branch_labels = None
depends_on = None

_sessions = sa.table('programme_sessions', sa.column('id', sa.Integer), sa.column('starts_at', sa.DateTime(timezone=True)),
                     sa.column('planned_starts_at', sa.DateTime(timezone=True)), sa.column('status', sa.String),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
_changes = sa.table('session_changes', sa.column('session_id', sa.Integer), sa.column('kind', sa.String),
                    sa.column('changed_at', sa.DateTime(timezone=True)),
                    sa.column('from_starts_at', sa.DateTime(timezone=True)),
                    sa.column('to_starts_at', sa.DateTime(timezone=True)), sa.column('reason', sa.Text))


def upgrade():
    op.create_table('session_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('to_starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('moved', 'postponed', 'dated', 'cancelled', 'reinstated', 'not_held')", name=op.f('ck_session_changes_kind_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_session_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'], name=op.f('fk_session_changes_session_id_programme_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_changes'))
    )
    with op.batch_alter_table('session_changes', schema=None) as batch_op:
        batch_op.create_index('ix_session_changes_session_id_changed_at', ['session_id', 'changed_at'], unique=False)

    # What the single "first planned" date knew becomes history: a move (made when the session was
    # last updated, the best record there is) and, for cancelled sessions, their cancellation.
    connection = op.get_bind()
    rows = connection.execute(sa.select(_sessions.c.id, _sessions.c.starts_at, _sessions.c.planned_starts_at,
                                        _sessions.c.status, _sessions.c.updated_at)).all()
    history = []
    for session_id, starts_at, planned, status, updated_at in rows:
        if planned is not None and planned != starts_at:
            history.append(dict(session_id=session_id, kind='moved', changed_at=updated_at, from_starts_at=planned,
                                to_starts_at=starts_at, reason=''))
        if status == 'cancelled':
            history.append(dict(session_id=session_id, kind='cancelled', changed_at=updated_at,
                                from_starts_at=starts_at, to_starts_at=None, reason=''))
    if history:
        connection.execute(_changes.insert(), history)

    with op.batch_alter_table('programme_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('ck_programme_sessions_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_programme_sessions_status_valid'),
                                         "status IN ('scheduled', 'cancelled', 'postponed', 'not_held')")
        batch_op.drop_column('planned_starts_at')


def downgrade():
    op.execute("UPDATE programme_sessions SET status = 'cancelled' WHERE status IN ('postponed', 'not_held')")
    with op.batch_alter_table('programme_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_starts_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_programme_sessions_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_programme_sessions_status_valid'),
                                         "status IN ('scheduled', 'cancelled')")
        batch_op.drop_column('status_reason')
    op.execute("UPDATE programme_sessions SET planned_starts_at = starts_at")
    connection = op.get_bind()
    first = connection.execute(sa.select(_changes.c.session_id, sa.func.min(_changes.c.changed_at))
                               .group_by(_changes.c.session_id)).all()
    for session_id, changed_at in first:
        planned = connection.execute(sa.select(_changes.c.from_starts_at).where(
            _changes.c.session_id == session_id, _changes.c.changed_at == changed_at)).scalars().first()
        connection.execute(_sessions.update().where(_sessions.c.id == session_id).values(planned_starts_at=planned))
    with op.batch_alter_table('session_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_session_changes_session_id_changed_at')
    op.drop_table('session_changes')
