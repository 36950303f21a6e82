/** Section 2: replay lag per replica under pgbench write load at fixed rates, sampled every 100 ms. */
import { appTarget, monitorTarget, pgClient, waitForStreaming } from "../cluster";
import { LagSampler, summarizeLag } from "../lagSampler";
import { initPgbench, PgbenchSummary, PgTarget, runPgbench } from "../pgbench";
import { BenchPlan, rateLabel } from "../plan";
import { medianOf, ratio } from "../stats";
import type { LagModeResult, LagRateResult, LagResult, LagRun, ReplicaLagMedians } from "../types";
import type { ClusterOutputs } from "../../verify/outputs";

/** Waits (at most `timeoutMs`) until every replica has replayed the WAL written so far, so a run does not inherit the last one's backlog. */
export async function waitForCatchUp(monitor: PgTarget, timeoutMs = 60_000): Promise<void> {
    const client = pgClient(monitor);
    await client.connect();
    try {
        const { rows } = await client.query("SELECT pg_current_wal_lsn() AS lsn");
        const target = rows[0].lsn as string;
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            const behind = await client.query(
                "SELECT count(*)::int AS n FROM pg_stat_replication WHERE replay_lsn IS NULL OR replay_lsn < $1::pg_lsn",
                [target],
            );
            if (behind.rows[0].n === 0) return;
            await new Promise((r) => setTimeout(r, 200));
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Medians over runs of each replica's p50, p99, max and byte lag. */
export function lagMedians(
    runs: readonly LagRun[],
    replicas: readonly string[],
): Record<string, ReplicaLagMedians> {
    return Object.fromEntries(
        replicas.map((name) => [
            name,
            {
                p50Ms: medianOf(runs.map((r) => r.replicas[name]?.replayMs?.p50)),
                p99Ms: medianOf(runs.map((r) => r.replicas[name]?.replayMs?.p99)),
                maxMs: medianOf(runs.map((r) => r.replicas[name]?.replayMs?.max)),
                maxBytes: medianOf(runs.map((r) => r.replicas[name]?.maxBytes)),
            },
        ]),
    );
}

/**
 * Loads the pgbench data set on the primary, then runs pgbench (TPC-B-like, read-write) against
 * the primary's published port at each rate of the plan, `plan.runs` times, the rates interleaved
 * (run 1 of every rate, then run 2, ...) so that a slow spell of the machine does not land on one
 * rate only. Replay lag is sampled from the primary's pg_stat_replication during each run, after
 * `plan.lagWarmupSeconds`.
 */
export async function measureLag(
    outputs: ClusterOutputs,
    mode: "async" | "sync",
    plan: BenchPlan,
    log: (msg: string) => void,
): Promise<LagModeResult> {
    const primary = appTarget(outputs, outputs.primaryEndpoint);
    const monitor = monitorTarget(outputs, outputs.primaryEndpoint);
    const replicas = outputs.replicaEndpoints.map((r) => r.applicationName);
    await waitForStreaming(outputs);
    const initSeconds = await initPgbench(primary, plan.lagScale);
    log(`lag (${mode}): pgbench -i -s ${plan.lagScale} in ${initSeconds.toFixed(1)} s`);
    const byRate = plan.lagRates.map((rate) => ({
        rate,
        runs: [] as LagRun[],
        series: [] as LagRateResult["series"],
    }));
    for (let i = 0; i < plan.runs; i++) {
        for (const entry of byRate) {
            await waitForCatchUp(monitor);
            const sampler = new LagSampler(monitor, plan.sampleIntervalMs);
            const load = runPgbench(primary, {
                seconds: plan.lagSeconds,
                clients: plan.lagClients,
                threads: plan.threads,
                rate: entry.rate,
            });
            let pgbench: PgbenchSummary;
            let sampled: Awaited<ReturnType<LagSampler["stop"]>>;
            try {
                await Promise.race([load, new Promise((r) => setTimeout(r, plan.lagWarmupSeconds * 1000))]);
                await sampler.start();
                pgbench = await load;
            } finally {
                load.catch(() => undefined);
                sampled = await sampler.stop();
            }
            const { samples, errors } = sampled;
            const run: LagRun = {
                pgbench,
                samples: samples.length,
                sampleErrors: errors,
                replicas: summarizeLag(samples, replicas),
            };
            entry.runs.push(run);
            if (i === 0) entry.series = samples;
            const lags = replicas
                .map(
                    (n) =>
                        `${n} p50 ${fmt(run.replicas[n].replayMs?.p50)} p99 ${fmt(run.replicas[n].replayMs?.p99)} max ${fmt(run.replicas[n].replayMs?.max)} ms`,
                )
                .join("; ");
            log(
                `lag (${mode}) ${rateLabel(entry.rate)} run ${i + 1}/${plan.runs}: ${pgbench.tps.toFixed(0)} TPS; ${lags}`,
            );
        }
    }
    const rates: LagRateResult[] = byRate.map((entry) => ({
        rate: entry.rate,
        runs: entry.runs,
        median: {
            tps: medianOf(entry.runs.map((r) => r.pgbench.tps)),
            latencyAvgMs: medianOf(entry.runs.map((r) => r.pgbench.latencyAvgMs)),
            replicas: lagMedians(entry.runs, replicas),
        },
        series: entry.series,
    }));
    return { mode, initSeconds, rates };
}

/** Per rate of the async run: median sync TPS / median async TPS (1 = synchronous mode costs nothing). */
export function syncTpsRatios(
    asyncMode: LagModeResult | undefined,
    syncMode: LagModeResult | undefined,
): LagResult["syncTpsRatio"] {
    if (!asyncMode || !syncMode) return [];
    return asyncMode.rates.map((a) => ({
        rate: a.rate,
        ratio: ratio(syncMode.rates.find((s) => s.rate === a.rate)?.median.tps, a.median.tps),
    }));
}

function fmt(ms: number | undefined): string {
    return ms === undefined ? "-" : ms.toFixed(1);
}
