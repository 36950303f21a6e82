/**
 * `npm run bench -- [--quick] [--only <sections>] [--out-dir <dir>]`: measures the pgha cluster on
 * the local Docker engine with its own stack `bench` and writes results.json, report.md and
 * lag.png (see `--help`). Sections run in this order on one cluster:
 * deploy (leaves it running, async), lag in async mode, pooling, backup, lag in sync mode (a
 * redeploy with synchronousMode=any1), then failover on fresh clusters. The stack is destroyed at
 * the start (leftovers) and at the end, whatever happened.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../test/e2e/harness/client";
import { EXIT, InputError } from "../verify/errors";
import { outputSecrets, readOutputsFile } from "../verify/outputs";
import { redact } from "../verify/redact";
import { parseBenchArgs, USAGE } from "./args";
import { drawLagChart } from "./chart";
import { appTarget, BENCH_OUTPUTS, DeployedCluster, deployBench, destroyBench, verifyBench } from "./cluster";
import { conditions, ContainerWatch, currentConditions, machineFacts } from "./machine";
import { initPgbench } from "./pgbench";
import { benchPlan, Section, SECTIONS } from "./plan";
import { renderReport } from "./report";
import { measureBackup } from "./sections/backup";
import { measureDeploys } from "./sections/deploy";
import { measureFailovers } from "./sections/failover";
import { measureLag, syncTpsRatios } from "./sections/lag";
import { measurePooling } from "./sections/pooling";
import { BenchResults, Failed, isFailed, LagModeResult } from "./types";

/** The passwords of the last deployed bench stack, to keep them out of anything stored or printed. */
async function knownSecrets(): Promise<string[]> {
    try {
        return outputSecrets(await readOutputsFile(BENCH_OUTPUTS));
    } catch {
        return [];
    }
}

/** The commit measured, `<sha> + uncommitted changes` when tracked files differ from it; `undefined` outside git. */
async function gitCommit(): Promise<string | undefined> {
    const git = (args: string[]) =>
        new Promise<string | undefined>((resolve) =>
            execFile("git", args, { cwd: REPO_ROOT, timeout: 10_000 }, (err, stdout) =>
                resolve(err ? undefined : stdout.trim()),
            ),
        );
    const sha = await git(["rev-parse", "--short=12", "HEAD"]);
    if (sha === undefined) return undefined;
    const dirty = await git(["status", "--porcelain", "--untracked-files=no"]);
    return dirty ? `${sha} + uncommitted changes` : sha;
}

async function main(argv: readonly string[]): Promise<number> {
    const parsed = parseBenchArgs(argv, REPO_ROOT);
    if (parsed.help) {
        process.stdout.write(USAGE);
        return EXIT.ok;
    }
    const { options } = parsed;
    const plan = benchPlan(options.quick, os.cpus().length);
    const startedAt = new Date();
    const log = (msg: string) => {
        const s = Math.round((Date.now() - startedAt.getTime()) / 1000);
        process.stderr.write(
            `[bench ${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}] ${msg}\n`,
        );
    };
    const want = (s: Section) => options.sections.includes(s);
    let failures = 0;
    /** Runs one section; an error is recorded in the results (secrets removed) and the bench goes on. */
    const section = async <T>(name: string, measure: () => Promise<T>): Promise<T | Failed> => {
        await save();
        try {
            return await measure();
        } catch (err) {
            failures++;
            const error = redact((err as Error).message, await knownSecrets());
            log(`${name} FAILED: ${error}`);
            return { error };
        }
    };

    const atStart = await currentConditions();
    const watch = new ContainerWatch(startedAt.getTime());
    watch.start();
    const otherPgha = atStart.otherContainers.filter((n) => n.startsWith("pgha-"));
    log(
        `${plan.mode} run of ${options.sections.join(", ")}; results go to ${path.relative(REPO_ROOT, options.outDir) || "."}`,
    );
    if (otherPgha.length > 0)
        log(`other pgha stacks are running (${otherPgha.join(", ")}): figures will be noisy`);
    const args = [
        options.quick ? "--quick" : "",
        options.sections.length < SECTIONS.length ? `--only ${options.sections.join(",")}` : "",
    ].filter(Boolean);
    const results: BenchResults = {
        schemaVersion: 1,
        mode: plan.mode,
        command: `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`,
        commit: await gitCommit(),
        startedAt: startedAt.toISOString(),
        finishedAt: "",
        totalSeconds: 0,
        sectionsRun: [...options.sections],
        conditions: conditions(atStart, atStart),
        plan,
    };

    const resultsPath = path.join(options.outDir, "results.json");
    /** Writes what is measured so far, so a crash or a Ctrl-C loses at most the section under way. */
    const save = async () => {
        results.finishedAt = new Date().toISOString();
        results.totalSeconds = (Date.now() - startedAt.getTime()) / 1000;
        await fs.mkdir(options.outDir, { recursive: true });
        await fs.writeFile(resultsPath, `${JSON.stringify(results, null, 1)}\n`);
    };

    log("removing any leftover bench stack");
    await destroyBench();
    let asyncLag: LagModeResult | Failed | undefined;
    let syncLag: LagModeResult | Failed | undefined;
    try {
        let cluster: DeployedCluster | undefined;
        if (want("deploy")) {
            results.deploy = await section("deploy", async () => {
                const measured = await measureDeploys(plan, log);
                cluster = measured.cluster;
                return measured.result;
            });
        }
        if (!cluster && (want("lag") || want("pooling") || want("backup"))) {
            const deployed = await section("deploy (async)", () => deployBench("off"));
            if (!isFailed(deployed)) cluster = deployed;
        }
        if (cluster) {
            const outputs = cluster.outputs;
            results.machine = await machineFacts(outputs).catch((err) => {
                log(`machine facts not collected: ${(err as Error).message}`);
                return undefined;
            });
            if (want("lag")) {
                asyncLag = await section("lag (async)", () => measureLag(outputs, "async", plan, log));
                results.lag = { async: asyncLag, syncTpsRatio: [] };
            }
            if (want("pooling")) {
                results.pooling = await section("pooling", async () => {
                    // The pooling runs use the lag runs' data set; load it if they did not run.
                    if (!asyncLag || isFailed(asyncLag))
                        await initPgbench(appTarget(outputs, outputs.primaryEndpoint), plan.lagScale);
                    return measurePooling(outputs, plan, log);
                });
            }
            if (want("backup"))
                results.backup = await section("backup", () => measureBackup(outputs, plan, log));
            if (want("lag")) {
                syncLag = await section("lag (sync)", async () => {
                    log("redeploying the bench stack with synchronousMode=any1");
                    const sync = await deployBench("any1");
                    const verify = await verifyBench();
                    if (!verify.ok)
                        throw new Error(
                            `verify-replication failed after the redeploy in synchronous mode: ${verify.failed.join(", ")}`,
                        );
                    return measureLag(sync.outputs, "sync", plan, log);
                });
            }
        } else {
            const error = "no bench cluster could be deployed";
            if (want("lag")) asyncLag = syncLag = { error };
            if (want("pooling")) results.pooling = { error };
            if (want("backup")) results.backup = { error };
        }
        if (want("lag")) {
            const ok = (m: LagModeResult | Failed | undefined) => (m && !isFailed(m) ? m : undefined);
            results.lag = {
                async: asyncLag,
                sync: syncLag,
                syncTpsRatio: syncTpsRatios(ok(asyncLag), ok(syncLag)),
            };
        }
        if (want("failover")) {
            results.failover = await section("failover", () => measureFailovers(plan, log));
            if ("runs" in results.failover && results.failover.runs.some((r) => r.error !== undefined))
                failures++;
        }
    } finally {
        log("destroying the bench stack");
        await destroyBench().catch((err) => log(`destroy FAILED: ${(err as Error).message}`));
    }

    results.conditions = conditions(atStart, await currentConditions(), watch.stop());
    await save();
    const drawn = [asyncLag, syncLag].filter((m): m is LagModeResult => m !== undefined && !isFailed(m));
    if (drawn.length > 0) {
        await drawLagChart(drawn, path.join(options.outDir, "lag.png")).catch((err) => {
            failures++;
            log((err as Error).message);
        });
    }
    await fs.writeFile(path.join(options.outDir, "report.md"), renderReport(results));
    log(
        `done in ${(results.totalSeconds / 60).toFixed(1)} min: ${path.relative(REPO_ROOT, options.outDir)}/{results.json,report.md${drawn.length > 0 ? ",lag.png" : ""}}`,
    );
    process.stdout.write(renderReport(results));
    return failures > 0 ? EXIT.checkFailed : EXIT.ok;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`bench: ${(err as Error).message}\n`);
        process.exit(err instanceof InputError ? EXIT.usage : EXIT.checkFailed);
    },
);
