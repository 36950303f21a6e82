/** The largest replica count a cluster may have (`pgha:replicas`). */
export const MAX_REPLICAS = 15;

/** One PostgreSQL node of the cluster, independent of where it runs. */
export interface NodeSpec {
    /** Stable, resource-friendly name: `primary`, `replica-1`, ... It names the node, not its role: after a failover `replica-1` may be the primary. */
    readonly name: string;
    /** What the node is in this deployment. */
    readonly role: "primary" | "replica";
    /** The node's `cluster_name`, and as a replica its `application_name` on the primary: `primary`, `replica_1`, ... */
    readonly identity: string;
    /** The physical replication slot the node streams from whenever it is a replica: `pgha_replica_1`, ... */
    readonly slotName: string;
    /** Position among the cluster's nodes: 0 for `primary`, n for `replica-n` (Docker publishes ports by it). */
    readonly index: number;
}

/** Prefix of every replication slot the cluster manages; slots with other names are left alone. */
export const SLOT_PREFIX = "pgha_";

/** The nodes of a cluster. */
export interface ClusterNodes {
    /** The node that is the primary (`pgha:primaryNode`). */
    readonly primary: NodeSpec;
    /** Every other node, a replica, in name order. */
    readonly replicas: NodeSpec[];
    /** Every node in name order: `primary`, `replica-1`, ... */
    readonly all: NodeSpec[];
}

/**
 * The nodes of a cluster with `replicas` replicas. Names are stable: replica N keeps its name when
 * others are added, and a failover changes roles (`primaryNode`), never names.
 */
export function clusterNodes(replicas: number, primaryNode = "primary"): ClusterNodes {
    const names = ["primary", ...Array.from({ length: replicas }, (_, i) => `replica-${i + 1}`)];
    if (!names.includes(primaryNode)) {
        throw new Error(`primary node ${primaryNode} is not one of ${names.join(", ")}`);
    }
    const all = names.map((name, index): NodeSpec => {
        const identity = name.replace("-", "_");
        return {
            name,
            role: name === primaryNode ? "primary" : "replica",
            identity,
            slotName: `${SLOT_PREFIX}${identity}`,
            index,
        };
    });
    return {
        primary: all.find((n) => n.role === "primary")!,
        replicas: all.filter((n) => n.role === "replica"),
        all,
    };
}
