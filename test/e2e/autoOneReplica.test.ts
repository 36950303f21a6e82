/**
 * One replica under `synchronousMode: any1` with Patroni (`pgha:failover automatic`, stack `auto1`,
 * ports 47432-47433 and 48432): when that replica stops, writes do what `pgha:synchronousStrict`
 * says, and `npm run verify` names it. Strict (the default): a write waits, unacknowledged, until
 * the replica streams again, then commits. Not strict: the leader goes on alone, and verify warns
 * that a failover meanwhile can lose those writes.
 */
import * as fs from "node:fs";
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
import { docker, startContainer } from "./support/docker";
import {
    appCredentials,
    AUTOMATIC_CONFIG,
    patroniGet,
    VerifyCheck,
    verifyJson,
    waitForDynamicConfig,
} from "./support/patroniStack";

const STACK = "auto1";
const CLUSTER = `pgha-${STACK}`;
const CONFIG = {
    ...AUTOMATIC_CONFIG,
    "pgha:replicas": 1,
    "pgha:primaryPort": 47432,
    "pgha:replicaBasePort": 47433,
    "pgha:pgbouncerPort": 48432,
};
const OUTPUTS = stackOutputsPath(STACK);
const outputs = (): DevOutputs => JSON.parse(fs.readFileSync(OUTPUTS, "utf8"));
const REPLICA = `${CLUSTER}-replica-1`;
const verify = () => verifyJson(OUTPUTS);

/** The app's client through PgBouncer's read-write entry, each statement bounded by `timeoutMs`. */
function app(timeoutMs: number) {
    const o = outputs();
    return connect({
        ...o.pgbouncerEndpoint,
        ...appCredentials(o),
        database: o.databaseName,
        query_timeout: timeoutMs,
    });
}

/** Waits until the leader streams to the replica with the sync_state Patroni's quorum mode gives it. */
async function waitUntilReplicaConfirms(): Promise<void> {
    await waitFor(
        "the replica streaming as a quorum standby",
        async () => {
            const cluster = await patroniGet(`${CLUSTER}-primary`, "cluster");
            const m = (cluster.members ?? []) as { role: string; state: string }[];
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
    await waitForDynamicConfig(
        "synchronous_mode_strict off",
        async () => `${CLUSTER}-primary`,
        (c) => c.synchronous_mode_strict === false,
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
