/**
 * Backups that restore, for real: rows written, a backup taken, more rows, a noted time, more rows;
 * then restores to the latest state and to the noted time into fresh containers, compared exactly.
 * Then the S3 server is stopped: the backup fails visibly, archiving fails and catches up once it is
 * back. While it is down, the WAL kept for it is bounded (pgha:archiveQueueMaxMb, 128 MB here):
 * `npm run health` warns, then alerts, then pgBackRest drops WAL past the bound instead of filling
 * the disk, and a restore before the next backup misses what was dropped. Point-in-time restores
 * to a quiet moment (nothing committed after it) and to the archive's end are exact; a time
 * outside the archived range is refused up front. Figures go to .e2e/backup-figures.json.
 */
import Docker from "dockerode";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { Client } from "pg";
import {
    connect,
    connectAsMonitor,
    DevOutputs,
    PATHS,
    readOutputs,
    waitFor,
    withClient,
} from "../support/devCluster";
import { REPO_ROOT } from "../harness/client";
import { containerLogsSince, psqlAsPostgres } from "../support/docker";

jest.setTimeout(600_000);
const docker = new Docker();
const run = promisify(execFile);
let outputs: DevOutputs;
const restored: string[] = [];
const figures: Record<string, number> = {};

type Snapshot = { rows: number; checksum: string };
const SNAPSHOT =
    "SELECT count(*)::int AS rows, coalesce(md5(string_agg(id || ':' || v, ',' ORDER BY id)), '') AS checksum FROM backup_e2e";

async function onPrimary<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    return withClient(connect({ connectionString: outputs.writeConnectionString }), fn);
}

async function insertRows(count: number, tag: string): Promise<void> {
    await onPrimary((c) =>
        c.query("INSERT INTO backup_e2e (v) SELECT $1 || '-' || g FROM generate_series(1, $2) g", [
            tag,
            count,
        ]),
    );
}

/** Switches WAL on the primary (as postgres, inside its container) and waits until that segment is archived. */
async function switchAndWaitArchived(timeoutMs = 60_000): Promise<number> {
    const exec = await docker.getContainer(`${outputs.clusterName}-primary`).exec({
        Cmd: [
            "setpriv",
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "psql",
            "-XtAq",
            "-d",
            "postgres",
            "-c",
            "SELECT pg_walfile_name(pg_switch_wal())",
        ],
        AttachStdout: true,
        AttachStderr: true,
    });
    const stream = await exec.start({});
    let out = "";
    stream.on("data", (d: Buffer) => (out += d.toString("latin1")));
    await new Promise((r) => stream.on("end", r));
    const segment = /[0-9A-F]{24}/.exec(out)?.[0];
    if (!segment) throw new Error(`pg_switch_wal printed no segment: ${out}`);
    const started = Date.now();
    await waitFor(
        `WAL segment ${segment} archived`,
        () =>
            withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
                const { rows } = await c.query("SELECT last_archived_wal FROM pg_stat_archiver");
                return rows[0].last_archived_wal !== null && rows[0].last_archived_wal >= segment
                    ? true
                    : undefined;
            }),
        timeoutMs,
        250,
    );
    return (Date.now() - started) / 1000;
}

async function tool(
    script: "backup" | "restore" | "health",
    ...args: string[]
): Promise<{ code: number; json: any; stderr: string }> {
    try {
        const { stdout, stderr } = await run(
            path.join(REPO_ROOT, "node_modules/.bin/tsx"),
            [
                path.join(REPO_ROOT, "scripts", `${script}.ts`),
                "--outputs",
                PATHS.outputsPath,
                "--json",
                ...args,
            ],
            { cwd: REPO_ROOT, timeout: 600_000 },
        );
        return { code: 0, json: JSON.parse(stdout), stderr };
    } catch (err: any) {
        return {
            code: err.code,
            json: err.stdout ? JSON.parse(err.stdout || "null") : undefined,
            stderr: String(err.stderr),
        };
    }
}

async function restoreAndSnapshot(...args: string[]): Promise<{
    snapshot: Snapshot;
    seconds: number;
    range?: { start?: string; end?: string };
    walGap?: { restoredThrough: string; archiveHas: string };
}> {
    const result = await tool("restore", ...args);
    expect([result.code, result.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    restored.push(result.json.container);
    const snapshot = await withClient(
        connect({
            host: result.json.endpoint.host,
            port: result.json.endpoint.port,
            user: outputs.monitorUser,
            password: outputs.monitorPassword,
            database: outputs.databaseName,
        }),
        async (c) => {
            expect((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).toBe(false);
            return (await c.query(SNAPSHOT)).rows[0] as Snapshot;
        },
    );
    return { snapshot, seconds: result.json.seconds, range: result.json.range, walGap: result.json.walGap };
}

let scheduler: string;

async function schedulerHealth(): Promise<string | undefined> {
    return (await docker.getContainer(scheduler).inspect()).State.Health?.Status;
}

beforeAll(async () => {
    outputs = readOutputs();
    scheduler = (outputs as DevOutputs & { backupAccess: { schedulerContainer: string } }).backupAccess
        .schedulerContainer;
    await onPrimary(async (c) => {
        await c.query("CREATE TABLE IF NOT EXISTS backup_e2e (id bigserial PRIMARY KEY, v text NOT NULL)");
        await c.query("GRANT SELECT ON backup_e2e TO pgha_monitor");
        await c.query("TRUNCATE backup_e2e");
    });
});

afterAll(async () => {
    for (const name of restored) {
        await docker
            .getContainer(name)
            .remove({ force: true })
            .catch(() => undefined);
        await docker
            .getVolume(`${name}-data`)
            .remove()
            .catch(() => undefined);
    }
    await docker
        .getContainer(`${outputs.clusterName}-s3`)
        .start()
        .catch(() => undefined);
    fs.writeFileSync(
        path.join(path.dirname(PATHS.outputsPath), "backup-figures.json"),
        JSON.stringify(figures, null, 2) + "\n",
    );
    console.log(`[e2e] backup figures: ${JSON.stringify(figures)}`);
});

describe("backups to S3 that restore", () => {
    let atNotedTime: Snapshot & { time?: string };
    let latest: Snapshot;

    test("the deploy's first full backup was recorded", async () => {
        await waitFor(
            "a recorded full backup",
            () =>
                withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) =>
                    (
                        await c.query(
                            "SELECT count(*)::int AS n FROM pgha.backup_runs WHERE ok AND backup_type = 'full'",
                        )
                    ).rows[0].n > 0
                        ? true
                        : undefined,
                ),
            60_000,
        );
        expect(await schedulerHealth()).toBe("healthy");
    });

    test("backup, more rows, a noted time, more rows", async () => {
        await insertRows(20_000, "a");
        const backup = await tool("backup", "--type", "full");
        expect(backup.code).toBe(0);
        expect(backup.json).toMatchObject({
            ok: true,
            type: "full",
            label: expect.stringMatching(/^\d{8}-\d{6}F$/),
            fellBackToPrimary: false,
        });
        // pgha:backupFromReplica: the data files come from one replica's pgBackRest server; only
        // what is not replicated (a handful of files) from the primary.
        const sources = Object.entries(backup.json.filesFrom as Record<string, number>);
        const fromReplicas = sources.filter(([source]) => /^pgha-dev-replica-\d+-pgbackrest$/.test(source));
        const total = sources.reduce((sum, [, n]) => sum + n, 0);
        expect(fromReplicas).toHaveLength(1);
        expect(fromReplicas[0][1] / total).toBeGreaterThan(0.95);
        expect(backup.json.filesFrom.local).toBeLessThan(total * 0.05);
        figures.fullBackupSeconds = backup.json.seconds;
        figures.fullBackupFilesFromReplica = fromReplicas[0][1];
        figures.fullBackupFilesFromPrimary = backup.json.filesFrom.local ?? 0;
        await insertRows(5_000, "b");
        atNotedTime = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        await new Promise((r) => setTimeout(r, 1500));
        const noted = await onPrimary(async (c) => (await c.query("SELECT now() AS t")).rows[0].t as Date);
        atNotedTime.time = noted.toISOString();
        await new Promise((r) => setTimeout(r, 1500));
        await insertRows(3_000, "c");
        latest = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        figures.archiveAfterSwitchSeconds = await switchAndWaitArchived();
        expect(latest.rows).toBe(28_000);
        expect(atNotedTime.rows).toBe(25_000);
    });

    test("a restore to the latest state has exactly the primary's rows", async () => {
        const { snapshot, seconds } = await restoreAndSnapshot();
        expect(snapshot).toEqual(latest);
        figures.restoreLatestSeconds = seconds;
    });

    test("a restore to the noted time has exactly the rows committed before it", async () => {
        const { snapshot, seconds } = await restoreAndSnapshot("--target-time", atNotedTime.time!);
        expect(snapshot).toEqual({ rows: atNotedTime.rows, checksum: atNotedTime.checksum });
        figures.restorePointInTimeSeconds = seconds;
    });

    test("a restore to a quiet moment (nothing committed after it) has exactly the rows committed before it", async () => {
        await insertRows(500, "quiet");
        const quiet = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0] as Snapshot);
        await new Promise((r) => setTimeout(r, 1500));
        const t = new Date().toISOString();
        // Nothing is committed after t: before the tool marked the archive's end, recovery ran out of
        // WAL and failed with "recovery ended before configured recovery target was reached".
        const result = await restoreAndSnapshot("--target-time", t);
        expect(result.snapshot).toEqual(quiet);
        expect(Date.parse(result.range!.end!)).toBeGreaterThan(Date.parse(t));
        figures.restoreQuietMomentSeconds = result.seconds;
        latest = quiet;
    });

    test("a restore to the archive's end (the time it reports) has exactly the latest rows", async () => {
        await insertRows(300, "end");
        latest = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        const first = await tool("restore", "--target-time", "2000-01-01T00:00:00Z");
        expect(first.code).toBe(2);
        const end = /to (\S+) \(the archive's end, marked now\)/.exec(first.stderr)?.[1];
        expect(first.stderr).toMatch(
            /--target-time 2000-01-01T00:00:00Z is before the oldest backup ended: the available range is \S+ \(the oldest backup's end\) to \S+ \(the archive's end, marked now\)/,
        );
        const { snapshot } = await restoreAndSnapshot("--target-time", end!);
        expect(snapshot).toEqual(latest);
    });

    test("a time after the archive's end is refused up front, naming the available range", async () => {
        const future = new Date(Date.now() + 3_600_000).toISOString();
        const restores = () =>
            docker.listContainers({
                all: true,
                filters: { label: [`pgha.cluster=${outputs.clusterName}`, "pgha.role=restore"] },
            });
        const before = (await restores()).length;
        const r = await tool("restore", "--target-time", future);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
            /is after the archive's end: the available range is \S+ \(the oldest backup's end\) to/,
        );
        expect(await restores()).toHaveLength(before);
    });

    test("with no replica's pgBackRest server up, a backup is taken from the primary and restores exactly", async () => {
        const servers = outputs.replicaEndpoints.map((r) => `${outputs.clusterName}-${r.name}-pgbackrest`);
        await Promise.all(servers.map((name) => docker.getContainer(name).stop({ t: 1 })));
        try {
            await insertRows(1_000, "d");
            const backup = await tool("backup", "--type", "incr");
            expect([backup.code, backup.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
            expect(backup.json).toMatchObject({ ok: true, fellBackToPrimary: true });
            expect(Object.keys(backup.json.filesFrom)).toEqual(["local"]);
            figures.fallbackBackupSeconds = backup.json.seconds;
        } finally {
            await Promise.all(
                servers.map((name) =>
                    docker
                        .getContainer(name)
                        .start()
                        .catch(() => undefined),
                ),
            );
        }
        latest = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        await switchAndWaitArchived();
        const { snapshot } = await restoreAndSnapshot();
        expect(snapshot).toEqual(latest);
        for (const name of servers) {
            await waitFor(
                `${name} healthy`,
                async () =>
                    (await docker.getContainer(name).inspect()).State.Health?.Status === "healthy"
                        ? true
                        : undefined,
                60_000,
                500,
            );
        }
    });

    test("with the S3 endpoint down, a backup fails visibly and archiving fails", async () => {
        await docker.getContainer(`${outputs.clusterName}-s3`).stop({ t: 1 });
        const failed = await tool("backup", "--type", "diff");
        expect(failed.code).toBe(1);
        expect(failed.json).toMatchObject({ ok: false, exitCode: expect.any(Number) });
        await waitFor(
            "the scheduler reported unhealthy",
            async () => ((await schedulerHealth()) === "unhealthy" ? true : undefined),
            30_000,
            500,
        );
        const lastRun = await withClient(
            connectAsMonitor(outputs, outputs.primaryEndpoint),
            async (c) =>
                (await c.query("SELECT ok, detail FROM pgha.backup_runs ORDER BY id DESC LIMIT 1")).rows[0],
        );
        expect(lastRun.ok).toBe(false);
        expect(lastRun.detail).toMatch(/ERROR/);

        const failedBefore = await withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) =>
            Number((await c.query("SELECT failed_count FROM pg_stat_archiver")).rows[0].failed_count),
        );
        await insertRows(2_000, "during-outage");
        await expect(switchAndWaitArchived(8_000)).rejects.toThrow(/timed out/);
        // An attempt gives up after pgBackRest's io-timeout retries (about a minute and a half).
        await waitFor(
            "pg_stat_archiver to count a failed archive attempt",
            () =>
                withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) =>
                    Number(
                        (await c.query("SELECT failed_count FROM pg_stat_archiver")).rows[0].failed_count,
                    ) > failedBefore
                        ? true
                        : undefined,
                ),
            180_000,
            1000,
        );
    });

    test("with S3 down, the WAL kept for it is bounded: health warns, then alerts, then pgBackRest drops WAL past pgha:archiveQueueMaxMb", async () => {
        const MB = 1024 ** 2;
        const BOUND = 128 * MB; // DEV_E2E_CONFIG's pgha:archiveQueueMaxMb
        const SEGMENT = 16 * MB;
        const primary = `${outputs.clusterName}-primary`;
        const since = Date.now();
        const ready = () =>
            withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) =>
                Number(
                    (
                        await c.query(
                            "SELECT count(*) AS n FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
                        )
                    ).rows[0].n,
                ),
            );
        const walBytes = () =>
            withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) =>
                Number((await c.query("SELECT sum(size) AS b FROM pg_ls_waldir()")).rows[0].b),
            );
        // Completes segments (a few rows, then a WAL switch) until `segments` wait, at most `segments` more.
        const fill = async (segments: number) => {
            for (let i = 0; i < segments && (await ready()) < segments; i++) {
                await insertRows(100, "backlog");
                await psqlAsPostgres(primary, "SELECT pg_switch_wal()");
            }
        };
        const archiveHealth = async () => {
            const h = await tool("health");
            return (h.json.checks as { check: string; status: string; detail: string }[]).find(
                (c) => c.check === "archive",
            )!;
        };
        const atStart = await ready();
        expect(atStart * SEGMENT).toBeLessThan(BOUND / 2);
        await fill(4);
        const warned = await archiveHealth();
        expect(warned.detail).toContain(
            "of the 128 MB pgBackRest keeps before dropping WAL (a gap in point-in-time recovery)",
        );
        expect(warned.detail).toMatch(
            /backlog \S+ MB >= --archive-queue-warn 50% of pgha.archive_queue_max_mb = 64\.0 MB/,
        );
        expect(warned.detail).not.toMatch(/--archive-queue-alert/);
        await fill(7);
        const alerted = await archiveHealth();
        expect(alerted.status).toBe("ALERT");
        expect(alerted.detail).toMatch(
            /backlog \S+ MB >= --archive-queue-alert 80% of pgha.archive_queue_max_mb = 102 MB/,
        );
        // Past the bound: the next archive attempt drops WAL instead of keeping it for the repository.
        await fill(11);
        figures.archiveBacklogPeakMb = ((await ready()) * SEGMENT) / MB;
        const dropping = Date.now();
        await waitFor(
            "pgBackRest dropping WAL past the bound",
            async () => ((await ready()) * SEGMENT <= BOUND ? true : undefined),
            240_000,
            1000,
        );
        figures.archiveDropAfterSeconds = (Date.now() - dropping) / 1000;
        figures.archiveBacklogAfterDropMb = ((await ready()) * SEGMENT) / MB;
        figures.pgWalAfterDropMb = Math.round((await walBytes()) / MB);
        expect(await containerLogsSince(primary, since)).toMatch(/dropped WAL file '[0-9A-F]{24}'/);
    });

    test("once S3 is back, archiving resumes; a restore stops at the WAL dropped during the outage, and the next backup restores exactly", async () => {
        const outageEnded = Date.now();
        await docker.getContainer(`${outputs.clusterName}-s3`).start();
        latest = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        await switchAndWaitArchived(180_000);
        figures.archiveCatchUpSeconds = (Date.now() - outageEnded) / 1000;
        // The dropped segments are a gap: recovery ends at it, before the rows written after it.
        const gapped = await restoreAndSnapshot();
        expect(gapped.snapshot.rows).toBeLessThan(latest.rows);
        // ...and the restore says so: WAL is missing after where it stopped, the archive has more.
        expect(gapped.walGap).toEqual({
            restoredThrough: expect.stringMatching(/^[0-9A-F]{16}$/),
            archiveHas: expect.stringMatching(/^[0-9A-F]{16}$/),
        });
        figures.rowsMissingAfterGap = latest.rows - gapped.snapshot.rows;
        const backup = await tool("backup", "--type", "diff");
        expect(backup.code).toBe(0);
        latest = await onPrimary(async (c) => (await c.query(SNAPSHOT)).rows[0]);
        await switchAndWaitArchived();
        const complete = await restoreAndSnapshot();
        expect(complete.snapshot).toEqual(latest);
        expect(complete.walGap).toBeUndefined();
        await waitFor(
            "the scheduler healthy again",
            async () => ((await schedulerHealth()) === "healthy" ? true : undefined),
            30_000,
            500,
        );
    });
});
