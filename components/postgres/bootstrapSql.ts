/** What the primary's bootstrap needs; identifiers are validated by the stack config. */
export interface BootstrapSettings {
    readonly databaseName: string;
    readonly appUser: string;
}

/**
 * Renders the idempotent SQL the primary runs at every start (psql, as postgres over the local
 * socket). It holds no secret: passwords arrive as psql variables (`:'app_password'`) read from the
 * node's secrets directory, each either a SCRAM verifier or a plain password.
 */
export function renderBootstrapSql(s: BootstrapSettings): string {
    const role = (name: string, attributes: string, variable: string) => `
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') AS role_missing \\gset
\\if :role_missing
CREATE ROLE ${name};
\\endif
ALTER ROLE ${name} WITH ${attributes} PASSWORD :'${variable}';`;
    return `-- Rendered by pgha: roles, database and helper functions. Safe to run again.
\\set ON_ERROR_STOP on
SET password_encryption = 'scram-sha-256';
ALTER ROLE postgres PASSWORD :'superuser_password';
${role("replicator", "LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE", "replicator_password")}
${role(s.appUser, "LOGIN NOSUPERUSER NOREPLICATION", "app_password")}
${role("pgbouncer_auth", "LOGIN NOSUPERUSER NOREPLICATION NOCREATEDB NOCREATEROLE", "pgbouncer_auth_password")}
${role("pgha_monitor", "LOGIN NOSUPERUSER NOREPLICATION NOCREATEDB NOCREATEROLE", "monitor_password")}
GRANT pg_monitor TO pgha_monitor;
-- pg_rewind reads the new primary's files as the replicator when a former primary rejoins, after a
-- CHECKPOINT there (a just-promoted primary's control file still names the old timeline until then).
GRANT pg_checkpoint TO replicator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO replicator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO replicator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO replicator;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO replicator;

SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = '${s.databaseName}') AS db_missing \\gset
\\if :db_missing
CREATE DATABASE ${s.databaseName} OWNER ${s.appUser};
\\endif

\\connect ${s.databaseName}
-- PgBouncer looks up SCRAM verifiers through this function; it never sees superusers or the replicator.
CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION postgres;
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename name, passwd text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT usename, passwd FROM pg_catalog.pg_shadow
    WHERE usename = p_usename AND NOT usesuper AND NOT userepl
$$;
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;

-- The post-deploy check writes a canary here; it prunes its own rows.
CREATE SCHEMA IF NOT EXISTS pgha AUTHORIZATION pgha_monitor;
CREATE TABLE IF NOT EXISTS pgha.canary (
    id bigserial PRIMARY KEY,
    token text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE pgha.canary OWNER TO pgha_monitor;

-- The backup scheduler records every run here; the checks read the age of the last good one.
CREATE TABLE IF NOT EXISTS pgha.backup_runs (
    id bigserial PRIMARY KEY,
    backup_type text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    ok boolean NOT NULL,
    label text,
    detail text
);
ALTER TABLE pgha.backup_runs OWNER TO pgha_monitor;
`;
}
