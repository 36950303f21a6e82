/**
 * Failover, switchover, rejoin and PgBouncer's read routing on real containers: a stack of its own
 * (`failover`, synchronous mode `any1`, ports 35432-35434 and 36432) deployed by the real program.
 * The tests reach PostgreSQL through the published ports only; Docker is used to inject faults
 * (kill a container), and by the tools themselves.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Client } from "pg";
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
import { killContainer, startContainer } from "./support/docker";

const STACK = "failover";
const CONFIG = {
    "pgha:primaryPort": 35432,
    "pgha:replicaBasePort": 35433,
    "pgha:pgbouncerPort": 36432,
    "pgha:synchronousMode": "any1",
    "pgha:backupEnabled": "false",
};
const OUTPUTS = stackOutputsPath(STACK);
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

type Outputs = DevOutputs & { primaryNode: string };
const outputs = (): Outputs => JSON.parse(fs.readFileSync(OUTPUTS, "utf8"));
const container = (node: string) => `pgha-${STACK}-${node}`;
const endpointOf = (o: Outputs, node: string) =>
    node === o.primaryNode ? o.primaryEndpoint : o.replicaEndpoints.find((r) => r.name === node)!;
const asMonitor = (o: Outputs, endpoint: { host: string; port: number }, database = "postgres") =>
    connect({ ...endpoint, user: o.monitorUser, password: o.monitorPassword, database });

/** Runs a script of scripts/ with tsx; resolves with its exit code and output (never rejects on a non-zero exit). */
function tool(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            TSX,
            [path.join(REPO_ROOT, "scripts", script), ...args],
            { cwd: REPO_ROOT, timeout: 300_000 },
            (err, stdout, stderr) =>
                resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
        );
    });
}

/** application_name → state of the walsenders of the node `primary`. */
async function walsenders(o: Outputs): Promise<Record<string, string>> {
    return withClient(asMonitor(o, o.primaryEndpoint), async (c) => {
        const { rows } = await c.query("SELECT application_name, state FROM pg_stat_replication");
        return Object.fromEntries(rows.map((r) => [r.application_name, r.state]));
    });
}

async function allStream(o: Outputs): Promise<true | undefined> {
    const seen = await walsenders(o);
    return o.replicaEndpoints.every((r) => seen[r.applicationName] === "streaming") ? true : undefined;
}

/** Which node a new connection through PgBouncer's `database` entry lands on. */
async function landsOn(o: Outputs, database: string): Promise<string> {
    return withClient(
        asMonitor(o, o.pgbouncerEndpoint, database),
        async (c) => (await c.query("SELECT current_setting('cluster_name') AS n")).rows[0].n,
    );
}

const figures: Record<string, number | string> = {};

beforeAll(async () => {
    prepareMachine();
    await destroyStack(STACK);
    await deployStack(STACK, CONFIG);
    await waitFor("both replicas streaming", () => allStream(outputs()), 120_000);
    await withClient(asMonitor(outputs(), outputs().primaryEndpoint, "app"), (c) =>
        c.query("CREATE TABLE pgha.failover_probe (id bigint PRIMARY KEY, at timestamptz DEFAULT now())"),
    );
}, 600_000);

afterAll(async () => {
    if (Object.keys(figures).length > 0) {
        fs.writeFileSync(
            path.join(REPO_ROOT, ".e2e/failover-figures.json"),
            JSON.stringify({ ...figures, measuredAt: new Date().toISOString() }, null, 2) + "\n",
        );
        console.log(`[failover] figures: ${JSON.stringify(figures)}`);
    }
    if (process.env.PGHA_E2E_KEEP !== "1") await destroyStack(STACK);
}, 300_000);

test("a dead replica stops receiving read-only connections within 10 s, and gets them again once it streams", async () => {
    const o = outputs();
    const killedAt = Date.now();
    await killContainer(container("replica-2"));
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - killedAt)));
    const landed: string[] = [];
    for (let i = 0; i < 100; i++) landed.push(await landsOn(o, o.readOnlyDatabaseName));
    expect(new Set(landed)).toEqual(new Set(["replica_1"]));

    await startContainer(container("replica-2"));
    await waitFor("replica-2 streaming again", () => allStream(o), 120_000);
    // Eight clients at once need eight server connections: round-robin spreads them over both replicas again.
    const spread = await waitFor(
        "read-only connections on replica-2 again",
        async () => {
            const clients: Client[] = await Promise.all(
                Array.from({ length: 8 }, () => asMonitor(o, o.pgbouncerEndpoint, o.readOnlyDatabaseName)),
            );
            try {
                await Promise.all(clients.map((c) => c.query("BEGIN")));
                const names = await Promise.all(
                    clients.map(
                        async (c) =>
                            (await c.query("SELECT current_setting('cluster_name') AS n")).rows[0]
                                .n as string,
                    ),
                );
                return names.includes("replica_2") ? names : undefined;
            } finally {
                await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
            }
        },
        30_000,
        500,
    );
    expect(new Set(spread)).toEqual(new Set(["replica_1", "replica_2"]));
}, 240_000);

test("switchover with the primary healthy: replica-1 takes over, everyone follows, the old primary rejoins", async () => {
    const before = outputs();
    await withClient(asMonitor(before, before.primaryEndpoint, "app"), (c) =>
        c.query("INSERT INTO pgha.failover_probe (id) SELECT g FROM generate_series(1, 1000) g"),
    );

    const run = await tool("failover.ts", "--outputs", OUTPUTS, "--to", "replica-1", "--json");
    expect([run.code, run.stderr.includes("FAILED") ? run.stderr : ""]).toEqual([0, ""]);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
        ok: true,
        mode: "switchover",
        oldPrimary: "primary",
        newPrimary: "replica-1",
    });
    figures.switchoverWritesAcceptedMs = result.timings.writesAcceptedMs;

    const after = outputs();
    expect(after.primaryNode).toBe("replica-1");
    expect(after.primaryEndpoint.port).toBe(35433);
    expect(after.replicaEndpoints.map((r) => [r.name, r.port, r.slotName])).toEqual([
        ["primary", 35432, "pgha_primary"],
        ["replica-2", 35434, "pgha_replica_2"],
    ]);
    await waitFor("the old primary and replica-2 streaming from replica-1", () => allStream(after), 60_000);
    expect(await landsOn(after, after.databaseName)).toBe("replica_1");
    await withClient(asMonitor(after, after.primaryEndpoint, "app"), async (c) => {
        expect((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).toBe(false);
        expect((await c.query("SELECT count(*)::int AS n FROM pgha.failover_probe")).rows[0].n).toBe(1000);
    });
    const verify = await tool("verify-replication.ts", "--outputs", OUTPUTS);
    expect([verify.code, verify.stdout.split("\n").filter((l) => /^\S+\s+\S+\s+FAIL\s/.test(l))]).toEqual([
        0,
        [],
    ]);
}, 300_000);

test("failover after the primary is killed under write load, synchronous mode: no acknowledged commit is lost; the old primary rejoins with pg_rewind", async () => {
    const o = outputs();
    const killed = o.primaryNode;
    // The writer inserts through PgBouncer's read-write entry and remembers every id whose commit returned.
    const acknowledged: number[] = [];
    let stop = false;
    let killedAt = 0;
    let firstWriteAfterKill = 0;
    let nextId = 100_000;
    const writer = (async () => {
        while (!stop) {
            let client: Client | undefined;
            try {
                client = await connect({
                    ...o.pgbouncerEndpoint,
                    user: o.monitorUser,
                    password: o.monitorPassword,
                    database: o.databaseName,
                    query_timeout: 5000,
                });
                // PgBouncer drops the connection when its server goes: the next query fails, this is no crash.
                client.on("error", () => undefined);
                while (!stop) {
                    const id = nextId++;
                    const sentAt = Date.now();
                    await client.query("INSERT INTO pgha.failover_probe (id) VALUES ($1)", [id]);
                    acknowledged.push(id);
                    // The first commit of a write sent once the primary was gone.
                    if (killedAt > 0 && sentAt > killedAt && firstWriteAfterKill === 0)
                        firstWriteAfterKill = Date.now();
                }
            } catch {
                await new Promise((r) => setTimeout(r, 50));
            } finally {
                await client?.end().catch(() => undefined);
            }
        }
    })();
    let run: Awaited<ReturnType<typeof tool>>;
    let beforeKill: number;
    try {
        await waitFor(
            "the writer committing",
            async () => (acknowledged.length > 200 ? true : undefined),
            30_000,
        );
        const killStarted = Date.now();
        await killContainer(container(killed));
        killedAt = Date.now();
        figures.killMs = killedAt - killStarted;
        beforeKill = acknowledged.length;
        run = await tool("failover.ts", "--outputs", OUTPUTS, "--json");
        expect([run.code, run.stderr.includes("FAILED") ? run.stderr : ""]).toEqual([0, ""]);
        await waitFor(
            "a write through PgBouncer after the failover",
            async () => (firstWriteAfterKill > 0 ? true : undefined),
            60_000,
        );
        await new Promise((r) => setTimeout(r, 1000));
    } finally {
        stop = true;
        await writer;
    }

    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ ok: true, mode: "failover", oldPrimary: killed });
    figures.failoverToolPromotedMs = result.timings.promotedMs;
    figures.failoverToolWritesAcceptedMs = result.timings.writesAcceptedMs;
    figures.primaryLossToWritesThroughPgbouncerMs = firstWriteAfterKill - killedAt;
    figures.acknowledgedCommits = acknowledged.length;
    expect(acknowledged.length).toBeGreaterThan(beforeKill);

    const after = outputs();
    expect(after.primaryNode).toBe(result.newPrimary);
    expect(after.primaryNode).not.toBe(killed);
    // Every commit the client saw acknowledged is on the new primary.
    const missing = await withClient(asMonitor(after, after.primaryEndpoint, "app"), async (c) => {
        const { rows } = await c.query(
            "SELECT count(*)::int AS n FROM unnest($1::bigint[]) AS a(id) WHERE NOT EXISTS (SELECT FROM pgha.failover_probe p WHERE p.id = a.id)",
            [acknowledged],
        );
        return rows[0].n;
    });
    expect(missing).toBe(0);
    // The remaining replica streams from the new primary; PgBouncer's rw entry reaches it.
    const remaining = after.replicaEndpoints.filter((r) => r.name !== killed);
    expect(remaining).toHaveLength(1);
    await waitFor(
        "the remaining replica streaming from the new primary",
        async () =>
            (await walsenders(after))[remaining[0].applicationName] === "streaming" ? true : undefined,
        60_000,
    );
    expect(await landsOn(after, after.databaseName)).toBe(after.primaryNode.replace("-", "_"));

    // The old primary comes back as a replica with one command (pg_rewind), and verify passes.
    const rejoined = await tool("rejoin.ts", "--outputs", OUTPUTS, "--node", killed, "--json");
    expect([rejoined.code, rejoined.stderr.includes("FAILED") ? rejoined.stderr : ""]).toEqual([0, ""]);
    figures.rejoinMs = JSON.parse(rejoined.stdout).streamingMs;
    await waitFor("all streaming", () => allStream(after), 60_000);
    const verify = await tool("verify-replication.ts", "--outputs", OUTPUTS);
    expect([verify.code, verify.stdout.split("\n").filter((l) => /^\S+\s+\S+\s+FAIL\s/.test(l))]).toEqual([
        0,
        [],
    ]);
    const count = (endpoint: { host: string; port: number }) =>
        withClient(
            asMonitor(after, endpoint, "app"),
            async (c) =>
                (await c.query("SELECT count(*)::int AS n FROM pgha.failover_probe")).rows[0].n as number,
        );
    await waitFor(
        "the rejoined node has every row",
        async () =>
            (await count(endpointOf(after, killed))) === (await count(after.primaryEndpoint))
                ? true
                : undefined,
        30_000,
    );
}, 400_000);

test("the next `pulumi up` with the recorded pgha:primaryNode keeps the topology instead of fighting it", async () => {
    const before = outputs();
    const rows = await withClient(
        asMonitor(before, before.primaryEndpoint, "app"),
        async (c) => (await c.query("SELECT count(*)::int AS n FROM pgha.failover_probe")).rows[0].n,
    );
    const run = await deployStack(STACK, { ...CONFIG, "pgha:primaryNode": before.primaryNode });
    const after = run.outputs as unknown as Outputs;
    expect(after.primaryNode).toBe(before.primaryNode);
    expect(after.primaryEndpoint).toEqual(before.primaryEndpoint);
    await waitFor("all streaming after the deploy", () => allStream(after), 120_000);
    await withClient(asMonitor(after, after.primaryEndpoint, "app"), async (c) => {
        expect((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).toBe(false);
        expect((await c.query("SELECT count(*)::int AS n FROM pgha.failover_probe")).rows[0].n).toBe(rows);
    });
    const verify = await tool("verify-replication.ts", "--outputs", OUTPUTS);
    expect([verify.code, verify.stdout.split("\n").filter((l) => /^\S+\s+\S+\s+FAIL\s/.test(l))]).toEqual([
        0,
        [],
    ]);
}, 600_000);
