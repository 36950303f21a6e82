/**
 * Automatic failover (pgha:failover automatic) on real containers: Patroni 4 on the Debian 13 base
 * image, three etcd members, PgBouncer following the leader. A stack of its own (`auto`, synchronous
 * mode `any1`, ports 45432-45434 and 46432) deployed by the real program. Faults are injected with
 * Docker (SIGKILL of a container, of the postmaster, an emptied data volume); no pgha command is run
 * to recover from any of them. Waits are generous bounds for a loaded 2-core machine; the times
 * themselves are the benchmark's (`npm run bench`), not asserted here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { REPO_ROOT } from "./harness/client";
import {
    connect,
    deployStack,
    destroyStack,
    DevOutputs,
    prepareMachine,
    stackOutputsPath,
    waitFor,
    withClient,
} from "./support/devCluster";
import { disconnectFromNetwork, execIn, killContainer, startContainer } from "./support/docker";
import {
    appCredentials as appConfig,
    AUTOMATIC_CONFIG,
    patroniGet,
    runTool as run,
    TSX,
    verifyJson,
    waitForDynamicConfig,
} from "./support/patroniStack";

const STACK = "auto";
const CLUSTER = `pgha-${STACK}`;
const CONFIG = {
    ...AUTOMATIC_CONFIG,
    "pgha:primaryPort": 45432,
    "pgha:replicaBasePort": 45433,
    "pgha:pgbouncerPort": 46432,
};
const OUTPUTS = stackOutputsPath(STACK);
const NODES = ["primary", "replica-1", "replica-2"] as const;
const container = (node: string) => `${CLUSTER}-${node}`;
const outputs = (): DevOutputs => JSON.parse(fs.readFileSync(OUTPUTS, "utf8"));
/** Figures the suite measured (README "Automatic failover"), written to .e2e/auto-failover-figures.json. */
const figures: Record<string, number | undefined> = {};

interface Member {
    name: string;
    host: string;
    role: string;
    state: string;
    timeline?: number;
    lag?: number | string;
}

/** Patroni's view of the cluster (GET /cluster), asked of the first node of `ask` that answers. */
async function members(ask: readonly string[] = NODES): Promise<Member[]> {
    for (const node of ask) {
        const cluster = await patroniGet(container(node), "cluster").catch(() => undefined);
        if (cluster) return cluster.members;
    }
    throw new Error("no Patroni member answered GET /cluster");
}

/**
 * The node (`primary`, `replica-1`, ...) Patroni names leader, once one leads and runs, as seen by
 * the first node of `ask` that answers (an isolated node only knows its last view of the DCS).
 */
async function leaderNode(ask: readonly string[] = NODES): Promise<string> {
    return waitFor(
        "a running Patroni leader",
        async () => {
            const leader = (await members(ask)).find((m) => m.role === "leader" && m.state === "running");
            return leader ? leader.host.slice(CLUSTER.length + 1) : undefined;
        },
        120_000,
        1000,
    );
}

/** Waits until every node is a running leader or a streaming replica, all on one timeline. */
async function waitUntilHealthy(timeoutMs = 180_000): Promise<Member[]> {
    return waitFor(
        "every member leading or streaming on one timeline",
        async () => {
            const m = await members();
            const ok =
                m.length === NODES.length &&
                m.every((x) => (x.role === "leader" ? x.state === "running" : x.state === "streaming")) &&
                new Set(m.map((x) => x.timeline)).size === 1;
            return ok ? m : undefined;
        },
        timeoutMs,
        1000,
    );
}

const endpointOf = (o: DevOutputs, node: string) =>
    node === "primary" ? o.primaryEndpoint : o.replicaEndpoints.find((r) => r.name === node)!;

/**
 * A writer through PgBouncer's read-write entry, as an app with TCP keepalives would: one INSERT at a
 * time, an id acknowledged only once COMMIT returned; a failed statement drops the connection and
 * reconnects.
 */
/** Ledger ids, unique across the writers of the suite. */
let nextId = 1;

class Writer {
    readonly acked: number[] = [];
    errors = 0;
    private stopped = false;
    private done?: Promise<void>;
    /** When the last write was acknowledged (ms since epoch). */
    lastAck = 0;
    /** When each of `acked` was acknowledged (ms since epoch), in the same order. */
    readonly ackTimes: number[] = [];

    /** Milliseconds from `t` to the first write acknowledged after it. */
    firstAckAfter(t: number): number | undefined {
        const at = this.ackTimes.find((x) => x > t);
        return at === undefined ? undefined : at - t;
    }

    /** `queryTimeoutMs`: how long one statement may take before the writer gives up on the connection. */
    constructor(
        private readonly o: DevOutputs,
        private readonly queryTimeoutMs = 5000,
    ) {}

    start(): void {
        this.done = this.loop();
    }

    private async loop(): Promise<void> {
        let c: Client | undefined;
        while (!this.stopped) {
            try {
                if (!c) {
                    c = new Client({
                        ...this.o.pgbouncerEndpoint,
                        ...appConfig(this.o),
                        database: this.o.databaseName,
                        connectionTimeoutMillis: 3000,
                        query_timeout: this.queryTimeoutMs,
                        keepAlive: true,
                    });
                    c.on("error", () => undefined);
                    await c.connect();
                }
                const id = nextId++;
                await c.query("INSERT INTO auto_ledger (id) VALUES ($1)", [id]);
                this.acked.push(id);
                this.lastAck = Date.now();
                this.ackTimes.push(this.lastAck);
            } catch {
                this.errors++;
                const broken = c;
                c = undefined;
                // Never await end() of a broken connection: it may not answer.
                void broken?.end().catch(() => undefined);
                await new Promise((r) => setTimeout(r, 250));
            }
        }
        void c?.end().catch(() => undefined);
    }

    /** Waits until `n` more writes were acknowledged after now. */
    async progress(n: number, timeoutMs: number): Promise<void> {
        const target = this.acked.length + n;
        await waitFor(
            `${n} more acknowledged writes`,
            async () => (this.acked.length >= target ? true : undefined),
            timeoutMs,
            200,
        );
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }
}

/** Ids of `ledger` on `node` (its published port, as the app). */
async function idsOn(o: DevOutputs, node: string): Promise<Set<number>> {
    return withClient(
        connect({ ...endpointOf(o, node), ...appConfig(o), database: o.databaseName }),
        async (c) => {
            const { rows } = await c.query("SELECT id FROM auto_ledger");
            return new Set(rows.map((r) => Number(r.id)));
        },
    );
}

/** Waits until every node has every acknowledged id. */
async function expectEveryAckedEverywhere(o: DevOutputs, acked: number[]): Promise<void> {
    for (const node of NODES) {
        const missing = await waitFor(
            `every acknowledged write on ${node}`,
            async () => {
                const ids = await idsOn(o, node);
                const gone = acked.filter((id) => !ids.has(id));
                return gone.length === 0 ? gone : undefined;
            },
            90_000,
            1000,
        ).catch(async () => {
            const ids = await idsOn(o, node);
            return acked.filter((id) => !ids.has(id));
        });
        expect({ node, missing: missing.slice(0, 10), count: missing.length }).toEqual({
            node,
            missing: [],
            count: 0,
        });
    }
}

beforeAll(async () => {
    prepareMachine();
    await destroyStack(STACK).catch(() => undefined);
    await deployStack(STACK, CONFIG);
    await withClient(
        connect({
            ...outputs().pgbouncerEndpoint,
            ...appConfig(outputs()),
            database: outputs().databaseName,
        }),
        (c) =>
            c.query(
                "CREATE TABLE IF NOT EXISTS auto_ledger (id bigint PRIMARY KEY, at timestamptz DEFAULT now())",
            ),
    );
}, 900_000);

afterAll(async () => {
    console.log(`automatic failover figures: ${JSON.stringify(figures)}`);
    fs.writeFileSync(
        path.join(REPO_ROOT, ".e2e/auto-failover-figures.json"),
        `${JSON.stringify(figures, null, 2)}\n`,
    );
    await destroyStack(STACK);
}, 300_000);

test("the post-deploy check passes on the Patroni cluster: quorum replication, slots, both PgBouncer entries", async () => {
    const r = await run(TSX, [path.join(REPO_ROOT, "scripts/verify-replication.ts"), "--outputs", OUTPUTS]);
    expect(r.stdout).toMatch(/^OK: cluster pgha-auto, 14 PASS, 0 WARN, 0 FAIL/m);
    expect(r.code).toBe(0);
    const m = await waitUntilHealthy();
    expect(m.map((x) => [x.name, x.role]).sort()).toEqual([
        ["primary", "leader"],
        ["replica_1", "quorum_standby"],
        ["replica_2", "quorum_standby"],
    ]);
}, 180_000);

test("a Patroni older than 4.0.6 is refused at start, naming its version", async () => {
    const fake =
        "mkdir -p /tmp/old && printf '#!/bin/sh\\necho patroni 3.0.2\\n' >/tmp/old/patroni && chmod +x /tmp/old/patroni";
    const r = await run("docker", [
        "exec",
        container("replica-2"),
        "bash",
        "-c",
        `${fake} && PATH=/tmp/old:$PATH PGHA_ETC=/etc/pgha bash /etc/pgha/bin/pgha-patroni patroni`,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Patroni 3.0.2 is older than 4.0.6");
});

test("SIGKILL of the leader's container: writes come back with no command, nothing acknowledged is lost, the old node rejoins", async () => {
    const o = outputs();
    const before = await leaderNode();
    const writer = new Writer(o);
    writer.start();
    try {
        await writer.progress(50, 30_000);
        await killContainer(container(before));
        const killedAt = Date.now();
        await writer.progress(50, 120_000);
        const after = await leaderNode();
        expect(after).not.toBe(before);
        figures.leaderKilledToWriteMs = writer.firstAckAfter(killedAt);
        // Writes stopped once the leader died and came back (the gap itself is the bench's figure).
        expect(writer.lastAck).toBeGreaterThan(killedAt);
    } finally {
        await writer.stop();
    }
    await startContainer(container(before));
    const m = await waitUntilHealthy();
    const rejoined = m.find((x) => x.host === container(before))!;
    expect(rejoined.role).not.toBe("leader");
    expect(rejoined.state).toBe("streaming");
    await expectEveryAckedEverywhere(o, writer.acked);
}, 600_000);

test("after that failover, npm run verify checks the cluster as it is now: the new leader as primary, the old one a replica with its member slot", async () => {
    const leader = await leaderNode();
    expect(leader).not.toBe("primary");
    await waitUntilHealthy();
    const report = await verifyJson(OUTPUTS);
    expect(report.checks.filter((c) => c.status !== "PASS")).toEqual([]);
    expect(report.code).toBe(0);
    const primary = report.checks.find((c) => c.check === "primary");
    expect(primary?.detail).toContain(`cluster_name=${leader.replace(/-/g, "_")}`);
    // The node that bootstrapped the cluster is now checked as a replica, streaming like the other.
    const streaming = report.checks.filter((c) => c.check === "streaming");
    expect(streaming.map((c) => c.node).sort()).toEqual(NODES.filter((n) => n !== leader));
}, 180_000);

test("SIGKILL of the leader's postmaster alone: writes come back with nothing lost", async () => {
    const o = outputs();
    const leader = await leaderNode();
    const timelineBefore = (await members()).find((m) => m.role === "leader")!.timeline!;
    const writer = new Writer(o);
    writer.start();
    try {
        await writer.progress(50, 30_000);
        const kill = await run("docker", [
            "exec",
            container(leader),
            "bash",
            "-c",
            "kill -9 $(head -n 1 /var/lib/postgresql/data/pgdata/postmaster.pid)",
        ]);
        expect(kill.code).toBe(0);
        const killedAt = Date.now();
        await writer.progress(50, 120_000);
        expect(writer.lastAck).toBeGreaterThan(killedAt);
        figures.postmasterKilledToWriteMs = writer.firstAckAfter(killedAt);
    } finally {
        await writer.stop();
    }
    const m = await waitUntilHealthy();
    // Patroni failed over (primary_start_timeout 0) or restarted the postmaster; either way one leader.
    expect(m.filter((x) => x.role === "leader")).toHaveLength(1);
    expect(m[0].timeline).toBeGreaterThanOrEqual(timelineBefore);
    await expectEveryAckedEverywhere(o, writer.acked);
}, 600_000);

test("npm run failover on an automatic cluster is a Patroni switchover to --to inside a PgBouncer PAUSE: a writer sees no error, nothing lost", async () => {
    const o = outputs();
    const before = await leaderNode();
    const to = NODES.find((n) => n !== before)!;
    // An app's statement timeout (30 s), not the fault tests' 5 s: PAUSE holds statements meanwhile.
    const writer = new Writer(o, 30_000);
    writer.start();
    let r;
    try {
        await writer.progress(30, 30_000);
        r = await run(
            TSX,
            [path.join(REPO_ROOT, "scripts/failover.ts"), "--outputs", OUTPUTS, "--to", to, "--json"],
            300_000,
        );
        await writer.progress(30, 60_000);
    } finally {
        await writer.stop();
    }
    expect(r.stderr).not.toContain("FAILED");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ ok: true, mode: "switchover", oldPrimary: before, newPrimary: to });
    figures.switchoverHealthyMs = result.healthyMs;
    figures.switchoverPausedMs = result.pausedMs;
    figures.switchoverWriterErrors = writer.errors;
    expect(result.pausedMs).toBeGreaterThan(0);
    expect(writer.errors).toBe(0);
    // PgBouncer resumed (its watchdog's process is gone) and routes the entry to the new leader.
    const watchdog = await execIn(`${CLUSTER}-pgbouncer`, ["test", "-e", "/run/pgha/resume-watchdog.pid"]);
    expect(watchdog.code).not.toBe(0);
    expect(await leaderNode()).toBe(to);
    const again = await run(TSX, [
        path.join(REPO_ROOT, "scripts/failover.ts"),
        "--outputs",
        OUTPUTS,
        "--to",
        to,
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`--to: ${to} is already the leader`);
    await expectEveryAckedEverywhere(o, writer.acked);
}, 600_000);

test("etcd: its leader member killed, then a second of three: writes go on (failsafe_mode)", async () => {
    const o = outputs();
    const status = await run("docker", [
        "exec",
        `${CLUSTER}-etcd-2`,
        "bash",
        "-c",
        "ETCDCTL_API=3 etcdctl --endpoints=pgha-auto-etcd-1:2379,pgha-auto-etcd-2:2379,pgha-auto-etcd-3:2379 endpoint status -w json",
    ]);
    const etcd = JSON.parse(status.stdout) as {
        Endpoint: string;
        Status: { header: { member_id: string }; leader: string };
    }[];
    const leaderEndpoint = etcd.find(
        (e) => String(e.Status.header.member_id) === String(e.Status.leader),
    )!.Endpoint;
    const first = leaderEndpoint.replace(/^https?:\/\//, "").split(":")[0];
    const second = [1, 2, 3].map((i) => `${CLUSTER}-etcd-${i}`).find((n) => n !== first)!;
    const writer = new Writer(o);
    writer.start();
    try {
        await writer.progress(50, 30_000);
        await killContainer(first);
        await writer.progress(50, 60_000);
        await killContainer(second);
        const secondAt = Date.now();
        // With a quorum gone the leader key cannot be renewed: failsafe_mode keeps the leader
        // while every member answers it, so writes go on past the key's 20 s ttl.
        await new Promise((r) => setTimeout(r, 30_000));
        await writer.progress(50, 30_000);
        expect(writer.lastAck).toBeGreaterThan(secondAt + 25_000);
    } finally {
        await writer.stop();
        await startContainer(first);
        await startContainer(second);
    }
    await waitUntilHealthy();
    await expectEveryAckedEverywhere(o, writer.acked);
}, 600_000);

interface Partition {
    leader: string;
    cutAt: number;
    /** When the isolated leader's own REST API stopped calling it primary (ms since epoch). */
    demotedAt: number;
    /** [acknowledged at (ms since epoch), id] of the writer inside the isolated leader. */
    insideAcked: number[][];
    /** The writer through PgBouncer, outside. */
    writer: Writer;
}

/**
 * Cuts the leader off the cluster network (`docker network disconnect`) under two writers: one
 * through PgBouncer, and one in the leader's own network namespace (its local socket, as an app on
 * that host would be: each INSERT bounded by 3 s, an id acknowledged only when psql returned 0).
 * Heals the partition once the others lead and the outside writer went on, then lets the old
 * leader rejoin.
 */
async function partitionLeader(o: DevOutputs, firstInsideId: number): Promise<Partition> {
    const leader = await leaderNode();
    const inside = [
        "for i in $(seq 1 100000); do",
        "  [ -e /tmp/isolated-stop ] && break",
        `  id=$((${firstInsideId} + i))`,
        `  if timeout 3 setpriv --reuid=postgres --regid=postgres --init-groups psql -X -q -d ${o.databaseName} \\`,
        '     -c "INSERT INTO auto_ledger (id) VALUES ($id)" >/dev/null 2>&1; then echo "$(date +%s%3N) $id" >>/tmp/isolated-acked; fi',
        "  sleep 0.1",
        "done",
    ].join("\n");
    await execIn(container(leader), ["rm", "-f", "/tmp/isolated-acked", "/tmp/isolated-stop"]);
    const writerInside = execIn(container(leader), ["timeout", "180", "bash", "-c", inside]);
    const writer = new Writer(o);
    writer.start();
    let cutAt = 0;
    let demotedAt = 0;
    try {
        await waitFor(
            "the writer inside the leader acknowledged",
            async () =>
                (await execIn(container(leader), ["cat", "/tmp/isolated-acked"])).stdout.trim()
                    ? true
                    : undefined,
            30_000,
        );
        const reconnect = await disconnectFromNetwork(container(leader), `${CLUSTER}-net`);
        cutAt = Date.now();
        // Demoted: its PostgreSQL in recovery or down (Patroni's REST API stops calling it primary
        // earlier, when its view of the leader key expires, while PostgreSQL may still be one).
        demotedAt = await waitFor(
            "the isolated leader demoting itself",
            async () => {
                const r = await execIn(container(leader), [
                    "timeout",
                    "3",
                    "setpriv",
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "psql",
                    "-X",
                    "-tAq",
                    "-c",
                    "SELECT pg_is_in_recovery()",
                ]);
                return r.stdout.trim() === "f" ? undefined : Date.now();
            },
            120_000,
            500,
        );
        // The other members elect a new leader once the isolated one's key expires (ttl 20 s).
        await writer.progress(50, 120_000);
        const others = NODES.filter((n) => n !== leader);
        expect(others).toContain(await leaderNode(others));
        await new Promise((r) => setTimeout(r, 5_000));
        // PGHA_DEBUG_PARTITION=1 prints what the isolated leader logged since the cut (how the
        // 10 s DNS lookups behind the late demotion were found).
        if (process.env.PGHA_DEBUG_PARTITION) {
            const log = await run("docker", [
                "logs",
                "--since",
                String(Math.floor(cutAt / 1000) - 5),
                container(leader),
            ]);
            console.log(`isolated leader's log:\n${log.stdout}${log.stderr}`);
        }
        await reconnect();
    } finally {
        await execIn(container(leader), ["touch", "/tmp/isolated-stop"]);
        await writer.stop();
    }
    await writerInside;
    const lines = (await execIn(container(leader), ["cat", "/tmp/isolated-acked"])).stdout.trim().split("\n");
    return { leader, cutAt, demotedAt, insideAcked: lines.map((l) => l.split(" ").map(Number)), writer };
}

test("the leader cut off the network under a writer inside it (any1, strict): it acknowledges nothing alone, steps down, and rejoins on the new timeline", async () => {
    const o = outputs();
    const p = await partitionLeader(o, 5_000_000);
    figures.partitionToWriteMs = p.writer.firstAckAfter(p.cutAt);
    // Nothing was acknowledged on the isolated side: no replica could confirm it (quorum, strict).
    expect(p.insideAcked.filter(([at]) => at > p.cutAt + 1000)).toEqual([]);
    const m = await waitUntilHealthy(300_000);
    expect(m.find((x) => x.host === container(p.leader))!.state).toBe("streaming");
    await expectEveryAckedEverywhere(o, [...p.writer.acked, ...p.insideAcked.map(([, id]) => id)]);
}, 600_000);

test("the leader's data volume emptied and its node started again: the app never sees an empty database", async () => {
    const o = outputs();
    const leader = await leaderNode();
    const rowsBefore = (await idsOn(o, leader)).size;
    expect(rowsBefore).toBeGreaterThan(0);
    const seen: (number | string)[] = [];
    let reading = true;
    // A reader through the read-write entry, as the app: every answer it gets must hold the rows.
    const reader = (async () => {
        while (reading) {
            try {
                await withClient(
                    connect({ ...o.pgbouncerEndpoint, ...appConfig(o), database: o.databaseName }),
                    async (c) =>
                        seen.push(Number((await c.query("SELECT count(*) FROM auto_ledger")).rows[0].count)),
                );
            } catch (e) {
                const message = (e as Error).message;
                // An empty cluster would answer that the table does not exist.
                if (/does not exist/.test(message)) seen.push(message);
            }
            await new Promise((r) => setTimeout(r, 300));
        }
    })();
    try {
        await killContainer(container(leader));
        const wipe = await run("docker", [
            "run",
            "--rm",
            "-v",
            `${container(leader)}-data:/data`,
            "pgha-base:trixie",
            "bash",
            "-c",
            "rm -rf /data/pgdata && ls -A /data",
        ]);
        expect(wipe.code).toBe(0);
        await startContainer(container(leader));
        // Patroni's view names the killed leader until its key expires: wait for the node to stream.
        await waitFor(
            `${leader} streaming again after its data volume was emptied`,
            async () => {
                const m = await waitUntilHealthy(300_000);
                return m.find((x) => x.host === container(leader))!.state === "streaming" ? true : undefined;
            },
            300_000,
            1000,
        );
        await new Promise((r) => setTimeout(r, 3000));
    } finally {
        reading = false;
        await reader;
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((v) => typeof v !== "number" || v < rowsBefore)).toEqual([]);
    expect((await idsOn(o, leader)).size).toBeGreaterThanOrEqual(rowsBefore);
}, 600_000);

test("a redeploy with a changed cluster-wide setting brings it to the DCS of the live cluster", async () => {
    const leaderBefore = await leaderNode();
    await deployStack(STACK, { ...CONFIG, "pgha:walKeepSizeMb": 640 });
    const config = await waitForDynamicConfig(
        "wal_keep_size 640MB",
        async () => container(await leaderNode()),
        (c) => c.postgresql?.parameters?.wal_keep_size === "640MB",
    );
    expect(config).toMatchObject({ ttl: 20, failsafe_mode: true, synchronous_mode: "quorum" });
    await waitUntilHealthy(300_000);
    figures.redeployMovedLeader = (await leaderNode()) === leaderBefore ? 0 : 1;
}, 900_000);

test("synchronousMode off, the leader cut off the network: it acknowledges alone only until it demotes itself, then follows the new timeline with every row the new leader acknowledged", async () => {
    await deployStack(STACK, { ...CONFIG, "pgha:synchronousMode": "off" });
    await waitForDynamicConfig(
        "synchronous_mode off",
        async () => container(await leaderNode()),
        (c) => c.synchronous_mode === false,
    );
    await waitUntilHealthy(300_000);
    const o = outputs();
    const p = await partitionLeader(o, 6_000_000);
    const alone = p.insideAcked.filter(([at]) => at > p.cutAt + 1000);
    // The outside writer's first acknowledgement once the cut is a second old (none can come from
    // the isolated leader then): the new leader's.
    const newLeaderFirstAck = p.cutAt + 1000 + (p.writer.firstAckAfter(p.cutAt + 1000) ?? Infinity);
    figures.asyncPartitionAckedAlone = alone.length;
    figures.asyncPartitionDemotedAfterMs = p.demotedAt - p.cutAt;
    figures.asyncPartitionNewLeaderAfterMs = newLeaderFirstAck - p.cutAt;
    // Asynchronous: the isolated leader acknowledged alone (README: what such a partition can lose)...
    expect(alone.length).toBeGreaterThan(0);
    // ...but nothing once it demoted itself (1 s for a psql under way), which it did before the
    // new leader acknowledged its first write: never two primaries acknowledging at once.
    expect(alone.filter(([at]) => at > p.demotedAt + 1000)).toEqual([]);
    expect(p.demotedAt).toBeLessThan(newLeaderFirstAck);
    const m = await waitUntilHealthy(300_000);
    expect(m.find((x) => x.host === container(p.leader))!.state).toBe("streaming");
    // Every write the new leader acknowledged (after the old one demoted: none before the cut is
    // promised in asynchronous mode) is on every node, the old leader included.
    const byNewLeader = p.writer.acked.filter((_, i) => p.writer.ackTimes[i] > p.demotedAt);
    expect(byNewLeader.length).toBeGreaterThanOrEqual(50);
    await expectEveryAckedEverywhere(o, byNewLeader);
}, 900_000);
