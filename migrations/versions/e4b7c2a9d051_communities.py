"""Communities: participants' CoPs become communities with conveners and members, invitations by email,
meetings with a time, format, agenda, status and a register (named) plus people counted without names

Revision ID: e4b7c2a9d051
Revises: b5d2e8f41a63
Create Date: 2026-11-30 15:30:00

Upgrade moves every participant's CoP (participant_communities) into `communities` with the same id,
its cohort the participant's cohort, and the participant as its convener; `community_meetings` keeps
its rows and ids: the date becomes `meets_on` with no time (none was recorded), the headcount becomes
`guest_count` (people counted without names: none were recorded), the reflection becomes `notes`, the
methods stay, and every old meeting is `held`.

Downgrade moves back what the old tables can hold: for each community of a cohort convened by one of
its participants, one CoP (a participant keeps their first; a community keeps its first convener),
with all its meetings: the headcount is the named people present plus those counted; notes and
actions together become the reflection, after "[planned] " (or postponed, cancelled) for a meeting
not held, which the next upgrade reads back as its status. Members, invitations, registers' names,
meeting times, formats and agendas, and communities without a participant convener cannot be held
by the old tables and are dropped.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b7c2a9d051'
down_revision = 'b5d2e8f41a63'
branch_labels = None
depends_on = None


# Statuses the old table cannot hold: a meeting with one goes down with it written before its reflection.
_NOT_HELD = ('planned', 'postponed', 'cancelled')


def _reset_sequence(table):
    """PostgreSQL: rows were inserted with their ids, so the id sequence continues after the largest."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "
                   f"FROM {table}")


def upgrade():
    op.create_table('communities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('domain', sa.Text(), nullable=False),
    sa.Column('member_kinds', sa.Text(), nullable=False),
    sa.Column('crosses_boundaries', sa.Boolean(), nullable=False),
    sa.Column('boundaries_how', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planning', 'launched', 'meeting_regularly', 'paused')", name=op.f('ck_communities_status_valid')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_communities_cohort_id_cohorts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities'))
    )
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_communities_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('community_invitations',
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('convener', 'member')", name=op.f('ck_community_invitations_role_valid')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_invitations_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_community_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_invitations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_community_invitations_token_hash'))
    )
    with op.batch_alter_table('community_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_invitations_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_invitations_user_id'), ['user_id'], unique=False)

    op.create_table('community_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('convener', 'member')", name=op.f('ck_community_memberships_role_valid')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_memberships_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_memberships')),
    sa.UniqueConstraint('community_id', 'user_id', name='uq_community_memberships_community_id_user_id')
    )
    with op.batch_alter_table('community_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_memberships_user_id'), ['user_id'], unique=False)

    # Each participant's CoP becomes a community with the same id, in their cohort, which they convene.
    op.execute(
        "INSERT INTO communities (id, name, purpose, domain, member_kinds, crosses_boundaries, boundaries_how, "
        "status, cohort_id, created_at, updated_at) "
        "SELECT pc.id, pc.title, '', pc.domain, pc.member_kinds, pc.crosses_boundaries, pc.boundaries_how, pc.status, "
        "e.cohort_id, pc.created_at, pc.updated_at "
        "FROM participant_communities pc JOIN enrolments e ON e.id = pc.enrolment_id")
    op.execute(
        "INSERT INTO community_memberships (community_id, user_id, role, joined_at) "
        "SELECT pc.id, e.user_id, 'convener', pc.created_at "
        "FROM participant_communities pc JOIN enrolments e ON e.id = pc.enrolment_id")
    _reset_sequence('communities')

    # Meetings keep their rows: new columns first, filled from the old ones, then the old ones go.
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meets_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('format', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('location', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('agenda', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='held'))
        batch_op.add_column(sa.Column('guest_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('actions', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    # A meeting that went down with a status other than held (see downgrade) gets it back.
    op.execute("UPDATE community_meetings SET meets_on = held_on, guest_count = attendance, updated_at = created_at, "
               + "status = CASE " + " ".join(f"WHEN reflection LIKE '[{s}] %' THEN '{s}'" for s in _NOT_HELD)
               + " ELSE 'held' END, notes = CASE "
               + " ".join(f"WHEN reflection LIKE '[{s}] %' THEN SUBSTR(reflection, {len(s) + 4})" for s in _NOT_HELD)
               + " ELSE reflection END")
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.alter_column('meets_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        for name in ('location', 'agenda', 'status', 'guest_count', 'notes', 'actions', 'sequence'):
            batch_op.alter_column(name, server_default=None)
        batch_op.drop_constraint(batch_op.f('ck_community_meetings_attendance_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_community_meetings_community_id_participant_communities'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_community_meetings_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_community_meetings_community_id_communities'), 'communities', ['community_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_column('attendance')
        batch_op.drop_column('held_on')
        batch_op.drop_column('reflection')
        batch_op.create_check_constraint(batch_op.f('ck_community_meetings_guest_count_not_negative'), 'guest_count >= 0')
        batch_op.create_check_constraint(batch_op.f('ck_community_meetings_status_valid'),
                                         "status IN ('planned', 'held', 'postponed', 'cancelled')")
        batch_op.create_check_constraint(batch_op.f('ck_community_meetings_format_valid'),
                                         "format IS NULL OR format IN ('online', 'in_person', 'hybrid')")
        batch_op.create_check_constraint(batch_op.f('ck_community_meetings_ends_after_start'),
                                         "ends_at IS NULL OR (starts_at IS NOT NULL AND ends_at > starts_at)")

    op.create_table('meeting_attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('present', 'apologies', 'absent')", name=op.f('ck_meeting_attendances_status_valid')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_meeting_attendances_meeting_id_community_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_attendances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendances')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_meeting_attendances_meeting_id_user_id')
    )
    with op.batch_alter_table('meeting_attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendances_user_id'), ['user_id'], unique=False)

    op.drop_table('participant_communities')


# Every (community, enrolment) where the enrolment's participant convenes the community in its own cohort.
_PAIRS = ("SELECT m.community_id AS community_id, e.id AS enrolment_id FROM community_memberships m "
          "JOIN communities c ON c.id = m.community_id "
          "JOIN enrolments e ON e.user_id = m.user_id AND e.cohort_id = c.cohort_id WHERE m.role = 'convener'")


def downgrade():
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
    # One CoP per enrolment and one enrolment per community: the first of each.
    op.execute(
        "INSERT INTO participant_communities (id, enrolment_id, title, domain, member_kinds, crosses_boundaries, "
        "boundaries_how, status, created_at, updated_at) "
        "SELECT c.id, p.enrolment_id, c.name, c.domain, c.member_kinds, c.crosses_boundaries, c.boundaries_how, "
        "c.status, c.created_at, c.updated_at "
        f"FROM ({_PAIRS}) p JOIN communities c ON c.id = p.community_id "
        f"WHERE p.enrolment_id = (SELECT MIN(q.enrolment_id) FROM ({_PAIRS}) q WHERE q.community_id = p.community_id) "
        f"AND p.community_id = (SELECT MIN(r.community_id) FROM ({_PAIRS}) r WHERE r.enrolment_id = p.enrolment_id)")
    _reset_sequence('participant_communities')
    op.execute("DELETE FROM community_meetings WHERE community_id NOT IN (SELECT id FROM participant_communities)")

    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('attendance', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reflection', sa.Text(), nullable=False, server_default=''))
    op.execute(
        "UPDATE community_meetings SET held_on = meets_on, "
        "attendance = guest_count + (SELECT COUNT(*) FROM meeting_attendances a "
        "WHERE a.meeting_id = community_meetings.id AND a.status = 'present'), "
        "reflection = (CASE WHEN status = 'held' THEN '' ELSE '[' || status || '] ' END) || "
        "(CASE WHEN actions = '' THEN notes WHEN notes = '' THEN 'Actions: ' || actions "
        "ELSE notes || '\n\nActions: ' || actions END)")

    with op.batch_alter_table('meeting_attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_attendances_user_id'))
    op.drop_table('meeting_attendances')

    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.alter_column('held_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('attendance', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('reflection', server_default=None)
        batch_op.drop_constraint(batch_op.f('ck_community_meetings_guest_count_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_community_meetings_status_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_community_meetings_format_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_community_meetings_ends_after_start'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_community_meetings_community_id_communities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_community_meetings_created_by_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_community_meetings_community_id_participant_communities'), 'participant_communities', ['community_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('sequence')
        batch_op.drop_column('actions')
        batch_op.drop_column('notes')
        batch_op.drop_column('guest_count')
        batch_op.drop_column('status')
        batch_op.drop_column('agenda')
        batch_op.drop_column('location')
        batch_op.drop_column('format')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')
        batch_op.drop_column('meets_on')
        batch_op.create_check_constraint(batch_op.f('ck_community_meetings_attendance_not_negative'), 'attendance >= 0')

    with op.batch_alter_table('community_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_memberships_user_id'))
    op.drop_table('community_memberships')
    with op.batch_alter_table('community_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_community_invitations_community_id'))
    op.drop_table('community_invitations')
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_communities_cohort_id'))
    op.drop_table('communities')
