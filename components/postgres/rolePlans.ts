import { renderBootstrapSql, BootstrapSettings } from "./bootstrapSql";
import { configFile, nodeEnvFile, NodeFile, roleScript } from "./nodeFiles";
import { pgbouncerEnv, renderPgbouncerIni, PgbouncerSettings } from "./pgbouncerIni";
import { NODE_PATHS, PostgresSettings, renderPgHba, renderPostgresqlConf } from "./postgresqlConf";
import { BackupSettings, PGBACKREST_PATHS, renderPgbackrestConf } from "./pgbackrestConf";
import { NodeSpec } from "./topology";
import type { CredentialName } from "../secrets/replicationSecrets";

/** Secrets a node may need: a cluster credential, or the backup repository's shared S3 key. */
export type SecretName = CredentialName | "s3_key" | "s3_key_secret";

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
}

/** pgbackrest.conf and the S3 key, for every role that archives, backs up or restores. */
function backupParts(facts: ClusterFacts): RolePlan {
    if (!facts.backup) {
        return { files: [], secrets: [] };
    }
    const { caFile } = facts.backup.repository;
    const ca = caFile && facts.backup.caCertificatePem ? [{ path: caFile, content: facts.backup.caCertificatePem }] : [];
    return {
        files: [{ path: PGBACKREST_PATHS.conf, content: renderPgbackrestConf(facts.backup) }, ...ca],
        secrets:
            facts.backup.repository.keyType === "shared"
                ? [
                      { credential: "s3_key", form: "password" },
                      { credential: "s3_key_secret", form: "password" },
                  ]
                : [],
    };
}

function merge(...plans: RolePlan[]): RolePlan {
    return { files: plans.flatMap((p) => p.files), secrets: plans.flatMap((p) => p.secrets) };
}

function env(node: string, role: string, pgMajor: number, extra: Record<string, string> = {}): NodeFile {
    return nodeEnvFile({ PGHA_NODE: node, PGHA_ROLE: role, PG_MAJOR: pgMajor, PGDATA: NODE_PATHS.pgdata, ...extra });
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
    const verifiers = (["superuser", "replicator", "app", "pgbouncer_auth", "monitor"] as const).map((credential) => ({ credential, form: "verifier" as const }));
    // A replica gets the backup settings too, so it archives as soon as it is promoted.
    return merge(backupParts(facts), {
        files: [
            roleScript(),
            env(node.identity, node.role, facts.pgMajor, { PGHA_HOST: hosts.self, PGHA_PRIMARY_HOST: hosts.primary, PGHA_SLOT: node.slotName }),
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
        files: [roleScript(), env("pgbouncer", "pgbouncer", facts.pgMajor, pgbouncerEnv(settings)), configFile("pgbouncer.ini", renderPgbouncerIni(settings))],
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
        files: [roleScript(), env("slots", "reconcile-slots", facts.pgMajor, { PGHA_PRIMARY_HOST: primaryHost, PGHA_EXPECTED_SLOTS: slots })],
        secrets: [{ credential: "replicator", form: "password" }],
    };
}

/**
 * The backup scheduler: next to the primary (its data directory and socket), takes a backup every
 * `intervalHours` (full every `fullIntervalDays`, differential otherwise) and records each run in
 * pgha.backup_runs. `createBucket` asks it to create the bucket first (a fresh local S3 server).
 */
export function backupSchedulerPlan(facts: ClusterFacts, databaseName: string, createBucket: boolean): RolePlan {
    if (!facts.backup) {
        throw new Error("backupSchedulerPlan needs backup settings");
    }
    return merge(backupParts(facts), {
        files: [
            roleScript(),
            env("backup", "backup-scheduler", facts.pgMajor, {
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
            env("restore", "restore", facts.pgMajor, targetTime ? { PGHA_RESTORE_TARGET_TIME: targetTime } : {}),
            configFile("postgresql.conf", renderPostgresqlConf(postgres, { identity: "restore" })),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
        ],
        secrets: [],
    });
}
