/**
 * Failover, switchover and rejoin of a dev cluster, step by step. Everything the steps touch comes
 * in through {@link OpsDeps}: containers (Docker), connections (pg) and the clock.
 */
import { ROLE_SCRIPT } from "../../components/postgres/postgresqlConf";
import type { ContainerControl } from "../docker/containers";
import type { Connect, Db, Target } from "../verify/db";
import type { ClusterOutputs } from "../verify/outputs";
import {
    chooseCandidate,
    Member,
    Members,
    promoted,
    RECLONE_REQUEST,
    ReplicaState,
    TOPOLOGY_FILE,
    topologyFile,
} from "./topology";

/** What the steps talk to. */
export interface OpsDeps {
    readonly containers: ContainerControl;
    readonly connect: Connect;
    /** Progress lines for a person (stderr). */
    readonly log: (line: string) => void;
    readonly now: () => number;
    readonly sleep: (ms: number) => Promise<void>;
}

/** What a failover or switchover did, with its timings (milliseconds from its start). */
export interface FailoverResult {
    readonly mode: "switchover" | "failover";
    readonly oldPrimary: string;
    readonly newPrimary: string;
    /** WAL the promoted replica had received (bytes since 0/0), as text. */
    readonly promotedAtBytes: string;
    readonly timings: {
        readonly fencedMs: number;
        readonly promotedMs: number;
        readonly writesAcceptedMs: number;
        /** Switchover only: the old primary streams again, as a replica. */
        readonly oldPrimaryStreamingMs?: number;
    };
    /** The members afterwards. */
    readonly members: Members;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Connects to a member's published port as the monitor; undefined (and why) when it does not answer. */
async function tryConnect(
    deps: OpsDeps,
    outputs: ClusterOutputs,
    node: string,
    endpoint: { host: string; port: number },
    database = "postgres",
    viaPgBouncer = false,
) {
    const target: Target = {
        node,
        ...endpoint,
        database,
        user: outputs.monitorUser,
        password: outputs.monitorPassword,
        viaPgBouncer,
    };
    try {
        return { db: await deps.connect(target) };
    } catch (err) {
        return { why: (err as Error).message };
    }
}

async function withDb<T>(
    deps: OpsDeps,
    outputs: ClusterOutputs,
    member: Member,
    fn: (db: Db) => Promise<T>,
): Promise<T | undefined> {
    const { db } = await tryConnect(deps, outputs, member.name, member.endpoint);
    if (!db) return undefined;
    try {
        return await fn(db);
    } catch {
        return undefined;
    } finally {
        await db.end();
    }
}

/** Whether the primary answers and accepts writes. */
async function primaryAlive(deps: OpsDeps, outputs: ClusterOutputs, primary: Member): Promise<boolean> {
    const rows = await withDb(deps, outputs, primary, (db) =>
        db.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"),
    );
    return rows !== undefined && rows[0]?.r === false;
}

async function probeReplica(deps: OpsDeps, outputs: ClusterOutputs, member: Member): Promise<ReplicaState> {
    const { db, why } = await tryConnect(deps, outputs, member.name, member.endpoint);
    if (!db) return { member, ok: false, why: `does not answer (${why})` };
    try {
        const [row] = await db.query<{ r: boolean; received: string | null; replayed: string | null }>(
            "SELECT pg_is_in_recovery() AS r, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::text AS received, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::text AS replayed",
        );
        if (!row.r) return { member, ok: false, why: "is not in recovery" };
        // A replica restarted since the loss has received nothing in this run: what it replayed counts.
        const bytes = BigInt((row.received ?? row.replayed ?? "0").split(".")[0]);
        return { member, ok: true, receivedBytes: bytes };
    } catch (err) {
        return { member, ok: false, why: (err as Error).message };
    } finally {
        await db.end();
    }
}

/** Polls `probe` every 100 ms until it returns true, or throws after `timeoutMs` with `what`. */
async function until(
    deps: OpsDeps,
    what: string,
    timeoutMs: number,
    probe: () => Promise<boolean>,
): Promise<void> {
    const deadline = deps.now() + timeoutMs;
    while (!(await probe().catch(() => false))) {
        if (deps.now() > deadline)
            throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
        await deps.sleep(100);
    }
}

async function runRoleScript(deps: OpsDeps, container: string, args: string[]): Promise<void> {
    const { exitCode, output } = await deps.containers.exec(container, [ROLE_SCRIPT, ...args]);
    if (exitCode !== 0)
        throw new Error(
            `pgha-node ${args.join(" ")} in ${container} failed (exit ${exitCode}): ${output.trim().split("\n").slice(-3).join(" | ")}`,
        );
}

/**
 * Whether `member` streams from the primary, as the primary sees it, and still does a second later:
 * a replica that cannot follow the primary's timeline connects, streams for a moment and drops.
 */
async function streamsFrom(
    deps: OpsDeps,
    outputs: ClusterOutputs,
    primary: Member,
    member: Member,
): Promise<boolean> {
    const streaming = async () => {
        const rows = await withDb(deps, outputs, primary, (db) =>
            db.query<{ state: string }>("SELECT state FROM pg_stat_replication WHERE application_name = $1", [
                member.identity,
            ]),
        );
        return rows?.some((r) => r.state === "streaming") ?? false;
    };
    if (!(await streaming())) return false;
    await deps.sleep(1500);
    return streaming();
}

/** Writes through PgBouncer's read-write entry until one commits (in synchronous mode: acknowledged by a replica). */
async function writeThroughPgbouncer(deps: OpsDeps, outputs: ClusterOutputs): Promise<boolean> {
    const { db } = await tryConnect(
        deps,
        outputs,
        "pgbouncer-rw",
        outputs.pgbouncerEndpoint,
        outputs.databaseName,
        true,
    );
    if (!db) return false;
    try {
        await db.tx((q) => q("INSERT INTO pgha.canary (token) VALUES ('failover')"));
        return true;
    } catch {
        return false;
    } finally {
        await db.end();
    }
}

/**
 * Makes `to` (or the most advanced replica) the primary. With the old primary healthy it is a
 * switchover: the old primary stops cleanly (its replicas receive everything first) and rejoins
 * as a replica. Otherwise a failover: the old primary is killed if its container still runs and
 * stays down, fenced by the recorded topology, until `rejoin`.
 */
export async function failover(
    outputs: ClusterOutputs,
    members: Members,
    deps: OpsDeps,
    opts: { to?: string; timeoutMs: number },
): Promise<FailoverResult> {
    const started = deps.now();
    const since = () => deps.now() - started;
    const old = members.primary;
    if (opts.to === old.name) throw new Error(`--to: ${opts.to} is already the primary`);
    const alive = await primaryAlive(deps, outputs, old);
    const mode = alive ? "switchover" : "failover";
    deps.log(`${mode}: the primary ${old.name} ${alive ? "is healthy" : "does not answer"}`);

    // Fence first: the old primary learns the new topology before it could ever start again.
    const states = await Promise.all(members.replicas.map((m) => probeReplica(deps, outputs, m)));
    const candidate = chooseCandidate(states, opts.to);
    const next = promoted(members, candidate.member);
    const topology = topologyFile(next.primary, next.replicas);
    await deps.containers.putFiles(old.container, [{ path: TOPOLOGY_FILE, content: topology }]);
    if (alive) {
        deps.log(`stopping ${old.name} cleanly, so its replicas receive all of its WAL`);
        await deps.containers.stop(old.container, 60);
    } else {
        await deps.containers.kill(old.container);
    }
    const fencedMs = since();
    deps.log(
        `fenced ${old.name} after ${fencedMs} ms; promoting ${candidate.member.name} (received ${candidate.receivedBytes} bytes of WAL)`,
    );

    if (alive) {
        // After a clean stop the candidate has the shutdown checkpoint: replay up to everything received.
        let last = "";
        await until(
            deps,
            `${candidate.member.name} replayed all WAL it received`,
            opts.timeoutMs,
            async () => {
                const rows = await withDb(deps, outputs, candidate.member, (db) =>
                    db.query<{ received: string; replayed: string }>(
                        "SELECT pg_last_wal_receive_lsn()::text AS received, pg_last_wal_replay_lsn()::text AS replayed",
                    ),
                );
                const now = rows ? `${rows[0].received}/${rows[0].replayed}` : "";
                const settled = rows !== undefined && rows[0].received === rows[0].replayed && now === last;
                last = now;
                return settled;
            },
        );
    }
    await deps.containers.putFiles(candidate.member.container, [{ path: TOPOLOGY_FILE, content: topology }]);
    await runRoleScript(deps, candidate.member.container, ["promote"]);
    const slots = next.replicas.map((m) => quote(m.slotName)).join(", ");
    const createSlots = `SELECT pg_create_physical_replication_slot(name, true) FROM unnest(ARRAY[${slots}]::text[]) AS name WHERE name NOT IN (SELECT slot_name FROM pg_replication_slots)`;
    const created = await deps.containers.exec(
        candidate.member.container,
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", createSlots],
        { user: "postgres" },
    );
    if (created.exitCode !== 0)
        throw new Error(`creating the slots on ${candidate.member.name} failed: ${created.output.trim()}`);
    const promotedMs = since();
    deps.log(
        `${candidate.member.name} is the primary after ${promotedMs} ms, with slots ${next.replicas.map((m) => m.slotName).join(", ")}`,
    );

    // Everyone else follows: replicas re-point (no new base backup), PgBouncer re-routes.
    for (const m of next.replicas.filter((r) => r.name !== old.name)) {
        await deps.containers.putFiles(m.container, [{ path: TOPOLOGY_FILE, content: topology }]);
        if (await deps.containers.isRunning(m.container)) await runRoleScript(deps, m.container, ["follow"]);
        deps.log(`${m.name} follows ${candidate.member.name}`);
    }
    await deps.containers.putFiles(members.pgbouncerContainer, [{ path: TOPOLOGY_FILE, content: topology }]);
    await runRoleScript(deps, members.pgbouncerContainer, ["follow"]);
    await until(deps, "a write through PgBouncer's read-write entry commits", opts.timeoutMs, () =>
        writeThroughPgbouncer(deps, outputs),
    );
    const writesAcceptedMs = since();
    deps.log(`writes accepted through PgBouncer after ${writesAcceptedMs} ms`);

    let oldPrimaryStreamingMs: number | undefined;
    if (alive) {
        deps.log(`${old.name} rejoins as a replica`);
        await deps.containers.start(old.container);
        await until(deps, `${old.name} streams from ${candidate.member.name}`, opts.timeoutMs, () =>
            streamsFrom(deps, outputs, next.primary, old),
        );
        oldPrimaryStreamingMs = since();
    }
    return {
        mode,
        oldPrimary: old.name,
        newPrimary: candidate.member.name,
        promotedAtBytes: String(candidate.receivedBytes ?? 0n),
        timings: {
            fencedMs,
            promotedMs,
            writesAcceptedMs,
            ...(oldPrimaryStreamingMs !== undefined ? { oldPrimaryStreamingMs } : {}),
        },
        members: next,
    };
}

/** What a rejoin did. */
export interface RejoinResult {
    readonly node: string;
    readonly recloned: boolean;
    /** Until the node streams from the primary. */
    readonly streamingMs: number;
}

/**
 * Brings a replica of the outputs (a fenced former primary, a stopped replica, one whose slot was
 * lost) back to streaming from the primary: it restarts with the current topology, and rewinds
 * (pg_rewind) when it was a primary, or takes a new clone when `reclone`.
 */
export async function rejoin(
    outputs: ClusterOutputs,
    members: Members,
    deps: OpsDeps,
    opts: { node: string; reclone: boolean; timeoutMs: number },
): Promise<RejoinResult> {
    const started = deps.now();
    if (opts.node === members.primary.name)
        throw new Error(
            `--node: ${opts.node} is the primary; rejoin brings back a replica (${members.replicas.map((r) => r.name).join(", ") || "none"})`,
        );
    const member = members.replicas.find((r) => r.name === opts.node);
    if (!member)
        throw new Error(
            `--node: ${opts.node} is not a replica of this cluster (replicas: ${members.replicas.map((r) => r.name).join(", ") || "none"})`,
        );
    await deps.containers.stop(member.container, 60);
    const files = [{ path: TOPOLOGY_FILE, content: topologyFile(members.primary, members.replicas) }];
    if (opts.reclone) files.push({ path: RECLONE_REQUEST, content: "requested by npm run rejoin\n" });
    await deps.containers.putFiles(member.container, files);
    deps.log(
        `starting ${member.name}${opts.reclone ? " for a new clone" : ""}, to follow ${members.primary.name}`,
    );
    await deps.containers.start(member.container);
    await until(deps, `${member.name} streams from ${members.primary.name}`, opts.timeoutMs, () =>
        streamsFrom(deps, outputs, members.primary, member),
    );
    return { node: member.name, recloned: opts.reclone, streamingMs: deps.now() - started };
}
