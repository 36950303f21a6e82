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
    /** Replica host names; with none streaming, the read-only entry points at the primary. */
    readonly replicaHosts: readonly string[];
    readonly poolMode: PoolMode;
    readonly poolSize: number;
    readonly maxClientConnections: number;
}

/** The [databases] section the role script writes, and rewrites as replicas come and go. */
export const PGBOUNCER_DATABASES_INI = `${NODE_PATHS.run}/pgbouncer-databases.ini`;

/**
 * Renders pgbouncer.ini. Works with PgBouncer 1.18 (Debian bookworm) and later. Clients
 * authenticate with SCRAM against the verifiers PostgreSQL stores (auth_query), so no application
 * password is written to PgBouncer's files.
 *
 * The [databases] section is not here: PgBouncer does not skip a dead host of a host list by
 * itself (pgbouncer issue 872), so the role script keeps {@link PGBOUNCER_DATABASES_INI} current:
 * `<databaseName>` to the primary, `<readOnlyDatabaseName>` to the replicas that stream right now
 * (round-robin), reloading PgBouncer when that changes. The node.env of {@link pgbouncerEnv} says
 * which hosts those are.
 */
export function renderPgbouncerIni(
    s: Pick<PgbouncerSettings, "poolMode" | "poolSize" | "maxClientConnections">,
): string {
    return [
        "; Rendered by pgha.",
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
        // The role script closes idle pools of frameworks' test databases through the admin console.
        "admin_users = pgbouncer_auth",
        "ignore_startup_parameters = extra_float_digits",
        // After a failover, a connection attempt to the dead primary holds the pool until it times out,
        // then the pool waits server_login_retry: both short, so writes resume within a few seconds.
        "server_login_retry = 1",
        "server_connect_timeout = 2",
        "dns_max_ttl = 5",
        // A server that vanished (killed, cut off) fails its connections within seconds instead of
        // holding clients until the kernel gives up: keepalives when idle, a bound on unacknowledged data.
        "tcp_keepalive = 1",
        "tcp_keepidle = 5",
        "tcp_keepintvl = 2",
        "tcp_keepcnt = 3",
        "tcp_user_timeout = 5000",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
        `%include ${PGBOUNCER_DATABASES_INI}`,
        "",
    ].join("\n");
}

/** What PgBouncer's role script routes: node.env entries (validated by nodeEnvFile). */
export function pgbouncerEnv(s: PgbouncerSettings): Record<string, string> {
    return {
        PGHA_DATABASE: s.databaseName,
        PGHA_RO_DATABASE: s.readOnlyDatabaseName,
        PGHA_PRIMARY_HOST: s.primaryHost,
        PGHA_READ_HOSTS: s.replicaHosts.join(" "),
        PGHA_POSTGRES_PORT: String(POSTGRES_PORT),
    };
}
