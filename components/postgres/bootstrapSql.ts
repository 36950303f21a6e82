/** What the primary's bootstrap needs; identifiers are validated by the stack config. */
export interface BootstrapSettings {
    readonly databaseName: string;
    readonly appUser: string;
}

/** A double-quoted SQL identifier (any name, even one the config would refuse, stays one name). */
export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** A single-quoted SQL string literal (standard_conforming_strings, PostgreSQL's default). */
export function quoteLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

/** PgBouncer looks up SCRAM verifiers through this function; it never sees superusers or the replicator. */
const PGBOUNCER_AUTH_SQL = `CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION postgres;
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename name, passwd text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT usename, passwd FROM pg_catalog.pg_shadow
    WHERE usename = p_usename AND NOT usesuper AND NOT userepl
$$;
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;`;

/**
 * Renders the idempotent SQL the primary runs at every start (psql, as postgres over the local
 * socket). It holds no secret: passwords arrive as psql variables (`:'app_password'`) read from the
 * node's secrets directory, each either a SCRAM verifier or a plain password. Every name is quoted.
 *
 * When `pgha:appUser` changed on a live stack, the database's owner is the previous application
 * role: ownership of the database and of everything the previous role owned in it moves to the
 * new role, and the previous role loses its login (it is kept, so nothing that refers to it breaks).
 */
export function renderBootstrapSql(s: BootstrapSettings): string {
    const app = quoteIdent(s.appUser);
    const db = quoteIdent(s.databaseName);
    const role = (name: string, attributes: string, variable: string) => `
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(name)}) AS role_missing \\gset
\\if :role_missing
CREATE ROLE ${quoteIdent(name)};
\\endif
ALTER ROLE ${quoteIdent(name)} WITH ${attributes} PASSWORD :'${variable}';`;
    return `-- Rendered by pgha: roles, database and helper functions. Safe to run again.
\\set ON_ERROR_STOP on
SET password_encryption = 'scram-sha-256';
ALTER ROLE postgres PASSWORD :'superuser_password';
${role("replicator", "LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE", "replicator_password")}
${role(s.appUser, "LOGIN NOSUPERUSER NOREPLICATION CREATEDB", "app_password")}
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

SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = ${quoteLiteral(s.databaseName)}) AS db_missing \\gset
\\if :db_missing
CREATE DATABASE ${db} OWNER ${app};
\\endif

-- pgha:appUser renamed: the previous application role (the owner, not a superuser) hands over.
SELECT coalesce(max(r.rolname), '') AS previous_app_user, count(*) > 0 AS app_user_renamed
  FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
 WHERE d.datname = ${quoteLiteral(s.databaseName)} AND r.rolname <> ${quoteLiteral(s.appUser)} AND NOT r.rolsuper \\gset
\\if :app_user_renamed
\\echo pgha: pgha:appUser changed from :previous_app_user to ${s.appUser}: moving ownership, retiring the old login
ALTER DATABASE ${db} OWNER TO ${app};
\\connect ${db}
REASSIGN OWNED BY :"previous_app_user" TO ${app};
ALTER ROLE :"previous_app_user" NOLOGIN;
\\endif

-- The application role may create databases (frameworks' test databases); PgBouncer serves any
-- database through its fallback entry and authenticates in the database the client asks for, so
-- the auth function is also in postgres (where frameworks run CREATE DATABASE) and in template1
-- (copied into every new database).
\\connect template1
${PGBOUNCER_AUTH_SQL}
\\connect postgres
${PGBOUNCER_AUTH_SQL}
\\connect ${db}
${PGBOUNCER_AUTH_SQL}

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
