/**
 * pgha: a PostgreSQL primary with streaming replicas behind PgBouncer, on Docker (dev) or AWS (prod).
 * The stack config is read and validated here, once, before any resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseClusterConfig } from "./components/config";
import { BackupSummary, ClusterEndpoints } from "./components/endpoints";
import { BackupSettings, PGBOUNCER_PORT, STANZA } from "./components/postgres";
import { AwsPostgresCluster } from "./components/aws";
import { DockerPostgresCluster } from "./components/docker";
import { ReplicationSecrets } from "./components/secrets/replicationSecrets";

const config = parseClusterConfig(pulumi.runtime.allConfig());
const clusterName = `pgha-${pulumi.getStack()}`;

const secrets = new ReplicationSecrets(`${clusterName}-secrets`);

/** What index.ts reads from a platform's cluster. On AWS the repository is known once its bucket is. */
type Cluster = ClusterEndpoints & {
    backup?: pulumi.Input<BackupSettings>;
    /** Docker: the volume holding a posix repository. */
    backupVolume?: string;
    backupAccess?: pulumi.Output<unknown>;
};

function declareCluster(): Cluster {
    switch (config.platform) {
        case "docker":
            return new DockerPostgresCluster(clusterName, { config, secrets });
        case "aws":
            return new AwsPostgresCluster(clusterName, { config, secrets });
        default: {
            const unknown: never = config.platform;
            throw new Error(`unknown platform ${unknown}`);
        }
    }
}
const cluster = declareCluster();

const readOnlyDatabase = `${config.databaseName}_ro`;
const connectionString = (user: string, password: pulumi.Output<string>, database: string) =>
    pulumi.secret(
        pulumi.interpolate`postgresql://${user}:${password}@${cluster.pgbouncerEndpoint.host}:${cluster.pgbouncerEndpoint.port}/${database}`,
    );

export const platform = config.platform;
export { clusterName };
/** Which node is the primary (`pgha:primaryNode`); `npm run failover` changes it. */
export const primaryNode = config.primaryNode;
export const primaryEndpoint = cluster.primaryEndpoint;
export const replicaEndpoints = cluster.replicaEndpoints;
export const pgbouncerEndpoint = cluster.pgbouncerEndpoint;
export const databaseName = config.databaseName;
export const readOnlyDatabaseName = readOnlyDatabase;
export const synchronousMode = config.synchronousMode;
/** Under `any1`: true, writes wait while no replica can confirm them; false, the leader goes on alone. */
export const synchronousStrict = config.synchronousStrict;
/** `manual` (`npm run failover` promotes) or `automatic` (Patroni fails over by itself). */
export const failover = config.failover;
/** The application's read-write connection, through PgBouncer to the primary. */
export const writeConnectionString = connectionString(
    config.appUser,
    secrets.passwords.app,
    config.databaseName,
);
/** The application's read-only connection, through PgBouncer to the replicas. */
export const readConnectionString = connectionString(config.appUser, secrets.passwords.app, readOnlyDatabase);

// Apps in containers (docker compose, Laravel Sail) join the cluster network and dial PgBouncer by name.
const dockerCluster = cluster instanceof DockerPostgresCluster ? cluster : undefined;
const inNetworkConnectionString = (database: string) =>
    dockerCluster &&
    pulumi.secret(
        pulumi.interpolate`postgresql://${config.appUser}:${secrets.passwords.app}@${dockerCluster.pgbouncerHost}:${PGBOUNCER_PORT}/${database}`,
    );
/** Docker: the cluster's network; attach an app's container to it to use the in-network connection strings. */
export const dockerNetwork = dockerCluster?.networkName;
/** Docker: the read-write connection from a container on `dockerNetwork`, through PgBouncer. */
export const inNetworkWriteConnectionString = inNetworkConnectionString(config.databaseName);
/** Docker: the read-only connection from a container on `dockerNetwork`, through PgBouncer. */
export const inNetworkReadConnectionString = inNetworkConnectionString(readOnlyDatabase);
/**
 * AWS: where an application places itself (VPC, private subnets, PgBouncer's security group to
 * reference, the S3 endpoint); absent on Docker.
 */
export const awsNetwork = cluster instanceof AwsPostgresCluster ? cluster.placement : undefined;
/** The monitoring role used by `npm run verify` (member of pg_monitor). */
export const monitorUser = "pgha_monitor";
export const monitorPassword = pulumi.secret(secrets.passwords.monitor);
/** Backup schedule, retention and repository (on AWS with the bucket's and key's ARNs); absent when backups are off. */
export const backup: pulumi.Output<BackupSummary> | undefined =
    cluster.backup &&
    pulumi
        .all([cluster.backup, cluster instanceof AwsPostgresCluster ? cluster.backupAccess : undefined])
        .apply(
            ([
                { repository: r, retentionDays, intervalHours, fullIntervalDays, archiveTimeoutSeconds },
                aws,
            ]) => ({
                stanza: STANZA,
                intervalHours,
                fullIntervalDays,
                retentionDays,
                archiveTimeoutSeconds,
                repository:
                    r.type === "posix"
                        ? { type: "posix" as const, volume: cluster.backupVolume ?? "", path: r.path }
                        : {
                              endpoint: r.endpoint,
                              port: r.port,
                              bucket: r.bucket,
                              region: r.region,
                              path: r.path,
                              ...(aws ? { bucketArn: aws.bucketArn, kmsKeyArn: aws.kmsKeyArn } : {}),
                          },
            }),
        );
/**
 * What `npm run backup` / `npm run restore` need. Docker: the scheduler container, node image and
 * S3 key (secret). AWS: the bucket, its key and the PostgreSQL nodes' instance ids for SSM (no
 * secret: the nodes use their instance role).
 */
export const backupAccess = cluster.backupAccess;
