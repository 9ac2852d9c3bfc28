"""Anonymous feedback held back sealed until a session's feedback closes; existing anonymous answers reshuffled

Revision ID: a7f3c2d41e90
Revises: c04582bb1109
Create Date: 2026-11-30 08:00:00.000000

"""
import random
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7f3c2d41e90'
down_revision = 'c04582bb1109'
branch_labels = None
depends_on = None

_COLUMNS = ("session_id", "worthwhile", "recommend_scale", "recommend_yes", "recommend_score", "what_worked",
            "what_to_change", "quote", "quote_consent", "value_cycles")


def upgrade():
    op.create_table('feedback_sealed',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'], name=op.f('fk_feedback_sealed_session_id_programme_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_feedback_sealed'))
    )
    with op.batch_alter_table('feedback_sealed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_sealed_session_id'), ['session_id'], unique=False)

    op.create_table('feedback_closures',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('released', sa.Integer(), nullable=False),
    sa.Column('imported_unnamed', sa.Integer(), nullable=False),
    sa.CheckConstraint("reason IN ('window_ended', 'everyone_answered', 'closed_by_team', 'session_withdrawn', 'imported')", name=op.f('ck_feedback_closures_reason_valid')),
    sa.ForeignKeyConstraint(['session_id'], ['programme_sessions.id'], name=op.f('fk_feedback_closures_session_id_programme_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_feedback_closures'))
    )

    # Anonymous answers written before this revision sit in the order they were given, which pairs
    # them with their receipts: write each session's out again in a shuffled order with new keys.
    responses = sa.table('feedback_responses', sa.column('key', sa.String), sa.column('enrolment_id', sa.Integer),
                         *(sa.column(name) for name in _COLUMNS))
    responses.c.value_cycles.type = sa.JSON()
    connection = op.get_bind()
    rows = [dict(row._mapping) for row in connection.execute(
        sa.select(*(responses.c[name] for name in _COLUMNS)).where(responses.c.enrolment_id.is_(None)))]
    if rows:
        random.SystemRandom().shuffle(rows)
        connection.execute(responses.delete().where(responses.c.enrolment_id.is_(None)))
        connection.execute(responses.insert(), [{**row, "key": secrets.token_hex(16), "enrolment_id": None}
                                                for row in rows])


def downgrade():
    # Without the held-back table, answers still sealed would be lost: write them out first, shuffled,
    # as they would have been when feedback closed (the app's key opens them).
    from app.evaluation.anonymity import unseal

    connection = op.get_bind()
    sealed = sa.table('feedback_sealed', sa.column('session_id', sa.Integer), sa.column('sealed', sa.LargeBinary))
    responses = sa.table('feedback_responses', sa.column('key', sa.String), sa.column('enrolment_id', sa.Integer),
                         *(sa.column(name) for name in _COLUMNS))
    responses.c.value_cycles.type = sa.JSON()
    rows = [{"session_id": session_id, **vars(unseal(blob))} for session_id, blob in connection.execute(
        sa.select(sealed.c.session_id, sealed.c.sealed))]
    if rows:
        random.SystemRandom().shuffle(rows)
        connection.execute(responses.insert(), [{**row, "key": secrets.token_hex(16), "enrolment_id": None}
                                                for row in rows])
    op.drop_table('feedback_closures')
    with op.batch_alter_table('feedback_sealed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_sealed_session_id'))
    op.drop_table('feedback_sealed')
