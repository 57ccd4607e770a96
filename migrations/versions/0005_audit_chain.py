"""audit log: hash chain, name snapshots, purge only past the retention floor

Revision ID: 0005_audit_chain
Revises: 0004_security_admin_role
Create Date: 2026-12-01 21:40:00

Existing entries are chained in id order. On PostgreSQL the guards are owned by the role
that runs this migration; the app's own role (see README, 数据库角色) owns nothing, so it can
neither disable them nor delete entries except through audit_log_purge().
"""
from alembic import op
import sqlalchemy as sa

from core.audit import GENESIS_HASH, MIN_RETENTION_DAYS, canonical_hash


# revision identifiers, used by Alembic.
revision = '0005_audit_chain'
down_revision = '0004_security_admin_role'
branch_labels = None
depends_on = None

CHAIN_LOCK_KEY = 7_305_180_001  # core.audit.CHAIN_LOCK_KEY at the time of this migration

entries = sa.table(
    'audit_log',
    sa.column('id', sa.Integer),
    sa.column('created_at', sa.DateTime),
    sa.column('actor_id', sa.Integer),
    sa.column('actor_login', sa.String),
    sa.column('ip', sa.String),
    sa.column('action', sa.String),
    sa.column('object_type', sa.String),
    sa.column('object_id', sa.String),
    sa.column('summary', sa.String),
    sa.column('detail', sa.Text),
    sa.column('names', sa.Text),
    sa.column('prev_hash', sa.String),
    sa.column('entry_hash', sa.String),
)


def upgrade():
    drop_old_guard()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names', sa.Text(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=False, server_default=''))
    chain_existing_entries()
    create_guard()


def chain_existing_entries():
    bind = op.get_bind()
    previous = GENESIS_HASH
    for row in bind.execute(sa.select(entries).order_by(entries.c.id)).mappings().all():
        fields = dict(row, names='{}', prev_hash=previous)
        previous = canonical_hash(fields)
        bind.execute(
            entries.update()
            .where(entries.c.id == row['id'])
            .values(prev_hash=fields['prev_hash'], entry_hash=previous)
        )


def create_guard():
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("""
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
        op.execute(f"""
            CREATE TRIGGER audit_log_purge_only_old BEFORE DELETE ON audit_log
            WHEN OLD.created_at >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-{MIN_RETENTION_DAYS} days')
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries younger than {MIN_RETENTION_DAYS} days are kept'); END""")
        return
    schema = op.get_bind().scalar(sa.text('SELECT current_schema()'))
    op.execute("""
        CREATE FUNCTION audit_log_refuse() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
        $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()""")
    op.execute(f"""
        CREATE FUNCTION audit_log_keep_young() RETURNS trigger AS $$
        BEGIN
            IF OLD.created_at >= timezone('UTC', now()) - interval '{MIN_RETENTION_DAYS} days' THEN
                RAISE EXCEPTION 'audit_log is append-only: entries younger than {MIN_RETENTION_DAYS} days are kept';
            END IF;
            RETURN OLD;
        END;
        $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE TRIGGER audit_log_purge_only_old BEFORE DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_keep_young()""")
    # Whoever inserts, the new entry links to the last one and carries the database's time.
    op.execute(f"""
        CREATE FUNCTION audit_log_check_link() RETURNS trigger AS $$
        DECLARE head record;
        BEGIN
            PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
            SELECT entry_hash, created_at INTO head FROM {schema}.audit_log ORDER BY id DESC LIMIT 1;
            IF NEW.prev_hash IS DISTINCT FROM coalesce(head.entry_hash, '{GENESIS_HASH}') THEN
                RAISE EXCEPTION 'audit_log chain: an entry must link to the last entry';
            END IF;
            IF NEW.created_at < head.created_at
               OR abs(extract(epoch FROM NEW.created_at - timezone('UTC', clock_timestamp()))) > 60 THEN
                RAISE EXCEPTION 'audit_log chain: an entry carries the database''s time';
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE TRIGGER audit_log_chain_link BEFORE INSERT ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_check_link()""")
    # The one way to delete: a prefix of the chain, as the log's owner, past the floor above.
    op.execute(f"""
        CREATE FUNCTION audit_log_purge(through_id bigint) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE deleted bigint;
        BEGIN
            DELETE FROM {schema}.audit_log WHERE id <= through_id;
            GET DIAGNOSTICS deleted = ROW_COUNT;
            RETURN deleted;
        END;
        $$""")
    op.execute("REVOKE ALL ON FUNCTION audit_log_purge(bigint) FROM PUBLIC")


def drop_guard():
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_purge_only_old")
        return
    op.execute("DROP FUNCTION audit_log_purge(bigint)")
    for trigger, function in (
        ("audit_log_chain_link", "audit_log_check_link"),
        ("audit_log_purge_only_old", "audit_log_keep_young"),
        ("audit_log_no_update", "audit_log_refuse"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON audit_log")
        op.execute(f"DROP FUNCTION {function}()")


def drop_old_guard():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")


def create_old_guard():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
            ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")


def downgrade():
    drop_guard()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('names')
    create_old_guard()
