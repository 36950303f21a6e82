/**
 * `npm run health` against the running dev cluster (the `cluster` suites' global setup deploys it and
 * writes .e2e/dev-outputs.json): the real CLI (`tsx scripts/health.ts --outputs ... --json`), its exit
 * code and figures compared with what the primary says. Healthy → exit 0 with every replica and slot of
 * the outputs and the last backup of pgha.backup_runs; a backup-age threshold below the real age →
 * exit 1 naming the backup; replica-2 stopped through Docker → exit 1 naming it, then started again and
 * streaming before the next test file runs.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Docker from "dockerode";
import type { HealthResult } from "../../../scripts/health/evaluate";
import type { HealthReport } from "../../../scripts/health/report";
import {
    connectAsMonitor,
    PATHS,
    readOutputs,
    waitFor,
    waitUntilAllStream,
    withClient,
    type DevOutputs,
} from "../support/devCluster";
import { REPO_ROOT } from "../harness/client";

const TSX_CLI = path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs");
const SCRIPT = path.join(REPO_ROOT, "scripts/health.ts");
const OUTPUTS = PATHS.outputsPath;

jest.setTimeout(300_000);

/** Runs the CLI with --json; resolves with its exit code, report and output (never rejects on a non-zero exit). */
function health(
    ...flags: string[]
): Promise<{ code: number; report: HealthReport; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            [
                TSX_CLI,
                SCRIPT,
                "--outputs",
                OUTPUTS,
                "--json",
                "--connect-timeout",
                "2",
                "--query-timeout",
                "3",
                ...flags,
            ],
            { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 8 * 1024 * 1024 },
            (err, stdout, stderr) => {
                const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
                try {
                    resolve({ code, report: JSON.parse(stdout), stdout, stderr });
                } catch {
                    reject(new Error(`health printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
                }
            },
        );
    });
}

const line = (report: HealthReport, check: HealthResult["check"], node: string) =>
    report.checks.find((c) => c.check === check && c.node === node);
const alerts = (report: HealthReport) =>
    report.checks.filter((c) => c.status === "ALERT").map((c) => `${c.check}/${c.node}`);

const available = fs.existsSync(OUTPUTS);
const suite = available ? describe : describe.skip;

suite("npm run health on the dev cluster", () => {
    let outputs: DevOutputs;
    const docker = new Docker();
    const container = (node: string) => docker.getContainer(`${outputs.clusterName}-${node}`);

    /** The newest good run of pgha.backup_runs, waiting for the scheduler's first backup if need be. */
    const lastGoodBackup = () =>
        waitFor(
            "a good backup in pgha.backup_runs",
            () =>
                withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
                    const { rows } = await c.query(
                        "SELECT label, backup_type, extract(epoch FROM now() - finished_at)::float8 * 1000 AS age_ms FROM pgha.backup_runs WHERE ok ORDER BY finished_at DESC LIMIT 1",
                    );
                    return rows[0] as { label: string; backup_type: string; age_ms: number } | undefined;
                }),
            180_000,
            1000,
        );

    /** Leaves the stack as it was found: every replica container running and streaming from its slot. */
    async function restore(): Promise<void> {
        for (const r of outputs.replicaEndpoints) {
            if (!(await container(r.name).inspect()).State.Running) await container(r.name).start();
        }
        await waitUntilAllStream(outputs, 120_000);
    }

    beforeAll(async () => {
        outputs = readOutputs();
        await restore();
    });
    afterAll(async () => {
        if (outputs) await restore();
    });

    test("a healthy cluster: exit 0, every replica and slot of the outputs, the real last backup and archiver figures", async () => {
        const backup = await lastGoodBackup();
        const started = Date.now();
        const { code, report, stdout } = await health("--samples", "3", "--interval", "500ms");
        const elapsed = Date.now() - started;

        expect(alerts(report)).toEqual([]);
        expect(code).toBe(0);
        expect(report).toMatchObject({
            ok: true,
            reachable: true,
            clusterName: outputs.clusterName,
            samples: 3,
            samplesAnswered: 3,
            intervalMs: 500,
        });
        expect(report.windowMs).toBeGreaterThanOrEqual(900);
        expect(line(report, "primary", "primary")?.status).toBe("OK");
        for (const r of outputs.replicaEndpoints) {
            expect(line(report, "replica", r.name)).toMatchObject({
                status: "OK",
                detail: expect.stringMatching(/^streaming async/),
                metrics: {
                    application: r.applicationName,
                    state: "streaming",
                    streamingSamples: 3,
                    samples: 3,
                },
            });
            expect(line(report, "slot", r.name)).toMatchObject({
                status: "OK",
                metrics: { slot: r.slotName, active: true, activeSamples: 3 },
            });
            expect(line(report, "slot", r.name)?.metrics?.retainedBytesMax).toEqual(expect.any(Number));
        }
        // max_slot_wal_keep_size of the dev stack (pgha:maxSlotWalKeepSizeMb 8192), read on the server
        expect(line(report, "slot", outputs.replicaEndpoints[0].name)?.metrics?.maxSlotWalKeepBytes).toBe(
            8192 * 1024 ** 2,
        );

        const b = line(report, "backup", "primary");
        // OK, or WARN when an earlier test file left a failed run or archive attempt (never ALERT: asserted above)
        expect(b).toMatchObject({
            status: expect.stringMatching(/^(OK|WARN)$/),
            metrics: {
                enabled: true,
                lastOkLabel: backup.label,
                lastOkType: backup.backup_type,
                intervalMs: 6 * 3_600_000,
            },
        });
        // the age the tool reports is the table's, a few seconds later at most
        const age = b?.metrics?.lastOkAgeMs as number;
        expect(age).toBeGreaterThanOrEqual(backup.age_ms - 1000);
        expect(age).toBeLessThanOrEqual(backup.age_ms + elapsed + 1000);

        expect(line(report, "archive", "primary")).toMatchObject({
            status: expect.stringMatching(/^(OK|WARN)$/),
            metrics: { archiveMode: "on", archiveTimeoutMs: 60_000 },
        });
        expect(line(report, "archive", "primary")?.metrics?.readyCount).toEqual(expect.any(Number));
        expect(stdout).not.toContain(outputs.monitorPassword);
        console.log(
            `[health e2e] healthy: 3 samples in ${elapsed} ms of process time; backup ${backup.label} ${Math.round(age / 1000)} s old`,
        );
    });

    test("the table (no --json) names every replica streaming and no alert", async () => {
        const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
            execFile(
                process.execPath,
                [TSX_CLI, SCRIPT, "--outputs", OUTPUTS],
                { cwd: REPO_ROOT, timeout: 60_000 },
                (err, stdout) =>
                    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout }),
            ),
        );
        expect(out.code).toBe(0);
        for (const r of outputs.replicaEndpoints)
            expect(out.stdout).toMatch(new RegExp(`^replica\\s+${r.name}\\s+OK\\s+streaming`, "m"));
        expect(out.stdout).toMatch(
            new RegExp(
                `^OK(?: with warnings)?: cluster ${outputs.clusterName}, \\d+ OK, \\d+ WARN, 0 ALERT$`,
                "m",
            ),
        );
        expect(out.stdout).not.toContain(outputs.monitorPassword);
    });

    test("a backup-age alert threshold below the real age: exit 1, the backup named, the rest still OK", async () => {
        await lastGoodBackup();
        const { code, report } = await health("--backup-warn", "500ms", "--backup-alert", "1s");
        expect(code).toBe(1);
        expect(report.ok).toBe(false);
        expect(alerts(report)).toEqual(["backup/primary"]);
        expect(line(report, "backup", "primary")?.detail).toMatch(/age .* >= --backup-alert 1\.00 s/);
    });

    test("replica-2 stopped: exit 1 naming its replica and slot; started again, it streams and health passes", async () => {
        const stopped =
            outputs.replicaEndpoints.find((r) => r.name === "replica-2") ??
            outputs.replicaEndpoints[outputs.replicaEndpoints.length - 1];
        await container(stopped.name).stop({ t: 5 });
        try {
            await waitFor(`slot ${stopped.slotName} released`, async () => {
                const { report } = await health();
                return line(report, "slot", stopped.name)?.metrics?.active === false ? true : undefined;
            });
            const { code, report } = await health();
            expect(code).toBe(1);
            expect(alerts(report).sort()).toEqual([`replica/${stopped.name}`, `slot/${stopped.name}`]);
            expect(line(report, "replica", stopped.name)?.detail).toBe(
                `not streaming: no walsender with application_name=${stopped.applicationName} on the primary`,
            );
            expect(line(report, "slot", stopped.name)?.detail).toMatch(
                new RegExp(`^slot ${stopped.slotName} inactive: ${stopped.name} does not stream from it`),
            );
            for (const r of outputs.replicaEndpoints.filter((x) => x !== stopped))
                expect(line(report, "replica", r.name)?.status).toBe("OK");
        } finally {
            await container(stopped.name).start();
        }
        await waitUntilAllStream(outputs, 120_000);
        const again = await health();
        expect(alerts(again.report)).toEqual([]);
        expect(again.code).toBe(0);
    });
});
