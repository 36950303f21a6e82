import * as pulumi from "@pulumi/pulumi";

/** What a resource does in the cluster, as its `pgha:role` tag says. */
export type TagRole =
    "network" | "security" | "secrets" | "iam" | "primary" | "replica" | "pgbouncer" | "slots" | "backup";

/**
 * The tags every AWS resource of a cluster carries: `Name` (`<cluster>-<suffix>`), `pgha:cluster`,
 * `pgha:role` and `pgha:stack`. Cost reports and the SSM tunnel script find resources by them.
 */
export function clusterTags(cluster: string, role: TagRole, suffix: string): Record<string, string> {
    return {
        Name: `${cluster}-${suffix}`,
        "pgha:cluster": cluster,
        "pgha:role": role,
        "pgha:stack": pulumi.getStack(),
    };
}
