-- SPDX-License-Identifier: MIT
-- 030_tenants.sql: tenants (an MSP's customers), their enrollment secrets,
-- the bearer tokens of the read side, and browser sessions (docs in
-- README.md, "One collector for many customers").
--
-- * Every agent belongs to one tenant (agents.tenant), decided by the
--   enrollment secret it used. Snapshots and rollups carry no tenant: they
--   are reached through agent_id, so the tenant of a row is its agent's
--   and can never disagree with it. Existing agents become the "default"
--   tenant's: the serve options --enroll-secret and --admin-token stay
--   what they were (the default tenant's secret, an operator token), so an
--   existing install keeps working after migrate.
-- * Secrets and tokens are stored as SHA-256 of 192 random bits: nothing
--   to brute-force, and the database never holds one. They are revoked,
--   not deleted, so a list shows what was handed out.
-- * auth_epoch counts every change to tokens, sessions and tenants; each
--   collector polls it every second and reloads its in-memory table of
--   valid tokens and sessions only when it moved. That is how a revoked
--   token stops working on every collector within seconds without a
--   database round trip per request.

CREATE TABLE tenants (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9-]{1,64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tenants (name) VALUES ('default');

ALTER TABLE agents ADD COLUMN tenant text NOT NULL DEFAULT 'default' REFERENCES tenants (name);
CREATE INDEX agents_tenant ON agents (tenant);

CREATE TABLE enroll_secrets (
    id          bigserial PRIMARY KEY,
    tenant      text NOT NULL REFERENCES tenants (name),
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX enroll_secrets_tenant ON enroll_secrets (tenant);

-- role operator has no tenant (it sees every tenant); read and admin have one.
CREATE TABLE tokens (
    id         bigserial PRIMARY KEY,
    tenant     text REFERENCES tenants (name),
    role       text NOT NULL CHECK (role IN ('read', 'admin', 'operator')),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'operator') = (tenant IS NULL))
);
CREATE INDEX tokens_tenant ON tokens (tenant);

-- A browser session: the hash of the cookie's random id, the token it was
-- opened with (NULL: the --admin-token option), and its server-side end.
-- Revoking the token ends its sessions (the reload joins on tokens).
CREATE TABLE sessions (
    id_hash    bytea PRIMARY KEY,
    token_id   bigint REFERENCES tokens (id) ON DELETE CASCADE,
    tenant     text REFERENCES tenants (name),
    role       text NOT NULL CHECK (role IN ('read', 'admin', 'operator')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE auth_epoch (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    n   bigint NOT NULL
);
INSERT INTO auth_epoch (n) VALUES (1);

CREATE FUNCTION pf_auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET n = n + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER tokens_epoch AFTER INSERT OR UPDATE OR DELETE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION pf_auth_epoch_bump();
CREATE TRIGGER sessions_epoch AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION pf_auth_epoch_bump();
CREATE TRIGGER tenants_epoch AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION pf_auth_epoch_bump();
