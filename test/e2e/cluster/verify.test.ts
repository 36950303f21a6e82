/**
 * verify-replication against the running dev cluster, with faults injected through Docker:
 * a stopped replica, a replica whose replay is paused past --lag-fail, a dropped slot. Each run
 * is the real CLI (`tsx scripts/verify-replication.ts --json`) and asserts its exit code and
 * which check and node it names; after each fault the cluster is repaired and must pass again.
 *
 * It takes the cluster from `.e2e/dev-outputs.json` (written by `npm run e2e:up`, or by the
 * `cluster` suites' global setup) or from the file named by PGHA_VERIFY_OUTPUTS, and skips,
 * saying why, when that file is absent or the cluster's containers are not running.
 * Containers are `<clusterName>-primary` and `<clusterName>-<replica name>` (e.g. pgha-dev-replica-1);
 * SQL that needs a superuser runs as `postgres` over the node's local socket (`docker exec psql`).
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import type { ClusterOutputs, ReplicaEndpoint } from "../../../scripts/verify/outputs";
import type { CheckId, Report } from "../../../scripts/verify/types";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const OUTPUTS = path.resolve(
    process.env.PGHA_VERIFY_OUTPUTS ?? path.join(REPO_ROOT, ".e2e/dev-outputs.json"),
);
const SHOWN = path.relative(REPO_ROOT, OUTPUTS).startsWith("..")
    ? OUTPUTS
    : path.relative(REPO_ROOT, OUTPUTS);
const TSX_CLI = path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs");
const SCRIPT = path.join(REPO_ROOT, "scripts/verify-replication.ts");
/** Short timeouts, so that a fault costs seconds, not the defaults' minute; `over` replaces or adds flags. */
function fast(over: Record<string, string> = {}): string[] {
    const flags: Record<string, string> = {
        "--connect-timeout": "2",
        "--query-timeout": "3",
        "--canary-timeout": "3",
        ...over,
    };
    return Object.entries(flags).flat();
}

/** Whether a dev cluster is there to test, decided before the tests are declared. */
function findCluster(): { outputs: ClusterOutputs } | { skip: string } {
    if (!fs.existsSync(OUTPUTS)) {
        return { skip: `${SHOWN} not found: deploy the dev cluster with \`npm run e2e:up\` first` };
    }
    const outputs = JSON.parse(fs.readFileSync(OUTPUTS, "utf8")) as ClusterOutputs;
    const names = [
        `${outputs.clusterName}-primary`,
        ...outputs.replicaEndpoints.map((r) => `${outputs.clusterName}-${r.name}`),
    ];
    try {
        const running = execFileSync("docker", ["inspect", "-f", "{{.State.Running}}", ...names], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
        if (
            running
                .trim()
                .split("\n")
                .some((line) => line !== "true")
        )
            throw new Error("not running");
    } catch {
        return {
            skip: `${SHOWN} is there, but the containers ${names.join(", ")} are not all running: \`npm run e2e:up\` deploys them`,
        };
    }
    return { outputs };
}

const cluster = findCluster();

if ("skip" in cluster) {
    console.warn(`[verify e2e] skipped: ${cluster.skip}`);
    describe("verify-replication on the dev cluster", () => {
        test.skip(`skipped: ${cluster.skip}`, () => undefined);
    });
} else {
    const outputs = cluster.outputs;
    const docker = new Docker();
    const container = (node: string) => docker.getContainer(`${outputs.clusterName}-${node}`);
    const [r1, r2] = outputs.replicaEndpoints as [ReplicaEndpoint, ReplicaEndpoint | undefined];

    /** Runs the CLI with --json; resolves with its exit code and report (never rejects on exit 1). */
    function verify(...flags: string[]): Promise<{ code: number; report: Report; stderr: string }> {
        return new Promise((resolve, reject) => {
            execFile(
                process.execPath,
                [TSX_CLI, SCRIPT, "--outputs", OUTPUTS, "--json", ...flags],
                { cwd: REPO_ROOT, timeout: 90_000, maxBuffer: 8 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
                    try {
                        resolve({ code, report: JSON.parse(stdout), stderr });
                    } catch {
                        reject(new Error(`verify printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
                    }
                },
            );
        });
    }

    const failing = (report: Report) =>
        report.checks.filter((c) => c.status === "FAIL").map((c) => `${c.check}/${c.node}`);
    const result = (report: Report, check: CheckId, node: string) =>
        report.checks.find((c) => c.check === check && c.node === node);

    /** Runs verify until it exits 0, for at most `ms`; returns the passing run or throws with the last one. */
    async function untilHealthy(ms = 90_000) {
        const deadline = Date.now() + ms;
        let last: Awaited<ReturnType<typeof verify>> | undefined;
        while (Date.now() < deadline) {
            last = await verify(...fast());
            if (last.code === 0) return last;
            await new Promise((r) => setTimeout(r, 1500));
        }
        throw new Error(
            `the cluster did not pass again within ${ms / 1000} s; still failing: ${last ? failing(last.report).join(", ") : "?"}\n${JSON.stringify(
                last?.report.checks.filter((c) => c.status === "FAIL"),
                null,
                2,
            )}`,
        );
    }

    /** `psql -c sql` as postgres inside a node's container (local socket, peer auth); returns stdout. */
    async function psql(node: string, sql: string): Promise<string> {
        const exec = await container(node).exec({
            Cmd: ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql],
            User: "postgres",
            AttachStdout: true,
            AttachStderr: true,
        });
        const stream = await exec.start({ hijack: true, stdin: false });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const stdout = new PassThrough().on("data", (b: Buffer) => out.push(b));
        const stderr = new PassThrough().on("data", (b: Buffer) => err.push(b));
        docker.modem.demuxStream(stream, stdout, stderr);
        await new Promise<void>((resolve, reject) => stream.on("end", () => resolve()).on("error", reject));
        const { ExitCode } = await exec.inspect();
        if (ExitCode !== 0)
            throw new Error(`psql on ${node} failed (exit ${ExitCode}): ${Buffer.concat(err).toString()}`);
        return Buffer.concat(out).toString().trim();
    }

    async function isRunning(node: string): Promise<boolean> {
        return (await container(node).inspect()).State.Running;
    }

    async function waitFor(what: string, predicate: () => Promise<boolean>, ms = 20_000): Promise<void> {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
            if (await predicate().catch(() => false)) return;
            await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    }

    /** Undoes every fault these tests inject, whatever state a failed test left. */
    async function repair(): Promise<void> {
        for (const r of outputs.replicaEndpoints) {
            const slots = await psql(
                "primary",
                `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${r.slotName}'`,
            );
            if (slots === "0")
                await psql("primary", `SELECT pg_create_physical_replication_slot('${r.slotName}', true)`);
            if (!(await isRunning(r.name))) await container(r.name).start();
        }
        for (const r of outputs.replicaEndpoints) {
            await waitFor(
                `${r.name} to accept connections`,
                async () => (await psql(r.name, "SELECT pg_is_in_recovery()")) === "t",
                60_000,
            );
            await psql(r.name, "SELECT pg_wal_replay_resume()").catch(() => undefined);
        }
    }

    jest.setTimeout(240_000);

    describe("verify-replication on the dev cluster", () => {
        afterEach(repair);

        test("a healthy cluster passes every check", async () => {
            const started = Date.now();
            const { code, report } = await untilHealthy(60_000);
            expect(code).toBe(0);
            expect(report.ok).toBe(true);
            expect(new Set(report.checks.map((c) => c.check))).toEqual(
                new Set(["primary", "streaming", "slots", "replica-readonly", "canary", "lag", "pgbouncer"]),
            );
            for (const r of outputs.replicaEndpoints) {
                for (const check of ["streaming", "slots", "replica-readonly", "canary", "lag"] as const) {
                    expect(result(report, check, r.name)?.status).not.toBe("FAIL");
                }
                expect(result(report, "canary", r.name)?.metrics?.visibleAfterMs).toEqual(expect.any(Number));
            }
            console.log(
                `[verify e2e] healthy run: checks ${report.durationMs} ms, process ${Date.now() - started} ms`,
            );
        });

        test("a stopped replica fails the checks of that replica, and passes again once it resumes", async () => {
            await container(r1.name).stop({ t: 5 });
            const { code, report } = await verify(...fast());
            expect(code).toBe(1);
            for (const check of ["streaming", "slots", "replica-readonly", "canary", "lag"] as const) {
                expect(result(report, check, r1.name)).toMatchObject({ status: "FAIL" });
            }
            expect(result(report, "streaming", r1.name)?.detail).toMatch(
                `no walsender with application_name=${r1.applicationName}`,
            );
            expect(result(report, "slots", r1.name)?.detail).toMatch(`slot ${r1.slotName} is inactive`);
            expect(result(report, "replica-readonly", r1.name)?.detail).toMatch(/cannot connect to/);
            if (r2) expect(result(report, "streaming", r2.name)?.status).toBe("PASS");
            expect(JSON.stringify(report)).not.toContain(outputs.monitorPassword);

            await container(r1.name).start();
            const again = await untilHealthy();
            expect(again.code).toBe(0);
        });

        test("a replica whose replay is paused past --lag-fail fails lag (and the canary)", async () => {
            const paused = r2 ?? r1;
            await untilHealthy(60_000);
            await psql(paused.name, "SELECT pg_wal_replay_pause()");
            await new Promise((r) => setTimeout(r, 3000));
            const { code, report } = await verify(
                ...fast({ "--canary-timeout": "1", "--lag-warn": "1", "--lag-fail": "2" }),
            );
            expect(code).toBe(1);
            expect(result(report, "lag", paused.name)).toMatchObject({
                status: "FAIL",
                detail: expect.stringMatching(/>= --lag-fail 2\.00 s.*replay paused/),
            });
            expect(result(report, "lag", paused.name)?.metrics?.paused).toBe(true);
            expect(result(report, "canary", paused.name)).toMatchObject({
                status: "FAIL",
                detail: expect.stringMatching(/canary not visible within 1\.00 s/),
            });
            for (const r of outputs.replicaEndpoints.filter((x) => x !== paused)) {
                expect(result(report, "lag", r.name)?.status).toBe("PASS");
            }

            await psql(paused.name, "SELECT pg_wal_replay_resume()");
            expect((await untilHealthy()).code).toBe(0);
        });

        test("a dropped slot fails slots for its replica; recreated, the replica streams again", async () => {
            await container(r1.name).stop({ t: 5 });
            await waitFor(
                `slot ${r1.slotName} to be released`,
                async () =>
                    (await psql(
                        "primary",
                        `SELECT active FROM pg_replication_slots WHERE slot_name = '${r1.slotName}'`,
                    )) === "f",
            );
            await psql("primary", `SELECT pg_drop_replication_slot('${r1.slotName}')`);

            const { code, report } = await verify(...fast());
            expect(code).toBe(1);
            expect(result(report, "slots", r1.name)).toMatchObject({
                status: "FAIL",
                detail: `slot ${r1.slotName} does not exist on the primary`,
            });
            expect(failing(report)).toContain(`streaming/${r1.name}`);
            if (r2) expect(result(report, "slots", r2.name)?.status).toBe("PASS");

            await psql("primary", `SELECT pg_create_physical_replication_slot('${r1.slotName}', true)`);
            await container(r1.name).start();
            const again = await untilHealthy();
            expect(result(again.report, "slots", r1.name)?.status).toBe("PASS");
        });
    });
}
