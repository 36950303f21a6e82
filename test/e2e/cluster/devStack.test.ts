/**
 * The dev stack for real: the cluster globalSetup deployed with the real program, checked with pg
 * through the ports published on 127.0.0.1; then a second `up`, a restart, a replacement and
 * scaling, each run through the same program. Leaves the cluster as it found it (2 replicas).
 */
import Docker from "dockerode";
import { randomUUID } from "crypto";
import {
    connect,
    connectAsMonitor,
    deployDev,
    DevOutputs,
    readOutputs,
    replicationSlots,
    streamingReplicas,
    waitFor,
    waitUntilAllStream,
    withClient,
} from "../support/devCluster";

jest.setTimeout(300_000);
const docker = new Docker();
let outputs: DevOutputs;

beforeAll(() => {
    outputs = readOutputs();
});

/** Writes a unique row through PgBouncer's read-write entry as the application; returns its token. */
async function writeRow(o: DevOutputs): Promise<string> {
    const token = randomUUID();
    await withClient(connect({ connectionString: o.writeConnectionString }), async (c) => {
        await c.query(
            "CREATE TABLE IF NOT EXISTS e2e_rows (token text PRIMARY KEY, at timestamptz DEFAULT now())",
        );
        await c.query("GRANT SELECT ON e2e_rows TO pgha_monitor");
        await c.query("INSERT INTO e2e_rows (token) VALUES ($1)", [token]);
    });
    return token;
}

/** Waits until every replica of `o` has the row; returns milliseconds per replica. */
async function waitForRowOnReplicas(o: DevOutputs, token: string): Promise<Record<string, number>> {
    const started = Date.now();
    const took: Record<string, number> = {};
    await Promise.all(
        o.replicaEndpoints.map(async (r) => {
            await waitFor(`row ${token} on ${r.name}`, () =>
                withClient(connectAsMonitor(o, r), async (c) =>
                    (await c.query("SELECT 1 FROM e2e_rows WHERE token = $1", [token])).rowCount === 1
                        ? true
                        : undefined,
                ),
            );
            took[r.name] = Date.now() - started;
        }),
    );
    return took;
}

async function containerId(name: string): Promise<string> {
    return (await docker.getContainer(name).inspect()).Id;
}

async function logsSince(name: string, since: number): Promise<string> {
    const buf = (await docker
        .getContainer(name)
        .logs({ stdout: true, stderr: true, since: Math.floor(since / 1000) - 1 })) as unknown as Buffer;
    return buf.toString("utf8");
}

describe("dev stack: a replicated cluster on Docker", () => {
    test("both replicas stream, each from its own slot", async () => {
        expect(outputs.replicaEndpoints.map((r) => r.name)).toEqual(["replica-1", "replica-2"]);
        await waitUntilAllStream(outputs);
        expect(await streamingReplicas(outputs)).toEqual({
            replica_1: { state: "streaming", slot: "pgha_replica_1" },
            replica_2: { state: "streaming", slot: "pgha_replica_2" },
        });
        expect(await replicationSlots(outputs)).toEqual({ pgha_replica_1: true, pgha_replica_2: true });
    });

    test("a row written on the primary shows up on both replicas", async () => {
        const token = await writeRow(outputs);
        const took = await waitForRowOnReplicas(outputs, token);
        expect(Object.keys(took).sort()).toEqual(["replica-1", "replica-2"]);
        console.log(`[e2e] row visible on replicas after ${JSON.stringify(took)} ms`);
    });

    test("replicas are in recovery and reject writes with SQLSTATE 25006", async () => {
        for (const r of outputs.replicaEndpoints) {
            await withClient(connectAsMonitor(outputs, r), async (c) => {
                expect(
                    (await c.query("SELECT pg_is_in_recovery() AS r, current_setting('cluster_name') AS n"))
                        .rows[0],
                ).toEqual({ r: true, n: r.applicationName });
                await expect(c.query("INSERT INTO pgha.canary (token) VALUES ('x')")).rejects.toMatchObject({
                    code: "25006",
                });
            });
        }
    });

    test("PgBouncer: the read-write entry reaches the primary, the read-only entry a replica", async () => {
        const where = (connectionString: string) =>
            withClient(
                connect({ connectionString }),
                async (c) =>
                    (await c.query("SELECT current_setting('cluster_name') AS n, pg_is_in_recovery() AS r"))
                        .rows[0],
            );
        expect(await where(outputs.writeConnectionString)).toEqual({ n: "primary", r: false });
        const read = await where(outputs.readConnectionString);
        expect(read.r).toBe(true);
        expect(["replica_1", "replica_2"]).toContain(read.n);
        // A wrong password is refused: SCRAM is checked, not trusted.
        const wrong = outputs.writeConnectionString.replace(/:([^:@/]+)@/, ":not-the-password@");
        await expect(connect({ connectionString: wrong })).rejects.toThrow(/authentication failed/);
    });

    test("the replicator may replicate but not log in to the application database", async () => {
        await expect(
            connect({
                host: outputs.primaryEndpoint.host,
                port: outputs.primaryEndpoint.port,
                user: "replicator",
                password: "irrelevant",
                database: outputs.databaseName,
            }),
        ).rejects.toThrow(/pg_hba.conf rejects connection|no pg_hba.conf entry|authentication failed/);
    });

    test("no secret appears in container logs, image config or published to more than 127.0.0.1", async () => {
        const secrets = [outputs.monitorPassword, outputs.writeConnectionString.match(/:([^:@/]+)@/)![1]];
        const containers = await docker.listContainers({
            all: true,
            filters: { label: [`pgha.cluster=${outputs.clusterName}`] },
        });
        expect(containers.map((c) => c.Names[0]).sort()).toEqual([
            "/pgha-dev-backup",
            "/pgha-dev-pgbouncer",
            "/pgha-dev-primary",
            "/pgha-dev-replica-1",
            "/pgha-dev-replica-1-pgbackrest",
            "/pgha-dev-replica-2",
            "/pgha-dev-replica-2-pgbackrest",
            "/pgha-dev-s3",
            "/pgha-dev-slots",
        ]);
        for (const c of containers) {
            const logs = await logsSince(c.Names[0].slice(1), 0);
            for (const s of secrets) expect(logs).not.toContain(s);
            for (const p of c.Ports.filter((p) => p.PublicPort))
                expect([c.Names[0], p.IP]).toEqual([c.Names[0], "127.0.0.1"]);
            const image = await docker.getImage(c.ImageID).inspect();
            expect(JSON.stringify(image.Config)).not.toContain("PGHA_SECRET");
        }
    });

    test("a second `up` with the same config changes nothing", async () => {
        const before = await containerId("pgha-dev-primary");
        const run = await deployDev();
        expect(run.summary).toMatchObject({ created: [], updated: [], replaced: [], deleted: [] });
        expect(run.summary!.unchanged.length).toBeGreaterThanOrEqual(12);
        expect(await containerId("pgha-dev-primary")).toBe(before);
    });

    test("a second `up` after a refresh changes nothing: what the provider reads back (health check durations, mustRun, the image) is what the program declares", async () => {
        const before = await containerId("pgha-dev-primary");
        const run = await deployDev({}, { refresh: true });
        expect(run.summary).toMatchObject({ created: [], updated: [], replaced: [], deleted: [], gone: [] });
        expect(await containerId("pgha-dev-primary")).toBe(before);
    });

    test("a restarted replica resumes streaming from its slot without a new base backup", async () => {
        const since = Date.now();
        await docker.getContainer("pgha-dev-replica-1").restart({ t: 30 });
        await waitUntilAllStream(outputs);
        const token = await writeRow(outputs);
        await waitForRowOnReplicas(outputs, token);
        const logs = await logsSince("pgha-dev-replica-1", since);
        expect(logs).toContain("starting replica");
        expect(logs).not.toContain("cloning from");
    });

    test("data survives container replacement: a config change replaces every node, their volumes stay", async () => {
        const token = await writeRow(outputs);
        await waitForRowOnReplicas(outputs, token);
        const since = Date.now();
        const run = await deployDev({ "pgha:maxConnections": 150 });
        expect(run.summary!.replaced.sort()).toEqual([
            "pgha-dev-primary",
            "pgha-dev-replica-1",
            "pgha-dev-replica-2",
        ]);
        expect(run.summary!.deleted).toEqual([]);
        await waitUntilAllStream(outputs);
        await waitForRowOnReplicas(outputs, token);
        for (const r of ["pgha-dev-replica-1", "pgha-dev-replica-2"]) {
            expect(await logsSince(r, since)).not.toContain("cloning from");
        }
        // The old containers were deleted with destroyGraceSeconds (the provider ignores stopTimeout):
        // PostgreSQL shut down cleanly, so each new start finds a shut-down cluster, not a crashed one.
        for (const n of ["pgha-dev-primary", "pgha-dev-replica-1", "pgha-dev-replica-2"]) {
            const log = await logsSince(n, since);
            expect([n, log]).toEqual([
                n,
                expect.stringMatching(/database system was shut down (in recovery )?at/),
            ]);
            expect([n, log]).not.toEqual([
                n,
                expect.stringMatching(/was interrupted|not properly shut down|automatic recovery/),
            ]);
        }
        await withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
            expect((await c.query("SHOW max_connections")).rows[0].max_connections).toBe("150");
        });
    });

    test("scaling up adds a replica and its slot without touching the others", async () => {
        const before = {
            primary: await containerId("pgha-dev-primary"),
            replica1: await containerId("pgha-dev-replica-1"),
        };
        const run = await deployDev({ "pgha:maxConnections": 150, "pgha:replicas": 3 });
        expect(run.summary!.created.sort()).toEqual([
            "pgha-dev-replica-3",
            "pgha-dev-replica-3-data",
            "pgha-dev-replica-3-pgbackrest",
            "pgha-dev-replica-3-run",
        ]);
        // The backup scheduler learns of the new replica's pgBackRest server; nothing else backup-related changes.
        expect(run.summary!.replaced.sort()).toEqual([
            "pgha-dev-backup",
            "pgha-dev-pgbouncer",
            "pgha-dev-slots",
        ]);
        expect(run.summary!.deleted).toEqual([]);
        expect(await containerId("pgha-dev-primary")).toBe(before.primary);
        expect(await containerId("pgha-dev-replica-1")).toBe(before.replica1);
        await waitUntilAllStream(run.outputs);
        await waitForRowOnReplicas(run.outputs, await writeRow(run.outputs));
    });

    test("scaling down removes the node and drops its slot", async () => {
        const run = await deployDev({ "pgha:maxConnections": 150, "pgha:replicas": 1 });
        expect(run.summary!.deleted.sort()).toEqual(
            ["2", "3"].flatMap((n) => [
                `pgha-dev-replica-${n}`,
                `pgha-dev-replica-${n}-data`,
                `pgha-dev-replica-${n}-pgbackrest`,
                `pgha-dev-replica-${n}-run`,
            ]),
        );
        await waitUntilAllStream(run.outputs);
        expect(await replicationSlots(run.outputs)).toEqual({ pgha_replica_1: true });
        const volumes = (await docker.listVolumes()).Volumes.map((v) => v.Name).filter((n) =>
            n.startsWith("pgha-dev-"),
        );
        expect(volumes.sort()).toEqual([
            "pgha-dev-primary-data",
            "pgha-dev-primary-run",
            "pgha-dev-replica-1-data",
            "pgha-dev-replica-1-run",
            "pgha-dev-s3-data",
        ]);
    });

    test("back to the stack's own config: 2 replicas stream again", async () => {
        const run = await deployDev();
        expect(run.outputs.replicaEndpoints).toHaveLength(2);
        await waitUntilAllStream(run.outputs);
        await waitForRowOnReplicas(run.outputs, await writeRow(run.outputs));
    });
});
