/**
 * pgha: a PostgreSQL primary with streaming replicas behind PgBouncer, on Docker (dev) or AWS (prod).
 * The stack config is read and validated here, once, before any resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseClusterConfig } from "./components/config";
import { ClusterEndpoints } from "./components/endpoints";
import { AwsPostgresCluster } from "./components/aws";
import { DockerPostgresCluster } from "./components/docker";
import { ReplicationSecrets } from "./components/secrets/replicationSecrets";

const config = parseClusterConfig(pulumi.runtime.allConfig());
const clusterName = `pgha-${pulumi.getStack()}`;

const secrets = new ReplicationSecrets(`${clusterName}-secrets`);

function declareCluster(): ClusterEndpoints {
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
    pulumi.secret(pulumi.interpolate`postgresql://${user}:${password}@${cluster.pgbouncerEndpoint.host}:${cluster.pgbouncerEndpoint.port}/${database}`);

export const platform = config.platform;
export { clusterName };
export const primaryEndpoint = cluster.primaryEndpoint;
export const replicaEndpoints = cluster.replicaEndpoints;
export const pgbouncerEndpoint = cluster.pgbouncerEndpoint;
export const databaseName = config.databaseName;
export const readOnlyDatabaseName = readOnlyDatabase;
export const synchronousMode = config.synchronousMode;
/** The application's read-write connection, through PgBouncer to the primary. */
export const writeConnectionString = connectionString(config.appUser, secrets.passwords.app, config.databaseName);
/** The application's read-only connection, through PgBouncer to the replicas. */
export const readConnectionString = connectionString(config.appUser, secrets.passwords.app, readOnlyDatabase);
/** The monitoring role used by `npm run verify` (member of pg_monitor). */
export const monitorUser = "pgha_monitor";
export const monitorPassword = pulumi.secret(secrets.passwords.monitor);
