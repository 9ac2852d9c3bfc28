"""Mail retried with back-off over hours (first attempt kept); scheduler heartbeats for /healthz; secret links in stored email sealed or removed

Revision ID: 0c6d2e8f4b11
Revises: 5b8e1d7c9a20
Create Date: 2026-11-30 10:00:00.000000

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c6d2e8f4b11'
down_revision = '5b8e1d7c9a20'
branch_labels = None
depends_on = None


_SECRET_LINK = re.compile(r"https?://[^\s\"'<>]+/(?:sponsor|rsvp|password/reset)/[A-Za-z0-9_\-]{20,}")


def _protect_stored_links(connection) -> None:
    """Sign-off, RSVP and reset links written into stored email before they were sealed: sealed where
    the email is still to go, removed where it has gone (the email itself keeps it)."""
    from app.notifications.services import REDACTED_LINK, seal_link

    outbox = sa.table('outbox_messages', sa.column('id', sa.Integer), sa.column('status', sa.String),
                      sa.column('body_text', sa.Text), sa.column('body_html', sa.Text))
    for row_id, status, text_body, html_body in connection.execute(sa.select(
            outbox.c.id, outbox.c.status, outbox.c.body_text, outbox.c.body_html)).all():
        waiting = status in ('pending', 'sending')
        change = (lambda m: seal_link(m.group(0))) if waiting else (lambda m: REDACTED_LINK)
        new_text, new_html = _SECRET_LINK.sub(change, text_body or ''), _SECRET_LINK.sub(change, html_body or '')
        if (new_text, new_html) != (text_body or '', html_body or ''):
            connection.execute(outbox.update().where(outbox.c.id == row_id).values(body_text=new_text,
                                                                                   body_html=new_html))


def upgrade():
    _protect_stored_links(op.get_bind())
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
