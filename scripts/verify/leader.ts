import { clusterNameOf } from "./checks";
import type { Connect } from "./db";
import type { ClusterOutputs, Endpoint } from "./outputs";

/** What {@link withCurrentLeader} found. */
export interface LeaderView {
    /** The outputs with the current leader as primary and every other node as a replica. */
    readonly outputs: ClusterOutputs;
    /** The node that is not in recovery, when exactly one is; undefined otherwise. */
    readonly leader?: string;
    /** Nodes that answered as primary (more than one is a split brain the checks then report). */
    readonly primaries: readonly string[];
}

/**
 * On a cluster Patroni runs (`failover: automatic`) the leader moves by itself, and the outputs'
 * `primaryNode` names only the node that bootstrapped the cluster. This asks every node's endpoint
 * (as the monitoring role, `SELECT pg_is_in_recovery()`) which one is not in recovery, and returns
 * the outputs with that node as primary and the others as replicas. Under Patroni a member's slot
 * and `application_name` are its member name: the node's name with `_` for `-`.
 *
 * A manual cluster's outputs come back unchanged (its primary moves only with `npm run failover`,
 * which redeploys them), as do the outputs when not exactly one node answers as primary: the checks
 * then report what they find. Unreachable nodes count as not primary. Never throws.
 */
export async function withCurrentLeader(outputs: ClusterOutputs, connect: Connect): Promise<LeaderView> {
    if (outputs.failover !== "automatic") return { outputs, primaries: [outputs.primaryNode] };
    const nodes: { name: string; endpoint: Endpoint }[] = [
        { name: outputs.primaryNode, endpoint: outputs.primaryEndpoint },
        ...outputs.replicaEndpoints.map((r) => ({ name: r.name, endpoint: { host: r.host, port: r.port } })),
    ];
    const answers = await Promise.all(
        nodes.map(async ({ name, endpoint }) => {
            try {
                const db = await connect({
                    node: name,
                    ...endpoint,
                    database: outputs.databaseName,
                    user: outputs.monitorUser,
                    password: outputs.monitorPassword,
                    viaPgBouncer: false,
                });
                try {
                    const [row] = await db.query<{ in_recovery: boolean }>(
                        "SELECT pg_is_in_recovery() AS in_recovery",
                    );
                    return row?.in_recovery === false;
                } finally {
                    await db.end();
                }
            } catch {
                return false;
            }
        }),
    );
    const primaries = nodes.filter((_, i) => answers[i]).map((n) => n.name);
    if (primaries.length !== 1) return { outputs, primaries };
    const [leader] = primaries;
    const others = nodes.filter((n) => n.name !== leader);
    return {
        leader,
        primaries,
        outputs: {
            ...outputs,
            primaryNode: leader,
            primaryEndpoint: nodes.find((n) => n.name === leader)!.endpoint,
            replicaEndpoints: others.map((n) => ({
                name: n.name,
                ...n.endpoint,
                slotName: clusterNameOf(n.name),
                applicationName: clusterNameOf(n.name),
            })),
        },
    };
}
