-- asom PostgreSQL store, schema 1. Shipped migrations never change; add a new file.
-- Text that is sorted or range-scanned uses COLLATE "C" (byte order, the
-- same as SQLite's BINARY), whatever the database's default collation.

CREATE TABLE tenants (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       TEXT COLLATE "C" NOT NULL UNIQUE,
    origin     TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Public keys that sign (active) or have signed a tenant's checkpoints.
CREATE TABLE log_keys (
    tenant     BIGINT NOT NULL REFERENCES tenants(id),
    verifier   TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    active     BOOLEAN NOT NULL,
    PRIMARY KEY (tenant, verifier)
);

CREATE TABLE principals (
    tenant BIGINT NOT NULL REFERENCES tenants(id),
    slug   TEXT COLLATE "C" NOT NULL,
    body   TEXT NOT NULL, -- the principal as JSON
    PRIMARY KEY (tenant, slug)
);

-- Tokens are stored as the SHA-256 of their secret, never the secret.
CREATE TABLE tokens (
    id         TEXT COLLATE "C" PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    tenant     BIGINT NOT NULL REFERENCES tenants(id),
    principal  TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT
);

-- The ledger, one row per entry in log order per tenant. The ledger tables
-- carry no foreign keys (a trigger per inserted row); appends check the tenant.
CREATE TABLE entries (
    tenant     BIGINT NOT NULL,
    seq        BIGINT NOT NULL,  -- the entry's index in the log
    id         BYTEA NOT NULL,   -- SHA-256 of body
    content_id BYTEA NOT NULL,   -- SHA-256 of the submission; idempotency key
    kind       TEXT NOT NULL,
    body       BYTEA NOT NULL,   -- RFC 8785 canonical JSON, exactly as hashed
    PRIMARY KEY (tenant, seq)
);
CREATE UNIQUE INDEX entries_by_content ON entries (tenant, content_id);
CREATE INDEX entries_by_id ON entries (tenant, id);

-- Every complete subtree hash, keyed by creation (post-)order position.
CREATE TABLE nodes (
    tenant   BIGINT NOT NULL,
    position BIGINT NOT NULL,
    hash     BYTEA NOT NULL,
    PRIMARY KEY (tenant, position)
);

-- Index keys of entries: derived from each entry's own "keys" member (which
-- is hashed into the log), checked by whole-log verification.
CREATE TABLE entry_keys (
    tenant BIGINT NOT NULL,
    entry  BIGINT NOT NULL,      -- the entry's index
    key    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, entry, key)
);
CREATE INDEX entry_keys_by_key ON entry_keys (tenant, key, entry);

CREATE TABLE checkpoints (
    tenant     BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    root       BYTEA NOT NULL,
    note       TEXT NOT NULL,    -- C2SP signed note
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, size)
);

-- The ledger is append-only, also for anyone holding a SQL prompt: updates,
-- deletes and truncation are refused (inserts over an existing row already
-- are, by the primary keys).
CREATE FUNCTION asom_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the asom ledger table % is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER nodes_append_only BEFORE UPDATE OR DELETE ON nodes
    FOR EACH ROW EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER entry_keys_append_only BEFORE UPDATE OR DELETE ON entry_keys
    FOR EACH ROW EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER nodes_no_truncate BEFORE TRUNCATE ON nodes
    FOR EACH STATEMENT EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER entry_keys_no_truncate BEFORE TRUNCATE ON entry_keys
    FOR EACH STATEMENT EXECUTE FUNCTION asom_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION asom_refuse_change();
