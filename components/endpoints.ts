import * as pulumi from "@pulumi/pulumi";

/** Where a client connects. */
export interface Endpoint {
    readonly host: string;
    readonly port: number;
}

/** A replica's endpoint and its replication identity. */
export interface ReplicaEndpoint extends Endpoint {
    /** Node name, e.g. `replica-1`. */
    readonly name: string;
    /** Its physical slot on the primary, e.g. `pgha_replica_1`. */
    readonly slotName: string;
    /** Its application_name in pg_stat_replication (and its cluster_name), e.g. `replica_1`. */
    readonly applicationName: string;
}

/** What every platform's cluster exposes; the stack outputs are built from it. */
export interface ClusterEndpoints {
    readonly primaryEndpoint: pulumi.Output<Endpoint>;
    readonly replicaEndpoints: pulumi.Output<ReplicaEndpoint[]>;
    readonly pgbouncerEndpoint: pulumi.Output<Endpoint>;
}

/** A cluster's backup facts, as the `backup` stack output shows them (no secret). */
export interface BackupSummary {
    readonly stanza: string;
    readonly intervalHours: number;
    readonly fullIntervalDays: number;
    readonly retentionDays: number;
    readonly archiveTimeoutSeconds: number;
    readonly repository: PosixRepositorySummary | S3RepositorySummary;
}

/** A repository on a Docker volume (the dev stack's default). */
export interface PosixRepositorySummary {
    type: "posix";
    /** The Docker volume holding it. */
    volume: string;
    /** Where every container that reads or writes it mounts the volume. */
    path: string;
}

/** A repository in an S3 bucket or an S3-compatible server. */
export interface S3RepositorySummary {
    endpoint: string;
    port: number;
    bucket: string;
    region: string;
    path: string;
    /** AWS: the bucket's ARN. */
    bucketArn?: string;
    /** AWS: the KMS key the bucket encrypts with. */
    kmsKeyArn?: string;
}
