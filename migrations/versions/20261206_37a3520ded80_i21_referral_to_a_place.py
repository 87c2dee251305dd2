"""i21: a support request referred to a listed service (a directory place);
the requests still open when a case is handed over

Revision ID: 37a3520ded80
Revises: d26c3f2e5a99
Create Date: 2026-12-06 22:09:46.787753
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '37a3520ded80'
down_revision = 'd26c3f2e5a99'
branch_labels = None
depends_on = None

ONE_TARGET = "(to_organisation_id IS NULL) <> (place_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table('network_handovers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_requests', sa.JSON(), nullable=True))

    with op.batch_alter_table('network_referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome_kind', sa.String(length=16), server_default='',
                                      nullable=False))
        batch_op.alter_column('to_organisation_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f('ix_network_referrals_place_id'), ['place_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_network_referrals_place_id_directory_places'),
                                    'directory_places', ['place_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_network_referrals_one_target'),
                                         sa.text(ONE_TARGET))


def downgrade() -> None:
    op.execute("DELETE FROM network_referrals WHERE to_organisation_id IS NULL")
    with op.batch_alter_table('network_referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_network_referrals_one_target'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_network_referrals_place_id_directory_places'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_network_referrals_place_id'))
        batch_op.alter_column('to_organisation_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('outcome_kind')
        batch_op.drop_column('place_id')

    with op.batch_alter_table('network_handovers', schema=None) as batch_op:
        batch_op.drop_column('open_requests')
