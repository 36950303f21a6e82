/**
 * Section 4: seconds from the primary's loss (`docker kill`) to a write accepted through
 * PgBouncer's read-write entry, with `npm run failover -- --outputs <file> --json` run at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Docker from "dockerode";
import { REPO_ROOT } from "../../../test/e2e/harness/client";
import {
    appTarget,
    BENCH_OUTPUTS,
    benchSecrets,
    deployBench,
    destroyBench,
    pgClient,
    waitForStreaming,
} from "../cluster";
import type { PgTarget } from "../pgbench";
import type { BenchPlan } from "../plan";
import { jsonOutput, runNpmScript } from "../proc";
import { medianOf } from "../stats";
import type { FailoverResult, FailoverRun, Skipped } from "../types";
import { redact } from "../../verify/redact";

/** Why the section cannot run, or `undefined` when `npm run failover` exists. */
export function failoverUnavailable(repoRoot = REPO_ROOT): string | undefined {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
        scripts?: Record<string, string>;
    };
    if (!fs.existsSync(path.join(repoRoot, "scripts/failover.ts")) || !pkg.scripts?.failover)
        return "npm run failover not available";
    return undefined;
}

const PROBE_TABLE = "pgha_bench_failover_probe";

/** One write attempt on a new connection; resolves true when the INSERT committed. */
async function tryWrite(target: PgTarget, timeoutMs: number): Promise<boolean> {
    const client = pgClient(target, timeoutMs, "pgha-bench-failover");
    try {
        await client.connect();
        await client.query(`INSERT INTO ${PROBE_TABLE} DEFAULT VALUES`);
        return true;
    } catch {
        return false;
    } finally {
        void client.end().catch(() => undefined);
    }
}

/**
 * Starts a write attempt through `target` every `everyMs` (each on its own connection, bounded by
 * `attemptTimeoutMs`, so one hung in PgBouncer's queue does not hide a later success) and resolves
 * with the time the first one committed, or `undefined` at `deadline`.
 */
function firstAcceptedWrite(
    target: PgTarget,
    deadline: number,
    everyMs = 200,
    attemptTimeoutMs = 3000,
): Promise<number | undefined> {
    return new Promise((resolve) => {
        let done = false;
        const finish = (at: number | undefined) => {
            if (done) return;
            done = true;
            clearInterval(timer);
            resolve(at);
        };
        const attempt = () => {
            if (Date.now() > deadline) return finish(undefined);
            void tryWrite(target, attemptTimeoutMs).then((ok) => ok && finish(Date.now()));
        };
        const timer = setInterval(attempt, everyMs);
        attempt();
    });
}

/** Kills the primary, runs the failover CLI and measures the time to the first accepted write. */
async function oneFailover(plan: BenchPlan, log: (msg: string) => void): Promise<FailoverRun> {
    const { outputs } = await deployBench("any1");
    await waitForStreaming(outputs);
    const secrets = benchSecrets(outputs);
    const rw = appTarget(outputs, outputs.pgbouncerEndpoint);
    const setup = pgClient(rw, 10000);
    await setup.connect();
    await setup.query(
        `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
    );
    await setup.end();

    const killedAt = Date.now();
    await new Docker().getContainer(`${outputs.clusterName}-primary`).kill();
    const accepted = firstAcceptedWrite(rw, killedAt + plan.failoverTimeoutSeconds * 1000);
    const cli = await runNpmScript(
        "failover",
        ["--outputs", BENCH_OUTPUTS, "--json"],
        plan.failoverTimeoutSeconds * 1000,
    );
    const acceptedAt = await accepted;
    const cliJson = jsonOutput(cli.stdout);
    const run: FailoverRun = {
        secondsToWrite: acceptedAt === undefined ? undefined : (acceptedAt - killedAt) / 1000,
        cliSeconds: cli.seconds,
        cliExitCode: cli.code,
        cliTimings: cliJson?.timings as Record<string, number> | undefined,
        cliOutput: cliJson && JSON.parse(redact(JSON.stringify(cliJson), secrets)),
    };
    if (cli.code !== 0)
        run.error = `npm run failover exited ${cli.code}: ${redact(cli.stderr.trim().split("\n").slice(-5).join(" | "), secrets)}`;
    else if (acceptedAt === undefined)
        run.error = `no write accepted through PgBouncer within ${plan.failoverTimeoutSeconds} s`;
    log(
        `failover: write accepted ${run.secondsToWrite === undefined ? "never" : `after ${run.secondsToWrite.toFixed(1)} s`}; failover command ${cli.seconds.toFixed(1)} s, exit ${cli.code}`,
    );
    return run;
}

/**
 * `plan.failoverRuns` failovers, each on a cluster deployed from nothing in synchronous mode
 * (`any1`, the mode in which a failover loses no committed transaction), destroyed afterwards.
 * Records `{ skipped }` when the failover CLI is not in the repository: no figure is made up.
 */
export async function measureFailovers(
    plan: BenchPlan,
    log: (msg: string) => void,
): Promise<FailoverResult | Skipped> {
    const unavailable = failoverUnavailable();
    if (unavailable) {
        log(`failover: skipped (${unavailable})`);
        return { skipped: unavailable };
    }
    const runs: FailoverRun[] = [];
    for (let i = 0; i < plan.failoverRuns; i++) {
        await destroyBench();
        try {
            runs.push(await oneFailover(plan, log));
        } catch (err) {
            runs.push({ cliExitCode: null, error: (err as Error).message });
            log(`failover run ${i + 1}: ${(err as Error).message}`);
        }
    }
    const good = runs.filter((r) => r.error === undefined);
    return {
        runs,
        medianSecondsToWrite: medianOf(good.map((r) => r.secondsToWrite)),
        medianCliSeconds: medianOf(good.map((r) => r.cliSeconds)),
    };
}
