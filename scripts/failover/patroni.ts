import type { ContainerControl } from "../docker/containers";
import { InputError } from "../verify/errors";
import { pauseEntry, PoolEntry, resumeEntry, waitUntilRoutedTo } from "./pgbouncerPause";

/** A member as Patroni's GET /cluster lists it. */
export interface PatroniMember {
    readonly name: string;
    readonly host: string;
    readonly role: string;
    readonly state: string;
    readonly timeline?: number;
}

/** What a switchover of an automatic-failover cluster needs. */
export interface PatroniOps {
    readonly containers: ContainerControl;
    readonly log: (line: string) => void;
    readonly now: () => number;
    readonly sleep: (ms: number) => Promise<void>;
}

export interface SwitchoverResult {
    readonly mode: "switchover";
    readonly oldPrimary: string;
    readonly newPrimary: string;
    /** From the request to every member leading or streaming on the new timeline. */
    readonly healthyMs: number;
    /** How long PgBouncer held the read-write entry's queries (PAUSE to RESUME); absent when not paused. */
    readonly pausedMs?: number;
}

/** How long PgBouncer may hold the entry for the new leader before it resumes anyway. */
export const PAUSE_LIMIT_MS = 30_000;

/**
 * patronictl with the credentials of the node it runs on: the REST API's (a switchover is an
 * unsafe endpoint) and etcd's, read from the node's secrets directory, never from this machine.
 */
const PATRONICTL =
    'PATRONI_RESTAPI_USERNAME=patroni PATRONI_RESTAPI_PASSWORD="$(cat /etc/pgha/secrets/patroni_api.password)" ' +
    'PATRONI_ETCD3_PROTOCOL=http PATRONI_ETCD3_USERNAME=patroni PATRONI_ETCD3_PASSWORD="$(cat /etc/pgha/secrets/etcd_patroni.password)" ' +
    "patronictl -c /etc/pgha/patroni.yml";

/** The node name (`replica-1`) of a container `<cluster>-replica-1`. */
const nodeOf = (cluster: string, host: string) => host.slice(cluster.length + 1);

/** GET /cluster from the first of `nodes` that answers. */
export async function clusterView(
    ops: PatroniOps,
    cluster: string,
    nodes: readonly string[],
): Promise<PatroniMember[]> {
    for (const node of nodes) {
        const r = await ops.containers
            .exec(`${cluster}-${node}`, ["curl", "-sf", "-m", "3", "http://127.0.0.1:8008/cluster"])
            .catch(() => undefined);
        if (r?.exitCode === 0) return (JSON.parse(r.output) as { members: PatroniMember[] }).members;
    }
    throw new Error(`no Patroni member of ${cluster} answered GET /cluster (${nodes.join(", ")})`);
}

/**
 * A Patroni switchover (`patronictl switchover`): the leader hands over to `to`, or to the
 * candidate Patroni chooses, only if it is a healthy replica; then waits until every member leads
 * or streams on one timeline. Patroni does the failover of a dead leader by itself.
 */
export async function patroniSwitchover(
    cluster: string,
    nodes: readonly string[],
    ops: PatroniOps,
    options: { to?: string; timeoutMs: number; pool?: PoolEntry },
): Promise<SwitchoverResult> {
    const started = ops.now();
    const before = await clusterView(ops, cluster, nodes);
    const leader = before.find((m) => m.role === "leader" && m.state === "running");
    if (!leader)
        throw new Error(
            "no member leads right now: Patroni is failing over by itself; wait, then run verify",
        );
    const oldPrimary = nodeOf(cluster, leader.host);
    if (options.to !== undefined) {
        const target = before.find((m) => nodeOf(cluster, m.host) === options.to);
        if (!target)
            throw new InputError(`--to: ${options.to} is not a member of this cluster (${nodes.join(", ")})`);
        if (target === leader) throw new InputError(`--to: ${options.to} is already the leader`);
    }
    const candidate = options.to !== undefined ? ["--candidate", options.to.replace(/-/g, "_")] : [];
    ops.log(`switchover from ${oldPrimary}${options.to ? ` to ${options.to}` : " (Patroni's choice)"}`);
    const pool = options.pool;
    const pausedAt = pool && (await pauseEntry(ops, pool)) ? ops.now() : undefined;
    let pausedMs: number | undefined;
    try {
        const r = await ops.containers.exec(`${cluster}-${oldPrimary}`, [
            "bash",
            "-c",
            `${PATRONICTL} switchover --leader ${leader.name} ${candidate.join(" ")} --force`,
        ]);
        if (r.exitCode !== 0)
            throw new Error(`patronictl switchover failed (exit ${r.exitCode}): ${r.output.trim()}`);
        if (pool && pausedAt !== undefined) {
            // Held queries go on once PgBouncer sends the entry to the new leader (its routing
            // loop follows Patroni within a second or two).
            const next = await newLeaderHost(ops, cluster, nodes, leader.host, pausedAt + PAUSE_LIMIT_MS);
            if (!next || !(await waitUntilRoutedTo(ops, pool, next, pausedAt + PAUSE_LIMIT_MS - ops.now())))
                ops.log(`PgBouncer did not reach the new leader within ${PAUSE_LIMIT_MS} ms of the pause`);
        }
    } finally {
        if (pool && pausedAt !== undefined) {
            await resumeEntry(ops, pool);
            pausedMs = ops.now() - pausedAt;
        }
    }
    for (;;) {
        const view = await clusterView(ops, cluster, nodes).catch(() => []);
        const lead = view.find((m) => m.role === "leader" && m.state === "running");
        const healthy =
            lead !== undefined &&
            lead.host !== leader.host &&
            view.length === nodes.length &&
            view.every((m) => m === lead || (m.state === "streaming" && m.timeline === lead.timeline));
        if (healthy) {
            return {
                mode: "switchover",
                oldPrimary,
                newPrimary: nodeOf(cluster, lead.host),
                healthyMs: ops.now() - started,
                ...(pausedMs === undefined ? {} : { pausedMs }),
            };
        }
        if (ops.now() - started > options.timeoutMs) {
            throw new Error(
                `the cluster was not healthy within ${options.timeoutMs} ms after the switchover: ${view.map((m) => `${m.name} ${m.role} ${m.state}`).join(", ")}`,
            );
        }
        await ops.sleep(1000);
    }
}

/** The host of the running leader other than `oldHost`, polled until `deadline` (ops.now() time). */
async function newLeaderHost(
    ops: PatroniOps,
    cluster: string,
    nodes: readonly string[],
    oldHost: string,
    deadline: number,
): Promise<string | undefined> {
    while (ops.now() <= deadline) {
        const view = await clusterView(ops, cluster, nodes).catch(() => []);
        const lead = view.find((m) => m.role === "leader" && m.state === "running" && m.host !== oldHost);
        if (lead) return lead.host;
        await ops.sleep(250);
    }
    return undefined;
}
