/**
 * The cluster's members as failover and rejoin see them, and the pure decisions: which replica to
 * promote, what every container is told, and what the stack outputs say afterwards.
 */
import * as path from "path";
import { NODE_PATHS } from "../../components/postgres/postgresqlConf";
import { clusterNameOf } from "../verify/checks";
import { InputError } from "../verify/errors";
import type { ClusterOutputs } from "../verify/outputs";

/** One PostgreSQL node of a dev cluster. */
export interface Member {
    /** Stable node name: `primary`, `replica-1`, ... */
    readonly name: string;
    /** Its `cluster_name` and `application_name`: `primary`, `replica_1`, ... */
    readonly identity: string;
    /** The slot it streams from as a replica. */
    readonly slotName: string;
    /** Docker container, also its host name on the cluster network. */
    readonly container: string;
    /** Published endpoint, for probes. */
    readonly endpoint: { readonly host: string; readonly port: number };
}

/** The members of a cluster: the primary first, then the replicas of the outputs. */
export interface Members {
    readonly primary: Member;
    readonly replicas: readonly Member[];
    /** PgBouncer's container. */
    readonly pgbouncerContainer: string;
}

/** Where the role script reads the topology a failover recorded (beside PGDATA, on the data volume). */
export const TOPOLOGY_FILE = path.posix.join(path.posix.dirname(NODE_PATHS.pgdata), "pgha-topology.env");
/** The file that asks a replica for a new clone at its next start. */
export const RECLONE_REQUEST = path.posix.join(path.posix.dirname(NODE_PATHS.pgdata), "pgha-reclone");

/** Node order: `primary`, then `replica-1`, `replica-2`, ... (numerically). */
export function nodeOrder(name: string): number {
    return name === "primary" ? 0 : Number(/^replica-(\d+)$/.exec(name)?.[1] ?? 1000);
}

/**
 * The members of a dev cluster from its outputs; containers are named `<clusterName>-<node>`.
 * @throws InputError when the cluster is not on Docker.
 */
export function membersOf(outputs: ClusterOutputs): Members {
    if (outputs.platform !== "docker") {
        throw new InputError(
            `the cluster runs on ${outputs.platform}: failover and rejoin drive Docker containers, and on AWS they are not available yet`,
        );
    }
    const container = (name: string) => `${outputs.clusterName}-${name}`;
    const primaryIdentity = clusterNameOf(outputs.primaryNode);
    return {
        primary: {
            name: outputs.primaryNode,
            identity: primaryIdentity,
            slotName: `pgha_${primaryIdentity}`,
            container: container(outputs.primaryNode),
            endpoint: outputs.primaryEndpoint,
        },
        replicas: outputs.replicaEndpoints.map((r) => ({
            name: r.name,
            identity: r.applicationName,
            slotName: r.slotName,
            container: container(r.name),
            endpoint: { host: r.host, port: r.port },
        })),
        pgbouncerContainer: container("pgbouncer"),
    };
}

/** What a probe of a replica found. */
export interface ReplicaState {
    readonly member: Member;
    /** Reachable and in recovery. */
    readonly ok: boolean;
    /** WAL received and flushed (bytes since 0/0), when ok. */
    readonly receivedBytes?: bigint;
    readonly why?: string;
}

/**
 * The replica to promote: the one named by `--to` (it must answer and be in recovery), otherwise
 * the one that received the most WAL (in synchronous mode it has every committed transaction),
 * the first by name on a tie.
 * @throws Error when no replica can be promoted; InputError when `--to` names no replica.
 */
export function chooseCandidate(states: readonly ReplicaState[], to?: string): ReplicaState {
    if (to !== undefined) {
        const named = states.find((s) => s.member.name === to);
        if (!named)
            throw new InputError(
                `--to: ${to} is not a replica of this cluster (replicas: ${states.map((s) => s.member.name).join(", ") || "none"})`,
            );
        if (!named.ok) throw new Error(`--to: ${to} cannot be promoted: ${named.why}`);
        return named;
    }
    const ready = states.filter((s) => s.ok);
    if (ready.length === 0) {
        throw new Error(
            `no replica can be promoted: ${states.map((s) => `${s.member.name}: ${s.why}`).join("; ") || "the cluster has none"}`,
        );
    }
    return ready.reduce((best, s) => ((s.receivedBytes ?? 0n) > (best.receivedBytes ?? 0n) ? s : best));
}

/** The topology file's content: the primary's host and PgBouncer's candidate read hosts. */
export function topologyFile(primary: Member, replicas: readonly Member[]): string {
    return `PGHA_PRIMARY_HOST=${primary.container}\nPGHA_READ_HOSTS=${replicas.map((r) => r.container).join(" ")}\n`;
}

/** The members after `next` became the primary: every other node a replica, in node order. */
export function promoted(members: Members, next: Member): Members {
    const replicas = [members.primary, ...members.replicas]
        .filter((m) => m.name !== next.name)
        .sort((a, b) => nodeOrder(a.name) - nodeOrder(b.name));
    return { primary: next, replicas, pgbouncerContainer: members.pgbouncerContainer };
}

/** The stack outputs as the next `pulumi up` with `pgha:primaryNode` set would print them. */
export function outputsAfter(raw: Record<string, unknown>, members: Members): Record<string, unknown> {
    return {
        ...raw,
        primaryNode: members.primary.name,
        primaryEndpoint: members.primary.endpoint,
        replicaEndpoints: members.replicas.map((m) => ({
            name: m.name,
            ...m.endpoint,
            slotName: m.slotName,
            applicationName: m.identity,
        })),
    };
}

/** The command that records the topology in the stack config. */
export function configCommand(stack: string | undefined, primaryNode: string): string[] {
    return ["config", "set", "pgha:primaryNode", primaryNode, ...(stack ? ["--stack", stack] : [])];
}
