import { NODE_PATHS, POSTGRES_PORT, PostgresSettings, WAL_SENDERS } from "./postgresqlConf";

/** Patroni's REST API port on every PostgreSQL node (cluster network only, never published). */
export const PATRONI_API_PORT = 8008;
/** etcd's client and peer ports (cluster network only). */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Where Patroni's local configuration and the role script of its roles live on a node. */
export const PATRONI_PATHS = {
    conf: `${NODE_PATHS.etc}/patroni.yml`,
    dynamic: `${NODE_PATHS.etc}/patroni-dynamic.json`,
    script: `${NODE_PATHS.etc}/bin/pgha-patroni`,
} as const;
/** The DCS key prefix Patroni writes below (etcd's `patroni` user may touch nothing else). */
export const PATRONI_NAMESPACE = "/service/";

/**
 * Patroni's timings, in seconds. ttl 20 is Patroni's floor (it raises a lower one): a lost leader's
 * key expires within 20 s and a replica takes over; loop_wait 2 checks every 2 s. retry_timeout 5
 * (as Patroni's own failsafe tests) keeps loop_wait + 2 * retry_timeout = 12 s well below ttl: an
 * isolated leader gives up and demotes itself seconds before its key expires and another member
 * may be promoted. With 9 (ttl exactly) the e2e partition test saw an asynchronous leader cut off
 * the network still acknowledge writes 10 s after its key expired, beside the new leader.
 */
export const PATRONI_TIMINGS = { ttl: 20, loopWait: 2, retryTimeout: 5 } as const;

/** How writes behave under `synchronousMode: any1` when no replica can confirm. */
export interface SynchronousChoice {
    readonly mode: PostgresSettings["synchronousMode"];
    /** true: writes wait (no acknowledged commit is ever on one node only); false: they go on alone. */
    readonly strict: boolean;
}

/**
 * The number of etcd members for a cluster of `postgresNodes` PostgreSQL nodes: 1 for a single
 * node, 3 up to 4 nodes, 5 from 5 nodes. Never an even count: an even one tolerates no more
 * failures than the odd count below it.
 */
export function etcdMemberCount(postgresNodes: number): number {
    if (!Number.isInteger(postgresNodes) || postgresNodes < 1) {
        throw new Error(`a cluster needs at least 1 PostgreSQL node, got ${postgresNodes}`);
    }
    return postgresNodes === 1 ? 1 : postgresNodes < 5 ? 3 : 5;
}

/**
 * The cluster-wide settings Patroni keeps in the DCS (`bootstrap.dcs` at the first bootstrap; the
 * leader PATCHes /config with the same after every start, so a redeploy's change reaches a live
 * cluster). PostgreSQL settings that must match across nodes are here, since Patroni passes them on
 * the command line over postgresql.conf.
 */
export function patroniDynamicConfig(settings: PostgresSettings, sync: SynchronousChoice): object {
    return {
        ttl: PATRONI_TIMINGS.ttl,
        loop_wait: PATRONI_TIMINGS.loopWait,
        retry_timeout: PATRONI_TIMINGS.retryTimeout,
        // A leader that loses the DCS keeps its role while every member it can reach says it still leads.
        failsafe_mode: true,
        // A crashed primary is failed over at once rather than restarted in place.
        primary_start_timeout: 0,
        synchronous_mode: sync.mode === "any1" ? "quorum" : false,
        synchronous_mode_strict: sync.mode === "any1" && sync.strict,
        synchronous_node_count: 1,
        // A departed member's slot goes with its member key (Patroni 4 would keep it 30 min).
        member_slots_ttl: 0,
        postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
                max_connections: settings.maxConnections,
                max_wal_senders: WAL_SENDERS,
                max_replication_slots: WAL_SENDERS,
                wal_keep_size: `${settings.walKeepSizeMb}MB`,
                max_slot_wal_keep_size: `${settings.maxSlotWalKeepSizeMb}MB`,
                wal_level: "replica",
                wal_log_hints: "on",
                hot_standby: "on",
            },
        },
    };
}

/** One Patroni member's local facts. */
export interface PatroniMember {
    /** The cluster's name in the DCS (Patroni's `scope`; also PostgreSQL's cluster_name). */
    readonly scope: string;
    /** The member's name: its slot and application_name (`replica_1`). */
    readonly name: string;
    /** Host name of the node on the cluster network. */
    readonly host: string;
    /** etcd members' host names. */
    readonly etcdHosts: readonly string[];
    /** PostgreSQL major version (the binaries' directory). */
    readonly pgMajor: number;
}

/**
 * Patroni's local configuration of one member, as JSON (which YAML reads). It holds no secret:
 * the replicator's, the REST API's and etcd's passwords arrive as PATRONI_* variables, which
 * Patroni keeps out of PostgreSQL's environment (patroni/postgresql/postmaster.py). Patroni writes
 * postgresql.conf itself and includes the rendered one (`custom_conf`) first.
 */
export function renderPatroniConf(
    member: PatroniMember,
    settings: PostgresSettings,
    sync: SynchronousChoice,
): string {
    // Through bash: Patroni runs them as postgres, and the platform may ship the script as 0744.
    const script = `bash ${PATRONI_PATHS.script}`;
    const callback = `${script} callback`;
    const conf = {
        scope: member.scope,
        namespace: PATRONI_NAMESPACE,
        name: member.name,
        log: { level: "INFO", format: "%(asctime)s patroni: %(levelname)s: %(message)s" },
        restapi: {
            listen: `0.0.0.0:${PATRONI_API_PORT}`,
            connect_address: `${member.host}:${PATRONI_API_PORT}`,
            // Unsafe endpoints (switchover, restart, config) need these credentials; reads do not.
            authentication: { username: "patroni" },
        },
        ctl: { insecure: false },
        etcd3: {
            hosts: member.etcdHosts.map((h) => `${h}:${ETCD_CLIENT_PORT}`),
            protocol: "http",
            username: "patroni",
        },
        bootstrap: {
            dcs: patroniDynamicConfig(settings, sync),
            initdb: [
                { encoding: "UTF8" },
                { locale: "C.UTF-8" },
                "data-checksums",
                { "auth-local": "peer" },
                { "auth-host": "scram-sha-256" },
            ],
            post_bootstrap: `${script} post-bootstrap`,
        },
        postgresql: {
            listen: `0.0.0.0:${POSTGRES_PORT}`,
            connect_address: `${member.host}:${POSTGRES_PORT}`,
            data_dir: NODE_PATHS.pgdata,
            bin_dir: `/usr/lib/postgresql/${member.pgMajor}/bin`,
            pgpass: `${NODE_PATHS.run}/patroni.pgpass`,
            custom_conf: `${NODE_PATHS.etc}/postgresql.conf`,
            use_unix_socket: true,
            parameters: {
                hba_file: `${NODE_PATHS.etc}/pg_hba.conf`,
                unix_socket_directories: "/var/run/postgresql",
            },
            authentication: {
                // Over the local socket by peer authentication: no superuser password on any node.
                superuser: { username: "postgres" },
                replication: { username: "replicator" },
                // pg_rewind reads the leader's files as the replicator (bootstrap.sql grants it what that needs).
                rewind: { username: "replicator" },
            },
            basebackup: [{ checkpoint: "fast" }],
            callbacks: { on_start: callback, on_role_change: callback },
        },
        // The dev stack's containers have no watchdog device; a hung node is fenced by its key's expiry.
        watchdog: { mode: "off" },
        tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    };
    return JSON.stringify(conf, null, 2) + "\n";
}
