"""caseload order: each person's place in the caseload, kept fresh by the
sweep and made stale by triggers on every write it is made of (issue #24)

Revision ID: a24c0e7d5b31
Revises: f1b9a2ed3bb6
Create Date: 2026-12-07 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'a24c0e7d5b31'
down_revision = 'f1b9a2ed3bb6'
branch_labels = None
depends_on = None

# The tables the order is made of, and the column naming the person.
# (webapp.monitoring.models.CaseloadOrder says why; the users table has its
# own triggers below.)
SOURCES = {
    "caseworker_assignments": "returnee_id",
    "support_cases": "returnee_id",
    "alerts": "returnee_id",
    "checkin_summaries": "user_id",
    "caseload_summaries": "returnee_id",
}
# The columns of an account the order reads.
USER_COLUMNS = "display_name, organisation_id, role, disabled_at, created_at"
STALE = {"postgresql": "'0001-01-01 00:00:00+00'", "sqlite": "'0001-01-01 00:00:00.000000'"}
NEW_ROW = ("INSERT INTO caseload_order (returnee_id, attention, worst, name, fresh_from, "
           "fresh_until, version) VALUES ({id}, 2, 99, '', {stale}, {stale}, 0)")
MARK = "UPDATE caseload_order SET fresh_until = {stale}, version = version + 1 WHERE returnee_id"


def _postgresql(stale: str) -> list[str]:
    mark = MARK.format(stale=stale)
    statements = [
        "CREATE OR REPLACE FUNCTION caseload_order_stale() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ DECLARE ids integer[] := '{}'; BEGIN "
        "IF TG_OP <> 'INSERT' THEN ids := ids || (to_jsonb(OLD) ->> TG_ARGV[0])::integer; "
        "END IF; "
        "IF TG_OP <> 'DELETE' THEN ids := ids || (to_jsonb(NEW) ->> TG_ARGV[0])::integer; "
        "END IF; "
        f"{mark} = ANY(ids); RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION caseload_order_new() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {NEW_ROW.format(id='NEW.id', stale=stale)}; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER caseload_order_new AFTER INSERT ON users "
        "FOR EACH ROW EXECUTE FUNCTION caseload_order_new()",
        f"CREATE TRIGGER caseload_order_stale AFTER UPDATE OF {USER_COLUMNS} ON users "
        "FOR EACH ROW EXECUTE FUNCTION caseload_order_stale('id')",
    ]
    for table, column in SOURCES.items():
        statements.append(
            f"CREATE TRIGGER caseload_order_stale AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION caseload_order_stale('{column}')")
    return statements


def _sqlite(stale: str) -> list[str]:
    mark = MARK.format(stale=stale)
    statements = [
        "CREATE TRIGGER caseload_order_new AFTER INSERT ON users BEGIN "
        f"{NEW_ROW.format(id='NEW.id', stale=stale)}; END",
        f"CREATE TRIGGER caseload_order_stale_users AFTER UPDATE OF {USER_COLUMNS} ON users "
        f"BEGIN {mark} = NEW.id; END",
    ]
    for table, column in SOURCES.items():
        for event, ids in (("INSERT", f"NEW.{column}"), ("UPDATE", f"NEW.{column}, OLD.{column}"),
                           ("DELETE", f"OLD.{column}")):
            statements.append(
                f"CREATE TRIGGER caseload_order_stale_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {mark} IN ({ids}); END")
    return statements


def upgrade() -> None:
    op.create_table(
        'caseload_order',
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('caseworker_id', sa.Integer(), nullable=True),
        sa.Column('attention', sa.Integer(), nullable=False),
        sa.Column('oldest', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('worst', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('last_contact', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_due', sa.Date(), nullable=True),
        sa.Column('fresh_from', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('fresh_until', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_caseload_order_returnee_id_users')),
        sa.PrimaryKeyConstraint('returnee_id', name=op.f('pk_caseload_order')),
    )
    op.create_index('ix_caseload_order_organisation', 'caseload_order',
                    ['organisation_id', 'attention', 'oldest', 'worst', 'name', 'returnee_id'])
    op.create_index('ix_caseload_order_caseworker', 'caseload_order',
                    ['caseworker_id', 'attention', 'oldest', 'worst', 'name', 'returnee_id'])
    op.create_index('ix_caseload_order_fresh_until', 'caseload_order', ['fresh_until'])
    op.create_index('ix_caseload_order_fresh_from', 'caseload_order', ['fresh_from'])
    dialect = op.get_bind().dialect.name
    stale = STALE[dialect]
    # Every account gets its row, stale: the sweep computes them.
    op.execute("INSERT INTO caseload_order (returnee_id, attention, worst, name, fresh_from, "
               f"fresh_until, version) SELECT id, 2, 99, '', {stale}, {stale}, 0 FROM users")
    for statement in (_postgresql if dialect == "postgresql" else _sqlite)(stale):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("users", *SOURCES):
            op.execute(f"DROP TRIGGER IF EXISTS caseload_order_stale ON {table}")
        op.execute("DROP TRIGGER IF EXISTS caseload_order_new ON users")
        op.execute("DROP FUNCTION IF EXISTS caseload_order_stale()")
        op.execute("DROP FUNCTION IF EXISTS caseload_order_new()")
    else:
        op.execute("DROP TRIGGER IF EXISTS caseload_order_new")
        op.execute("DROP TRIGGER IF EXISTS caseload_order_stale_users")
        for table in SOURCES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS caseload_order_stale_{table}_{event}")
    op.drop_table('caseload_order')
