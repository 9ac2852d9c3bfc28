"""Rota swaps: exchanging two turns to present, asked for and answered, or made by the team

Revision ID: 4c7e19a2b6f0
Revises: 8d41b6e2c7a3
Create Date: 2026-11-30 13:20:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '4c7e19a2b6f0'
down_revision = '8d41b6e2c7a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rota_swaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('first_rota_id', sa.Integer(), nullable=False),
    sa.Column('second_rota_id', sa.Integer(), nullable=False),
    sa.Column('first_presenter_id', sa.Integer(), nullable=True),
    sa.Column('second_presenter_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('first_rota_id <> second_rota_id', name=op.f('ck_rota_swaps_different_turns')),
    sa.ForeignKeyConstraint(['first_presenter_id'], ['enrolments.id'], name=op.f('fk_rota_swaps_first_presenter_id_enrolments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['first_rota_id'], ['case_rotas.id'], name=op.f('fk_rota_swaps_first_rota_id_case_rotas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['co_consulting_groups.id'], name=op.f('fk_rota_swaps_group_id_co_consulting_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_rota_swaps_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['second_presenter_id'], ['enrolments.id'], name=op.f('fk_rota_swaps_second_presenter_id_enrolments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['second_rota_id'], ['case_rotas.id'], name=op.f('fk_rota_swaps_second_rota_id_case_rotas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_swaps'))
    )
    with op.batch_alter_table('rota_swaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_swaps_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_swaps_first_rota_id'), ['first_rota_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_swaps_second_rota_id'), ['second_rota_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_swaps_first_presenter_id'), ['first_presenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_swaps_second_presenter_id'), ['second_presenter_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rota_swaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_swaps_second_presenter_id'))
        batch_op.drop_index(batch_op.f('ix_rota_swaps_first_presenter_id'))
        batch_op.drop_index(batch_op.f('ix_rota_swaps_second_rota_id'))
        batch_op.drop_index(batch_op.f('ix_rota_swaps_first_rota_id'))
        batch_op.drop_index(batch_op.f('ix_rota_swaps_group_id'))

    op.drop_table('rota_swaps')
