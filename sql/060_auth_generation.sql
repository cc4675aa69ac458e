-- SPDX-License-Identifier: MIT
-- 060_auth_generation.sql: one counter that changes whenever a credential
-- stops being good, so every collector can cache credentials and still
-- stop honouring a revoked one within seconds (collector/auth_cache.h).
--
-- auth_generation.n is incremented in the transaction that revokes, re-keys
-- or deletes a credential. Each collector reads it about once a second on a
-- connection of its own and drops its cached credentials when it changed.
-- A single row updated in place, not max() of a sequence: two revocations
-- committing out of their sequence order would leave max() unchanged for
-- the second one; the row lock serialises them and each commit changes n.
--
-- pf_auth_bump() is the trigger function every credential table uses
-- (agents here; tables of API tokens add their own trigger calling it).
-- It also sends NOTIFY portfleet_auth, so a listening collector re-reads
-- the counter at once instead of at its next poll.

CREATE TABLE auth_generation (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    n   bigint NOT NULL
);
INSERT INTO auth_generation (one, n) VALUES (true, 0);

CREATE FUNCTION pf_auth_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
BEGIN
    UPDATE auth_generation SET n = n + 1 WHERE one RETURNING n INTO g;
    PERFORM pg_notify('portfleet_auth', g::text);
    RETURN NULL;
END
$$;

-- Row-level with a WHEN clause: ingest updates other columns of agents
-- and must not flush every cache; only a change of the key or of its
-- revocation counts (un-revoking too: a cached "unknown" is never kept,
-- but be exact).
CREATE TRIGGER agents_auth_update
    AFTER UPDATE ON agents
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.node_key_hash IS DISTINCT FROM NEW.node_key_hash)
    EXECUTE FUNCTION pf_auth_bump();

CREATE TRIGGER agents_auth_delete
    AFTER DELETE ON agents
    FOR EACH ROW
    EXECUTE FUNCTION pf_auth_bump();
