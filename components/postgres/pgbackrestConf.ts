import * as pulumi from "@pulumi/pulumi";
import { NODE_PATHS } from "./postgresqlConf";

/** The pgBackRest stanza every pgha cluster uses (one cluster per repository path). */
export const STANZA = "main";

/** Where the repository lives: an S3 bucket (AWS) or an S3-compatible server (Docker). */
export interface S3Repository {
    /** Absent means S3 (every repository before the posix one existed). */
    readonly type?: "s3";
    /** Host name, without scheme: pgBackRest always uses TLS. */
    readonly endpoint: string;
    readonly port: number;
    readonly bucket: string;
    readonly region: string;
    /** Repository path inside the bucket, e.g. `/pgha-dev`. */
    readonly path: string;
    /** `path` for S3-compatible servers, `host` for AWS. */
    readonly uriStyle: "path" | "host";
    /** Whether to verify the server's TLS certificate (always, unless told otherwise). */
    readonly verifyTls: boolean;
    /** CA certificate file to verify with, e.g. the local server's self-signed certificate. */
    readonly caFile?: string;
    /** `shared`: key and secret in /etc/pgbackrest/conf.d (written from secrets); `auto`: the instance role. */
    readonly keyType: "shared" | "auto";
}

/**
 * A repository on a file system every node mounts at `path` (Docker: one named volume shared by
 * the PostgreSQL nodes, the backup scheduler and restores). No credential, no server.
 */
export interface PosixRepository {
    readonly type: "posix";
    /** Where the repository is mounted in every container that reads or writes it. */
    readonly path: string;
}

/** Where the repository mounts on Docker when it is a volume (pgBackRest's default repo1-path). */
export const POSIX_REPOSITORY_PATH = "/var/lib/pgbackrest";

/** Whether the repository is a file system rather than S3. */
export function isPosixRepository(r: S3Repository | PosixRepository): r is PosixRepository {
    return r.type === "posix";
}

/** What pgbackrest.conf needs. */
export interface BackupSettings {
    readonly repository: S3Repository | PosixRepository;
    /** Days a full backup is kept; pgBackRest expires older backups and their WAL. */
    readonly retentionDays: number;
    /** Hours between scheduled backups. */
    readonly intervalHours: number;
    /** Days between full backups; the others are differential. */
    readonly fullIntervalDays: number;
    /** archive_timeout in seconds. */
    readonly archiveTimeoutSeconds: number;
    /** PEM of the CA certificate shipped to `repository.caFile`, when one is set. */
    readonly caCertificatePem?: pulumi.Input<string>;
}

/** Where the rendered pgbackrest.conf goes (pgBackRest's default path), and its credentials include. */
export const PGBACKREST_PATHS = {
    conf: "/etc/pgbackrest/pgbackrest.conf",
    credentials: "/etc/pgbackrest/conf.d/credentials.conf",
} as const;

/** pgBackRest's TLS files (see BackupTlsCertificates); the keys are written by the role script from secrets. */
export const PGBACKREST_TLS_PATHS = {
    ca: "/etc/pgbackrest/tls/ca.crt",
    serverCertificate: "/etc/pgbackrest/tls/server.crt",
    serverKey: "/etc/pgbackrest/tls/server.key",
    clientCertificate: "/etc/pgbackrest/tls/client.crt",
    clientKey: "/etc/pgbackrest/tls/client.key",
} as const;

/** The client certificate's common name: the one client the pgBackRest TLS servers accept. */
export const PGBACKREST_TLS_CLIENT = "pgha-backup";

/** The port `pgbackrest server` listens on (pgBackRest's default). */
export const PGBACKREST_TLS_PORT = 8432;

/** What the backup's pgbackrest.conf adds to copy the data files from a replica. */
export interface ReplicaBackupRole {
    /**
     * Hosts of the other nodes' pgBackRest TLS servers: the backup reaches them as pg2, pg3, ...
     * and copies the data files from a streaming one (`backup-standby`), pg1 (the backup's own
     * node) being the primary.
     */
    readonly standbyHosts?: readonly string[];
    /**
     * Also the settings of this node's own pgBackRest TLS server (`pgbackrest server`), in the same
     * file: where a node both serves its files to a backup and backs up itself (EC2, where every
     * PostgreSQL node runs both and the repository needs no key). Other commands ignore them.
     * Default false.
     */
    readonly tlsServer?: boolean;
}

/** The tls-server-* settings of `pgbackrest server`: only the backup's client certificate, only for the stanza. */
function tlsServerLines(): string[] {
    const tls = PGBACKREST_TLS_PATHS;
    return [
        "tls-server-address=*",
        `tls-server-port=${PGBACKREST_TLS_PORT}`,
        `tls-server-ca-file=${tls.ca}`,
        `tls-server-cert-file=${tls.serverCertificate}`,
        `tls-server-key-file=${tls.serverKey}`,
        `tls-server-auth=${PGBACKREST_TLS_CLIENT}=${STANZA}`,
    ];
}

/**
 * Renders pgbackrest.conf for every node: the primary archives WAL with it (archive_command), the
 * backup scheduler backs up and a restore reads with it. No credential is in it: a shared key is
 * written by the role script to PGBACKREST_PATHS.credentials from the node's secrets.
 */
export function renderPgbackrestConf(s: BackupSettings, replicaBackup: ReplicaBackupRole = {}): string {
    const r = s.repository;
    const repository = isPosixRepository(r)
        ? ["repo1-type=posix", `repo1-path=${r.path}`]
        : [
              "repo1-type=s3",
              `repo1-s3-endpoint=${r.endpoint}`,
              `repo1-storage-port=${r.port}`,
              `repo1-s3-bucket=${r.bucket}`,
              `repo1-s3-region=${r.region}`,
              `repo1-s3-uri-style=${r.uriStyle}`,
              `repo1-s3-key-type=${r.keyType}`,
              `repo1-storage-verify-tls=${r.verifyTls ? "y" : "n"}`,
              ...(r.caFile ? [`repo1-storage-ca-file=${r.caFile}`] : []),
              `repo1-path=${r.path}`,
          ];
    return [
        "# Rendered by pgha.",
        "[global]",
        ...repository,
        "repo1-retention-full-type=time",
        `repo1-retention-full=${s.retentionDays}`,
        "compress-type=zst",
        "process-max=2",
        "start-fast=y",
        // An unreachable repository must fail fast: archive_command retries anyway, and a slow
        // failure would hold up PostgreSQL's shutdown.
        "io-timeout=10",
        "archive-async=n",
        "log-level-console=info",
        "log-level-file=off",
        ...(replicaBackup.tlsServer ? tlsServerLines() : []),
        "",
        `[${STANZA}]`,
        `pg1-path=${NODE_PATHS.pgdata}`,
        "pg1-socket-path=/var/run/postgresql",
        ...(replicaBackup.standbyHosts ?? []).flatMap((host, i) => [
            `pg${i + 2}-host=${host}`,
            `pg${i + 2}-host-type=tls`,
            `pg${i + 2}-host-port=${PGBACKREST_TLS_PORT}`,
            `pg${i + 2}-host-ca-file=${PGBACKREST_TLS_PATHS.ca}`,
            `pg${i + 2}-host-cert-file=${PGBACKREST_TLS_PATHS.clientCertificate}`,
            `pg${i + 2}-host-key-file=${PGBACKREST_TLS_PATHS.clientKey}`,
            `pg${i + 2}-path=${NODE_PATHS.pgdata}`,
            `pg${i + 2}-socket-path=/var/run/postgresql`,
        ]),
        ...(replicaBackup.standbyHosts?.length ? ["backup-standby=y"] : []),
        "",
    ].join("\n");
}

/**
 * Renders pgbackrest.conf for a node's pgBackRest TLS server: only the backup's client certificate
 * may use it, only for the stanza. It names no repository: the server reads the node's files and
 * talks to its PostgreSQL, while the backup (the client) writes to the repository.
 */
export function renderPgbackrestServerConf(): string {
    return [
        "# Rendered by pgha.",
        "[global]",
        ...tlsServerLines(),
        "log-level-console=info",
        "log-level-file=off",
        "",
        `[${STANZA}]`,
        `pg1-path=${NODE_PATHS.pgdata}`,
        "pg1-socket-path=/var/run/postgresql",
        "",
    ].join("\n");
}
