"""organisations in a network (issue #21): kinds, relations, handovers, notes kept behind, referrals

Revision ID: 9d2a228130d0
Revises: 7c21530d553d
Create Date: 2026-12-06 19:22:13.359650
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '9d2a228130d0'
down_revision = '7c21530d553d'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('proposed', 'agreed')")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, webapp.models.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch_op:
        batch_op.add_column(sa.Column('network_kind', sa.String(length=16), nullable=True))
    op.create_table(
        'network_relations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('from_organisation_id', sa.Integer(), nullable=False),
        sa.Column('to_organisation_id', sa.Integer(), nullable=False),
        _at('created_at'),
        _fk('network_relations', 'from_organisation_id', 'organisations'),
        _fk('network_relations', 'to_organisation_id', 'organisations'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_relations')),
        sa.UniqueConstraint('from_organisation_id', 'to_organisation_id',
                            name=op.f('uq_network_relations_from_organisation_id')))
    with op.batch_alter_table('network_relations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_relations_to_organisation_id'),
                              ['to_organisation_id'], unique=False)

    op.create_table(
        'network_handovers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('from_organisation_id', sa.Integer(), nullable=False),
        sa.Column('to_organisation_id', sa.Integer(), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('share_history', sa.Boolean(), nullable=False),
        sa.Column('share_milestones', sa.Boolean(), nullable=False),
        _at('proposed_at'),
        _at('answered_at', True),
        _at('accepted_at', True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=True),
        _at('withdrawn_at', True),
        _fk('network_handovers', 'accepted_by_id', 'users'),
        _fk('network_handovers', 'from_organisation_id', 'organisations'),
        _fk('network_handovers', 'proposed_by_id', 'users'),
        _fk('network_handovers', 'returnee_id', 'users'),
        _fk('network_handovers', 'to_organisation_id', 'organisations'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_handovers')))
    with op.batch_alter_table('network_handovers', schema=None) as batch_op:
        batch_op.create_index('ix_network_handovers_from', ['from_organisation_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_network_handovers_to', ['to_organisation_id', 'status'],
                              unique=False)
        batch_op.create_index('uq_network_handovers_open', ['returnee_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)

    op.create_table(
        'network_left_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('handover_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        _at('written_at'),
        _fk('network_left_notes', 'author_id', 'users'),
        _fk('network_left_notes', 'handover_id', 'network_handovers'),
        _fk('network_left_notes', 'organisation_id', 'organisations'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_left_notes')))
    with op.batch_alter_table('network_left_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_left_notes_handover_id'), ['handover_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_network_left_notes_organisation_id'),
                              ['organisation_id'], unique=False)


    op.create_table(
        'network_referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('from_organisation_id', sa.Integer(), nullable=False),
        sa.Column('to_organisation_id', sa.Integer(), nullable=False),
        sa.Column('referred_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=False),
        _at('created_at'),
        _at('updated_at'),
        _fk('network_referrals', 'case_id', 'support_cases'),
        _fk('network_referrals', 'returnee_id', 'users'),
        _fk('network_referrals', 'from_organisation_id', 'organisations'),
        _fk('network_referrals', 'to_organisation_id', 'organisations'),
        _fk('network_referrals', 'referred_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_referrals')))
    with op.batch_alter_table('network_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_referrals_case_id'), ['case_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_network_referrals_returnee_id'), ['returnee_id'],
                              unique=False)
        batch_op.create_index('ix_network_referrals_to', ['to_organisation_id', 'status'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('network_referrals')
    op.drop_table('network_left_notes')
    op.drop_table('network_handovers')
    op.drop_table('network_relations')
    with op.batch_alter_table('organisations') as batch_op:
        batch_op.drop_column('network_kind')
