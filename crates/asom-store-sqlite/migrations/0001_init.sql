-- asom embedded store, schema 1. Shipped migrations never change; add a new file.

CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    origin     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Public keys that sign (active) or have signed a tenant's checkpoints.
CREATE TABLE log_keys (
    tenant     INTEGER NOT NULL REFERENCES tenants(id),
    verifier   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    active     INTEGER NOT NULL,
    PRIMARY KEY (tenant, verifier)
);

CREATE TABLE principals (
    tenant INTEGER NOT NULL REFERENCES tenants(id),
    slug   TEXT NOT NULL,
    body   TEXT NOT NULL, -- the principal as JSON
    PRIMARY KEY (tenant, slug)
);

-- Tokens are stored as the SHA-256 of their secret, never the secret.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    tenant     INTEGER NOT NULL REFERENCES tenants(id),
    principal  TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- The ledger. Keys pack the tenant and the position into one integer
-- (tenant << 40 | index for entries, tenant << 42 | node position for nodes),
-- so each table is one B-tree in log order and a whole-log scan is sequential.
CREATE TABLE entries (
    key        INTEGER PRIMARY KEY,
    tenant     INTEGER NOT NULL,
    id         BLOB NOT NULL,    -- SHA-256 of body
    content_id BLOB NOT NULL,    -- SHA-256 of the submission; idempotency key
    kind       TEXT NOT NULL,
    body       BLOB NOT NULL,    -- RFC 8785 canonical JSON, exactly as hashed
    id_key     INTEGER NOT NULL, -- first 8 bytes of id, big-endian, signed
    content_key INTEGER NOT NULL -- first 8 bytes of content_id, likewise
);
-- Lookups go through 8-byte prefixes (small indexes, few pages dirtied per
-- batch); the full digest is compared on the rows found.
CREATE INDEX entries_by_content ON entries (tenant, content_key);
CREATE INDEX entries_by_id ON entries (tenant, id_key);

-- Every complete subtree hash, keyed by creation (post-)order.
CREATE TABLE nodes (
    key  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

-- Index keys of entries: derived from each entry's own "keys" member (which
-- is hashed into the log), checked by whole-log verification.
CREATE TABLE entry_keys (
    tenant INTEGER NOT NULL,
    entry  INTEGER NOT NULL,     -- the entry's index
    key    TEXT NOT NULL,
    PRIMARY KEY (tenant, entry, key)
) WITHOUT ROWID;
CREATE INDEX entry_keys_by_key ON entry_keys (tenant, key, entry);

CREATE TABLE checkpoints (
    tenant     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,    -- C2SP signed note
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, size)
) WITHOUT ROWID;

-- The ledger is append-only, also for anyone holding a SQL prompt. INSERT OR
-- REPLACE deletes a conflicting row without firing DELETE triggers, so
-- inserts over an existing key are refused too.
CREATE TRIGGER entries_append_only_r BEFORE INSERT ON entries
    WHEN EXISTS (SELECT 1 FROM entries WHERE key = NEW.key)
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER nodes_append_only_r BEFORE INSERT ON nodes
    WHEN EXISTS (SELECT 1 FROM nodes WHERE key = NEW.key)
    BEGIN SELECT RAISE(ABORT, 'ledger nodes are append-only'); END;
CREATE TRIGGER entry_keys_append_only_u BEFORE UPDATE ON entry_keys
    BEGIN SELECT RAISE(ABORT, 'ledger index keys are append-only'); END;
CREATE TRIGGER entry_keys_append_only_d BEFORE DELETE ON entry_keys
    BEGIN SELECT RAISE(ABORT, 'ledger index keys are append-only'); END;
CREATE TRIGGER checkpoints_append_only_r BEFORE INSERT ON checkpoints
    WHEN EXISTS (SELECT 1 FROM checkpoints WHERE tenant = NEW.tenant AND size = NEW.size)
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER entries_append_only_u BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER entries_append_only_d BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER nodes_append_only_u BEFORE UPDATE ON nodes
    BEGIN SELECT RAISE(ABORT, 'ledger nodes are append-only'); END;
CREATE TRIGGER nodes_append_only_d BEFORE DELETE ON nodes
    BEGIN SELECT RAISE(ABORT, 'ledger nodes are append-only'); END;
CREATE TRIGGER checkpoints_append_only_u BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_append_only_d BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
