import * as pulumi from "@pulumi/pulumi";
import { NODE_PATHS } from "./postgresqlConf";

/** The pgBackRest stanza every pgha cluster uses (one cluster per repository path). */
export const STANZA = "main";

/** Where the repository lives: an S3 bucket (AWS) or an S3-compatible server (Docker). */
export interface S3Repository {
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

/** What pgbackrest.conf needs. */
export interface BackupSettings {
    readonly repository: S3Repository;
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

/**
 * Renders pgbackrest.conf for every node: the primary archives WAL with it (archive_command), the
 * backup scheduler backs up and a restore reads with it. No credential is in it: a shared key is
 * written by the role script to PGBACKREST_PATHS.credentials from the node's secrets.
 */
export function renderPgbackrestConf(s: BackupSettings): string {
    const r = s.repository;
    return [
        "# Rendered by pgha.",
        "[global]",
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
        "",
        `[${STANZA}]`,
        `pg1-path=${NODE_PATHS.pgdata}`,
        "pg1-socket-path=/var/run/postgresql",
        "",
    ].join("\n");
}
