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
    readonly repository: {
        endpoint: string;
        port: number;
        bucket: string;
        region: string;
        path: string;
        /** AWS: the bucket's ARN. */
        bucketArn?: string;
        /** AWS: the KMS key the bucket encrypts with. */
        kmsKeyArn?: string;
    };
}
