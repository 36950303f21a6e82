import * as pulumi from "@pulumi/pulumi";
import { renderBootstrapSql, BootstrapSettings } from "./bootstrapSql";
import { configFile, nodeEnvFile, NodeFile, roleScript } from "./nodeFiles";
import { pgbouncerEnv, renderPgbouncerIni, PgbouncerSettings } from "./pgbouncerIni";
import { NODE_PATHS, PostgresSettings, renderPgHba, renderPostgresqlConf } from "./postgresqlConf";
import {
    BackupSettings,
    isPosixRepository,
    PGBACKREST_PATHS,
    PGBACKREST_TLS_PATHS,
    renderPgbackrestConf,
    renderPgbackrestServerConf,
    ReplicaBackupRole,
} from "./pgbackrestConf";
import { NodeSpec } from "./topology";
import type { CredentialName } from "../secrets/replicationSecrets";

/** Secrets a node may need: a cluster credential, the backup repository's shared S3 key, or a pgBackRest TLS key. */
export type SecretName =
    | CredentialName
    | "s3_key"
    | "s3_key_secret"
    | "pgbackrest_server_key"
    | "pgbackrest_client_key"
    | PatroniSecretName;

/** Secrets of automatic failover: Patroni's REST API user, etcd's root and Patroni's etcd user. */
export type PatroniSecretName = "patroni_api" | "etcd_root" | "etcd_patroni";

/** A secret a role needs in /etc/pgha/secrets: the password itself, or only its SCRAM verifier. */
export interface SecretNeed {
    readonly credential: SecretName;
    readonly form: "password" | "verifier";
}

/** The name the role script reads a secret by: `<credential>` for a password, `<credential>_verifier` for a verifier. */
export function secretFileName(need: SecretNeed): string {
    return need.form === "verifier" ? `${need.credential}_verifier` : need.credential;
}

/** Everything one node needs, whatever the platform: non-secret files, and the secrets to add. */
export interface RolePlan {
    readonly files: NodeFile[];
    readonly secrets: SecretNeed[];
}

/** Facts shared by every role of a cluster. */
export interface ClusterFacts {
    /** PostgreSQL major version (the binaries' directory). */
    readonly pgMajor: number;
    readonly postgres: PostgresSettings;
    readonly bootstrap: BootstrapSettings;
    /** Networks the nodes replicate over (pg_hba `samenet` on Docker, the VPC CIDR on AWS). */
    readonly clusterCidrs: readonly string[];
    /** Networks clients and PgBouncer connect from. */
    readonly clientCidrs: readonly string[];
    /** Backups (pgBackRest to S3); absent when backups are off. */
    readonly backup?: BackupSettings;
    /** Certificates of pgBackRest's TLS protocol; present when backups copy from a replica. */
    readonly backupTls?: BackupTlsCertificatePems;
}

/** The public half of BackupTlsCertificates: what nodes get as files (the keys are secrets). */
export interface BackupTlsCertificatePems {
    readonly caCertificatePem: pulumi.Input<string>;
    readonly serverCertificatePem: pulumi.Input<string>;
    readonly clientCertificatePem: pulumi.Input<string>;
}

const S3_KEY_SECRETS: readonly SecretNeed[] = [
    { credential: "s3_key", form: "password" },
    { credential: "s3_key_secret", form: "password" },
];

/**
 * pgbackrest.conf and the S3 key, for every role that archives, backs up or restores; with
 * `replicaBackup`, also the TLS files a pgBackRest server or the backup reaching one needs.
 */
export function backupParts(facts: ClusterFacts, replicaBackup: ReplicaBackupRole = {}): RolePlan {
    if (!facts.backup) {
        return { files: [], secrets: [] };
    }
    const repository = facts.backup.repository;
    const caFile = isPosixRepository(repository) ? undefined : repository.caFile;
    const ca =
        caFile && facts.backup.caCertificatePem
            ? [{ path: caFile, content: facts.backup.caCertificatePem }]
            : [];
    const tls = replicaBackupTlsParts(facts, replicaBackup);
    return {
        files: [
            { path: PGBACKREST_PATHS.conf, content: renderPgbackrestConf(facts.backup, replicaBackup) },
            ...ca,
            ...tls.files,
        ],
        secrets: [
            ...tls.secrets,
            ...(!isPosixRepository(repository) && repository.keyType === "shared" ? S3_KEY_SECRETS : []),
        ],
    };
}

/** The CA, the client certificate and its key: what the backup needs to reach replicas' pgBackRest servers. */
function replicaBackupTlsParts(facts: ClusterFacts, replicaBackup: ReplicaBackupRole): RolePlan {
    if ((replicaBackup.standbyHosts?.length ?? 0) === 0) {
        return { files: [], secrets: [] };
    }
    const pems = requireBackupTls(facts);
    return {
        files: [
            { path: PGBACKREST_TLS_PATHS.ca, content: pems.caCertificatePem },
            { path: PGBACKREST_TLS_PATHS.clientCertificate, content: pems.clientCertificatePem },
        ],
        secrets: [{ credential: "pgbackrest_client_key", form: "password" }],
    };
}

function requireBackupTls(facts: ClusterFacts): BackupTlsCertificatePems {
    if (!facts.backupTls) {
        throw new Error(
            "backups from a replica need the pgBackRest TLS certificates (ClusterFacts.backupTls)",
        );
    }
    return facts.backupTls;
}

export function merge(...plans: RolePlan[]): RolePlan {
    return { files: plans.flatMap((p) => p.files), secrets: plans.flatMap((p) => p.secrets) };
}

export function roleEnv(
    node: string,
    role: string,
    pgMajor: number,
    extra: Record<string, string> = {},
): NodeFile {
    return nodeEnvFile({
        PGHA_NODE: node,
        PGHA_ROLE: role,
        PG_MAJOR: pgMajor,
        PGDATA: NODE_PATHS.pgdata,
        ...extra,
    });
}

/** Where a PostgreSQL node is and where its primary is, as host names or addresses on the cluster network. */
export interface NodeHosts {
    /** This node's own host. */
    readonly self: string;
    /** The primary's host (the same as `self` on the primary). */
    readonly primary: string;
}

/**
 * A PostgreSQL node, primary or replica: the same files and secrets either way, so any node can
 * take either role when a failover says so. As primary: initdb on first start, the bootstrap SQL on
 * every start (it holds SCRAM verifiers only, never the role passwords). As replica: a clone from
 * the primary through its own slot on first start (or pg_rewind when it was a primary), then
 * streaming. Every node has the replicator's password, which a replica streams with.
 */
export function postgresNodePlan(facts: ClusterFacts, node: NodeSpec, hosts: NodeHosts): RolePlan {
    const verifiers = (["superuser", "replicator", "app", "pgbouncer_auth", "monitor"] as const).map(
        (credential) => ({ credential, form: "verifier" as const }),
    );
    // A replica gets the backup settings too, so it archives as soon as it is promoted.
    return merge(backupParts(facts), {
        files: [
            roleScript(),
            roleEnv(node.identity, node.role, facts.pgMajor, {
                PGHA_HOST: hosts.self,
                PGHA_PRIMARY_HOST: hosts.primary,
                PGHA_SLOT: node.slotName,
            }),
            configFile("postgresql.conf", renderPostgresqlConf(facts.postgres, node)),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
            configFile("bootstrap.sql", renderBootstrapSql(facts.bootstrap)),
        ],
        secrets: [...verifiers, { credential: "replicator", form: "password" }],
    });
}

/**
 * PgBouncer: its auth user's password, to look up client verifiers, and the monitor's, to see
 * which replicas stream (only those get read-only connections).
 */
export function pgbouncerPlan(facts: ClusterFacts, settings: PgbouncerSettings): RolePlan {
    return {
        files: [
            roleScript(),
            roleEnv("pgbouncer", "pgbouncer", facts.pgMajor, pgbouncerEnv(settings)),
            configFile("pgbouncer.ini", renderPgbouncerIni(settings)),
        ],
        secrets: [
            { credential: "pgbouncer_auth", form: "password" },
            { credential: "monitor", form: "password" },
        ],
    };
}

/** The slot job: makes the primary's pgha_ slots exactly those of `replicas`. */
export function slotsPlan(facts: ClusterFacts, replicas: readonly NodeSpec[], primaryHost: string): RolePlan {
    const slots = replicas.map((r) => r.slotName).join(" ");
    return {
        files: [
            roleScript(),
            roleEnv("slots", "reconcile-slots", facts.pgMajor, {
                PGHA_PRIMARY_HOST: primaryHost,
                PGHA_EXPECTED_SLOTS: slots,
            }),
        ],
        secrets: [{ credential: "replicator", form: "password" }],
    };
}

/**
 * The backup scheduler: next to the primary (its data directory and socket), takes a backup every
 * `intervalHours` (full every `fullIntervalDays`, differential otherwise) and records each run in
 * pgha.backup_runs. `createBucket` asks it to create the bucket first (a fresh local S3 server).
 * With `standbyHosts` (the replicas' pgBackRest servers) it copies the data files from a
 * streaming replica.
 */
export function backupSchedulerPlan(
    facts: ClusterFacts,
    databaseName: string,
    createBucket: boolean,
    standbyHosts: readonly string[] = [],
): RolePlan {
    if (!facts.backup) {
        throw new Error("backupSchedulerPlan needs backup settings");
    }
    return merge(backupParts(facts, { standbyHosts }), {
        files: [
            roleScript(),
            roleEnv("backup", "backup-scheduler", facts.pgMajor, {
                PGHA_DATABASE: databaseName,
                PGHA_BACKUP_INTERVAL_HOURS: String(facts.backup.intervalHours),
                PGHA_BACKUP_FULL_INTERVAL_DAYS: String(facts.backup.fullIntervalDays),
                PGHA_S3_CREATE_BUCKET: createBucket ? "1" : "0",
            }),
        ],
        secrets: [],
    });
}

/**
 * A pgBackRest TLS server beside one node (its data directory and socket): what a backup from a
 * replica reaches the node through. It gets no repository credential: it only reads the node's
 * files and talks to its PostgreSQL for the backup.
 */
export function backupServerPlan(facts: ClusterFacts, node: Pick<NodeSpec, "identity">): RolePlan {
    const pems = requireBackupTls(facts);
    return merge(sharedConfBackupServerPlan(facts, node), {
        files: [
            { path: PGBACKREST_PATHS.conf, content: renderPgbackrestServerConf() },
            { path: PGBACKREST_TLS_PATHS.ca, content: pems.caCertificatePem },
            { path: PGBACKREST_TLS_PATHS.serverCertificate, content: pems.serverCertificatePem },
        ],
        secrets: [],
    });
}

/**
 * A pgBackRest TLS server that shares its node's pgbackrest.conf (rendered with
 * `ReplicaBackupRole.tlsServer`) and whose certificates the platform installs (EC2 fetches them
 * from Secrets Manager): only node.env and the server key, which the role script writes to
 * PGBACKREST_TLS_PATHS.serverKey.
 */
export function sharedConfBackupServerPlan(facts: ClusterFacts, node: Pick<NodeSpec, "identity">): RolePlan {
    return {
        files: [roleScript(), roleEnv(`${node.identity}-pgbackrest`, "backup-server", facts.pgMajor)],
        secrets: [{ credential: "pgbackrest_server_key", form: "password" }],
    };
}

/**
 * A restore into a fresh data directory: the latest state, or `targetTime` (point in time). The
 * restored server runs like a primary without archiving, so it never writes to the repository.
 */
export function restorePlan(facts: ClusterFacts, targetTime?: string): RolePlan {
    if (!facts.backup) {
        throw new Error("restorePlan needs backup settings");
    }
    const postgres = { ...facts.postgres, archive: undefined, synchronousMode: "off" as const };
    return merge(backupParts(facts), {
        files: [
            roleScript(),
            roleEnv(
                "restore",
                "restore",
                facts.pgMajor,
                targetTime ? { PGHA_RESTORE_TARGET_TIME: targetTime } : {},
            ),
            configFile("postgresql.conf", renderPostgresqlConf(postgres, { identity: "restore" })),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
        ],
        secrets: [],
    });
}
