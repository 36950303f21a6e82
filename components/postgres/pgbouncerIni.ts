import { NODE_PATHS, POSTGRES_PORT } from "./postgresqlConf";
import { PoolMode } from "../config";

/** PgBouncer's listen port inside the cluster network. */
export const PGBOUNCER_PORT = 6432;

/** What pgbouncer.ini needs. */
export interface PgbouncerSettings {
    readonly databaseName: string;
    /** Name of the read-only entry; defaults to `<databaseName>_ro`. */
    readonly readOnlyDatabaseName: string;
    readonly primaryHost: string;
    /** Replica host names; with none, the read-only entry points at the primary. */
    readonly replicaHosts: readonly string[];
    readonly poolMode: PoolMode;
    readonly poolSize: number;
    readonly maxClientConnections: number;
}

/**
 * Renders pgbouncer.ini. Works with PgBouncer 1.18 (Debian bookworm) and later: a host list in
 * `host=` is balanced round-robin there. Clients authenticate with SCRAM against the verifiers
 * PostgreSQL stores (auth_query), so no application password is written to PgBouncer's files.
 */
export function renderPgbouncerIni(s: PgbouncerSettings): string {
    const readHosts = s.replicaHosts.length > 0 ? s.replicaHosts.join(",") : s.primaryHost;
    return [
        "; Rendered by pgha.",
        "[databases]",
        `${s.databaseName} = host=${s.primaryHost} port=${POSTGRES_PORT} dbname=${s.databaseName}`,
        `${s.readOnlyDatabaseName} = host=${readHosts} port=${POSTGRES_PORT} dbname=${s.databaseName}`,
        "",
        "[pgbouncer]",
        "listen_addr = 0.0.0.0",
        `listen_port = ${PGBOUNCER_PORT}`,
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        `auth_file = ${NODE_PATHS.run}/userlist.txt`,
        "auth_user = pgbouncer_auth",
        "auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)",
        `pool_mode = ${s.poolMode}`,
        `default_pool_size = ${s.poolSize}`,
        `max_client_conn = ${s.maxClientConnections}`,
        "stats_users = pgha_monitor",
        "ignore_startup_parameters = extra_float_digits",
        "server_login_retry = 2",
        "server_connect_timeout = 5",
        "dns_max_ttl = 5",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
    ].join("\n");
}
