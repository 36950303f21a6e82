import { MAX_REPLICAS, NodeSpec } from "./topology";
import { SynchronousMode } from "../config";

/** Where files live on a node; the same on Docker and EC2 so the role script is shared. */
export const NODE_PATHS = {
    /** Rendered configuration and the role script. */
    etc: "/etc/pgha",
    /** Secret inputs (one file per role password), readable by root only. */
    secrets: "/etc/pgha/secrets",
    /** Files derived from secrets at start-up (pgpass, PgBouncer userlist), owned by postgres, mode 0600. */
    run: "/run/pgha",
    /** The data directory. */
    pgdata: "/var/lib/postgresql/data/pgdata",
} as const;

/** Where the role script lives on a node. */
export const ROLE_SCRIPT = `${NODE_PATHS.etc}/bin/pgha-node`;

/** The PostgreSQL port inside the cluster network. */
export const POSTGRES_PORT = 5432;

/** The settings every node of a cluster shares. */
export interface PostgresSettings {
    readonly maxConnections: number;
    readonly synchronousMode: SynchronousMode;
    readonly walKeepSizeMb: number;
    readonly maxSlotWalKeepSizeMb: number;
    /** WAL archiving to the backup repository; absent when backups are off. */
    readonly archive?: { readonly stanza: string; readonly timeoutSeconds: number };
    /**
     * With `archive`: WAL (MB) kept for an unreachable repository before pgBackRest drops it
     * (`archive-push-queue-max`); also set as `pgha.archive_queue_max_mb`, which `npm run health` reads.
     * Absent: no bound.
     */
    readonly archiveQueueMaxMb?: number;
}

/**
 * WAL senders and slots for the largest cluster plus 5 for backups, a rejoining node and tools.
 * Sized for MAX_REPLICAS rather than the current count because a standby refuses to run with a
 * lower `max_wal_senders` than its primary: a per-count value would restart every node on scaling.
 */
export const WAL_SENDERS = MAX_REPLICAS + 5;

/** Where the role script writes the node's upstream (primary_conninfo, primary_slot_name) while it is a replica. */
export const UPSTREAM_CONF = `${NODE_PATHS.run}/upstream.conf`;

/**
 * Renders postgresql.conf for a node. Every node shares every setting but its `cluster_name`: the
 * upstream of a replica is decided when it starts (the role script writes {@link UPSTREAM_CONF}
 * from node.env, or from the topology a failover recorded), so a replica can be promoted as is and
 * a former primary can follow a new one without a redeploy.
 */
export function renderPostgresqlConf(
    settings: PostgresSettings,
    node: Pick<NodeSpec, "identity">,
    options: { underPatroni?: boolean } = {},
): string {
    const queueMax =
        settings.archiveQueueMaxMb === undefined
            ? ""
            : ` --archive-push-queue-max=${settings.archiveQueueMaxMb * 1024 * 1024}`;
    const lines = [
        "# Rendered by pgha. Shared by every node; edit the Pulumi program, not this file.",
        "listen_addresses = '*'",
        `port = ${POSTGRES_PORT}`,
        `cluster_name = '${node.identity}'`,
        `max_connections = ${settings.maxConnections}`,
        "unix_socket_directories = '/var/run/postgresql'",
        `hba_file = '${NODE_PATHS.etc}/pg_hba.conf'`,
        "password_encryption = 'scram-sha-256'",
        "# A peer that vanished without a reset (killed host, network cut) is dropped in seconds: otherwise its",
        "# walsender blocks in a write until the kernel gives up (~15 min), and every checkpoint with it, so",
        "# max_slot_wal_keep_size would bound nothing meanwhile.",
        "tcp_keepalives_idle = 10",
        "tcp_keepalives_interval = 5",
        "tcp_keepalives_count = 3",
        "tcp_user_timeout = '10s'",
        "",
        "# Replication",
        "wal_level = replica",
        "wal_log_hints = on            # lets pg_rewind bring a former primary back as a replica",
        `max_wal_senders = ${WAL_SENDERS}`,
        `max_replication_slots = ${WAL_SENDERS}`,
        `wal_keep_size = '${settings.walKeepSizeMb}MB'`,
        `max_slot_wal_keep_size = '${settings.maxSlotWalKeepSizeMb}MB'   # a dead replica cannot fill the disk`,
        "hot_standby = on",
        "hot_standby_feedback = on",
        "wal_receiver_status_interval = '1s'",
        "wal_retrieve_retry_interval = '1s'   # a replica re-pointed by a failover reconnects within a second",
        "recovery_target_timeline = 'latest'",
        "synchronous_commit = on",
        `synchronous_standby_names = '${settings.synchronousMode === "any1" ? "ANY 1 (*)" : ""}'`,
        "",
        "# WAL archiving (the primary archives; a standby ignores archive_mode = on until promoted)",
        ...(settings.archive
            ? [
                  "archive_mode = on",
                  `archive_command = 'timeout 120 pgbackrest --stanza=${settings.archive.stanza}${queueMax} archive-push %p'`,
                  `archive_timeout = ${settings.archive.timeoutSeconds}`,
                  ...(settings.archiveQueueMaxMb === undefined
                      ? []
                      : [`pgha.archive_queue_max_mb = ${settings.archiveQueueMaxMb}`]),
              ]
            : ["archive_mode = off"]),
        "",
        "# Logging to stderr: the platform collects it (docker logs, journald).",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "log_replication_commands = on",
        "log_min_duration_statement = 1000",
    ];
    if (options.underPatroni) {
        // Patroni sets cluster_name to the cluster's scope: the node's own name is pgha.node.
        return (
            lines
                .map((line) => (line.startsWith("cluster_name = ") ? `pgha.node = '${node.identity}'` : line))
                .filter((line) => !PATRONI_MANAGED.has(line.split(" = ")[0]))
                .join("\n")
                .replace(
                    "# Rendered by pgha.",
                    "# Rendered by pgha; Patroni includes it and sets what it manages.",
                ) + "\n"
        );
    }
    lines.push(
        "",
        "# Upstream, while this node is a replica (written at start-up; absent on the primary)",
        `include_if_exists = '${UPSTREAM_CONF}'`,
    );
    return lines.join("\n") + "\n";
}

/**
 * Settings Patroni sets itself (its command line, its postgresql.conf, its recovery settings) or
 * takes from the DCS (patroniConf.ts): a node under Patroni leaves them out of the rendered file.
 */
const PATRONI_MANAGED = new Set([
    "listen_addresses",
    "port",
    "max_connections",
    "hba_file",
    "wal_level",
    "wal_log_hints",
    "max_wal_senders",
    "max_replication_slots",
    "wal_keep_size",
    "max_slot_wal_keep_size",
    "hot_standby",
    "recovery_target_timeline",
    "synchronous_standby_names",
]);

/** Renders pg_hba.conf: SCRAM only; replication only for the replicator from the cluster's networks. */
export function renderPgHba(clusterCidrs: readonly string[], clientCidrs: readonly string[]): string {
    const rows = [
        "# Rendered by pgha. TYPE DATABASE USER ADDRESS METHOD",
        "local all postgres peer",
        "local all all scram-sha-256",
        ...clusterCidrs.map((c) => `host replication replicator ${c} scram-sha-256`),
        // The replicator may also open a plain session to manage replication slots, nothing else.
        ...clusterCidrs.map((c) => `host postgres replicator ${c} scram-sha-256`),
        "host all replicator all reject",
        "host replication all all reject",
        ...clientCidrs.map((c) => `host all all ${c} scram-sha-256`),
    ];
    return rows.join("\n") + "\n";
}
