-- asom PostgreSQL store, schema 2: the Idempotency-Key records that `asom serve`
-- processes on one database share, so that a retry answered by another
-- replica gets the first answer. Not part of the ledger: rows are claimed,
-- settled, taken over after a lease and removed after 24 hours.
CREATE TABLE request_keys (
    tenant      BIGINT NOT NULL REFERENCES tenants(id),
    principal   TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint BYTEA NOT NULL,                    -- SHA-256 of the operation and body
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    status      INTEGER,                           -- NULL while the first request runs
    body        BYTEA,
    PRIMARY KEY (tenant, principal, key)
);
CREATE INDEX request_keys_by_age ON request_keys (claimed_at);
