/** The largest replica count a cluster may have (`pgha:replicas`). */
export const MAX_REPLICAS = 15;

/** One PostgreSQL node of the cluster, independent of where it runs. */
export interface NodeSpec {
    /** Resource-friendly name: `primary`, `replica-1`, ... */
    readonly name: string;
    /** What the node does at start-up. */
    readonly role: "primary" | "replica";
    /** The node's `cluster_name`, and for a replica its `application_name` on the primary: `primary`, `replica_1`, ... */
    readonly identity: string;
    /** For a replica, the physical replication slot it streams from: `pgha_replica_1`, ... */
    readonly slotName?: string;
}

/** Prefix of every replication slot the cluster manages; slots with other names are left alone. */
export const SLOT_PREFIX = "pgha_";

/** The nodes of a cluster with `replicas` replicas, primary first. Names are stable: replica N keeps its name when others are added. */
export function clusterNodes(replicas: number): { primary: NodeSpec; replicas: NodeSpec[] } {
    return {
        primary: { name: "primary", role: "primary", identity: "primary" },
        replicas: Array.from({ length: replicas }, (_, i) => ({
            name: `replica-${i + 1}`,
            role: "replica" as const,
            identity: `replica_${i + 1}`,
            slotName: `${SLOT_PREFIX}replica_${i + 1}`,
        })),
    };
}
