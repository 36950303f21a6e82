/** Shared test data for the verify-replication unit tests (not a test file itself). */
import type { ReplicaEndpoint } from "../../../scripts/verify/outputs";

/** The monitor password of {@link validOutputs}: must never appear in any message. */
export const PASSWORD = "s3cret-Monitor-pw";
/** The app password inside the connection strings of {@link validOutputs}. */
export const APP_PASSWORD = "app-Pa55word";

/** A valid outputs object, as the stack exports it (a fresh copy each call, safe to mutate). */
export function validOutputs(): Record<string, any> {
    return {
        clusterName: "pgha-dev",
        platform: "docker",
        primaryEndpoint: { host: "127.0.0.1", port: 5432 },
        replicaEndpoints: [
            {
                name: "replica-1",
                host: "127.0.0.1",
                port: 5433,
                slotName: "pgha_replica_1",
                applicationName: "replica_1",
            },
            {
                name: "replica-2",
                host: "127.0.0.1",
                port: 5434,
                slotName: "pgha_replica_2",
                applicationName: "replica_2",
            },
        ],
        pgbouncerEndpoint: { host: "127.0.0.1", port: 6432 },
        databaseName: "app",
        readOnlyDatabaseName: "app_ro",
        synchronousMode: "off",
        writeConnectionString: `postgresql://app:${APP_PASSWORD}@127.0.0.1:6432/app`,
        readConnectionString: `postgresql://app:${APP_PASSWORD}@127.0.0.1:6432/app_ro`,
        monitorUser: "pgha_monitor",
        monitorPassword: PASSWORD,
    };
}

/** The replicas of {@link validOutputs}, typed. */
export const REPLICAS: ReplicaEndpoint[] = validOutputs().replicaEndpoints;
