/**
 * One replica under `synchronousMode: any1` with Patroni (`pgha:failover automatic`, stack `auto1`,
 * ports 47432-47433 and 48432): when that replica stops, writes do what `pgha:synchronousStrict`
 * says, and `npm run verify` names it. Strict (the default): a write waits, unacknowledged, until
 * the replica streams again, then commits. Not strict: the leader goes on alone, and verify warns
 * that a failover meanwhile can lose those writes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
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
import { docker, execIn, startContainer } from "./support/docker";
import { execFile } from "node:child_process";

const STACK = "auto1";
const CLUSTER = `pgha-${STACK}`;
const CONFIG = {
    "pgha:baseImage": "pgha-base:trixie",
    "pgha:postgresVersion": 17,
    "pgha:failover": "automatic",
    "pgha:synchronousMode": "any1",
    "pgha:replicas": 1,
    "pgha:primaryPort": 47432,
    "pgha:replicaBasePort": 47433,
    "pgha:pgbouncerPort": 48432,
    "pgha:backupEnabled": "false",
};
const OUTPUTS = stackOutputsPath(STACK);
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");
const outputs = (): DevOutputs => JSON.parse(fs.readFileSync(OUTPUTS, "utf8"));
const REPLICA = `${CLUSTER}-replica-1`;

interface VerifyCheck {
    check: string;
    node: string;
    status: string;
    detail: string;
}

/** `npm run verify -- --json` on the stack's outputs: exit code and checks. */
function verify(): Promise<{ code: number; checks: VerifyCheck[] }> {
    return new Promise((resolve, reject) =>
        execFile(
            TSX,
            [path.join(REPO_ROOT, "scripts/verify-replication.ts"), "--outputs", OUTPUTS, "--json"],
            { cwd: REPO_ROOT, timeout: 120_000 },
            (err, stdout) => {
                try {
                    const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
                    resolve({ code, checks: JSON.parse(stdout).checks });
                } catch (e) {
                    reject(new Error(`verify printed no JSON: ${stdout} (${e})`));
                }
            },
        ),
    );
}

/** The app's client through PgBouncer's read-write entry, each statement bounded by `timeoutMs`. */
function app(timeoutMs: number) {
    const o = outputs();
    const url = new URL(o.writeConnectionString);
    return connect({
        ...o.pgbouncerEndpoint,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: o.databaseName,
        query_timeout: timeoutMs,
    });
}

/** Waits until the leader streams to the replica with the sync_state Patroni's quorum mode gives it. */
async function waitUntilReplicaConfirms(): Promise<void> {
    await waitFor(
        "the replica streaming as a quorum standby",
        async () => {
            const r = await execIn(`${CLUSTER}-primary`, [
                "curl",
                "-sf",
                "-m",
                "3",
                "http://127.0.0.1:8008/cluster",
            ]);
            const m = (JSON.parse(r.stdout).members ?? []) as { role: string; state: string }[];
            return m.some((x) => x.role === "leader" && x.state === "running") &&
                m.some((x) => x.role === "quorum_standby" && x.state === "streaming")
                ? true
                : undefined;
        },
        180_000,
        1000,
    );
}

const streamingLine = (checks: VerifyCheck[]) =>
    checks.find((c) => c.check === "streaming" && c.node === "primary");

beforeAll(async () => {
    prepareMachine();
    await destroyStack(STACK).catch(() => undefined);
    await deployStack(STACK, CONFIG);
    await withClient(app(15_000), (c) => c.query("CREATE TABLE one_replica (id int PRIMARY KEY)"));
    await waitUntilReplicaConfirms();
}, 900_000);

afterAll(async () => {
    await destroyStack(STACK);
}, 300_000);

test("synchronousStrict true: the only replica stopped, a write waits unacknowledged and verify says writes wait; the replica back, the write commits", async () => {
    await docker.getContainer(REPLICA).stop();
    const pending = withClient(app(300_000), (c) => c.query("INSERT INTO one_replica VALUES (1)"));
    let settled = false;
    void pending.then(
        () => (settled = true),
        () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 10_000));
    expect(settled).toBe(false);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(streamingLine(v.checks)).toMatchObject({
        status: "FAIL",
        detail: expect.stringMatching(/no replica can confirm a commit: writes wait/),
    });
    await startContainer(REPLICA);
    await pending;
    await waitUntilReplicaConfirms();
    const { rows } = await withClient(app(15_000), (c) =>
        c.query("SELECT count(*)::int AS n FROM one_replica"),
    );
    expect(rows[0].n).toBe(1);
}, 600_000);

test("synchronousStrict false: the only replica stopped, writes go on alone and verify warns they can be lost", async () => {
    await deployStack(STACK, { ...CONFIG, "pgha:synchronousStrict": "false" });
    await waitFor(
        "synchronous_mode_strict off in Patroni's dynamic configuration",
        async () => {
            const r = await execIn(`${CLUSTER}-primary`, [
                "curl",
                "-sf",
                "-m",
                "3",
                "http://127.0.0.1:8008/config",
            ]);
            return JSON.parse(r.stdout).synchronous_mode_strict === false ? true : undefined;
        },
        120_000,
        1000,
    );
    await waitUntilReplicaConfirms();
    await docker.getContainer(REPLICA).stop();
    // Patroni lifts the requirement within a loop or two of seeing the replica gone.
    let id = 100;
    await waitFor(
        "a write acknowledged without the replica",
        async () =>
            withClient(app(5_000), (c) => c.query("INSERT INTO one_replica VALUES ($1)", [id++])).then(
                () => true,
                () => undefined,
            ),
        120_000,
        1000,
    );
    const v = await verify();
    expect(streamingLine(v.checks)).toMatchObject({
        status: "WARN",
        detail: expect.stringMatching(/acknowledges writes alone.*synchronousStrict false/),
    });
    await startContainer(REPLICA);
    await waitUntilReplicaConfirms();
}, 900_000);
