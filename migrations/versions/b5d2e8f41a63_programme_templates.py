"""Programme templates: the shape of a year (the HIN year is the default), and the template each cohort
was planned from

Revision ID: b5d2e8f41a63
Revises: 8c1f5a3e7d20
Create Date: 2026-11-30 15:40:00

"""
from datetime import UTC, datetime, time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d2e8f41a63'
down_revision = '8c1f5a3e7d20'
branch_labels = None
depends_on = None

HIN_YEAR = dict(
    name="HIN year: welcome, five two-day modules, clinics, co-consulting and a celebration",
    description="The Communities of Practice Leadership Programme as first run: a welcome half-day, five modules of "
                "two half-days about nine weeks apart, a drop-in clinic between each pair of modules, a co-consulting "
                "session three weeks after each module and a celebration twelve weeks after the last.",
    is_default=True, has_welcome=True, welcome_starts=time(9, 30), welcome_ends=time(12, 30), module_count=5,
    days_per_module=2, module_starts=time(9, 30), module_ends=time(12, 30), first_module_weeks=2,
    module_interval_weeks=9, has_clinics=True, clinic_starts=time(13, 0), clinic_ends=time(14, 0),
    has_co_consulting=True, co_consulting_weeks=3, co_consulting_starts=time(14, 0), co_consulting_ends=time(15, 0),
    has_celebration=True, celebration_weeks=12, celebration_starts=time(10, 0), celebration_ends=time(16, 0),
)


def upgrade():
    templates = op.create_table('programme_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('has_welcome', sa.Boolean(), nullable=False),
    sa.Column('welcome_starts', sa.Time(), nullable=False),
    sa.Column('welcome_ends', sa.Time(), nullable=False),
    sa.Column('module_count', sa.Integer(), nullable=False),
    sa.Column('days_per_module', sa.Integer(), nullable=False),
    sa.Column('module_starts', sa.Time(), nullable=False),
    sa.Column('module_ends', sa.Time(), nullable=False),
    sa.Column('first_module_weeks', sa.Integer(), nullable=False),
    sa.Column('module_interval_weeks', sa.Integer(), nullable=False),
    sa.Column('has_clinics', sa.Boolean(), nullable=False),
    sa.Column('clinic_starts', sa.Time(), nullable=False),
    sa.Column('clinic_ends', sa.Time(), nullable=False),
    sa.Column('has_co_consulting', sa.Boolean(), nullable=False),
    sa.Column('co_consulting_weeks', sa.Integer(), nullable=False),
    sa.Column('co_consulting_starts', sa.Time(), nullable=False),
    sa.Column('co_consulting_ends', sa.Time(), nullable=False),
    sa.Column('has_celebration', sa.Boolean(), nullable=False),
    sa.Column('celebration_weeks', sa.Integer(), nullable=False),
    sa.Column('celebration_starts', sa.Time(), nullable=False),
    sa.Column('celebration_ends', sa.Time(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('module_count BETWEEN 1 AND 5', name=op.f('ck_programme_templates_module_count_range')),
    sa.CheckConstraint('days_per_module BETWEEN 1 AND 2', name=op.f('ck_programme_templates_days_per_module_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_programme_templates_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_programme_templates_name'))
    )
    now = datetime.now(UTC)
    op.bulk_insert(templates, [{**HIN_YEAR, "id": 1, "created_at": now, "updated_at": now}])
    if op.get_bind().dialect.name == "postgresql":  # the explicit id above leaves the sequence behind
        op.execute("SELECT setval(pg_get_serial_sequence('programme_templates', 'id'), 1)")
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cohorts_template_id_programme_templates'), 'programme_templates',
                                    ['template_id'], ['id'], ondelete='SET NULL')
    # Every cohort so far was planned from the HIN year.
    op.execute("UPDATE cohorts SET template_id = 1")


def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cohorts_template_id_programme_templates'), type_='foreignkey')
        batch_op.drop_column('template_id')
    op.drop_table('programme_templates')
