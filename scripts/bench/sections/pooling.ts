/** Section 3: PgBouncer against direct connections to the primary, same cluster, same data set. */
import { appTarget } from "../cluster";
import { PgbenchSummary, runPgbench } from "../pgbench";
import type { BenchPlan } from "../plan";
import { medianOf, ratio } from "../stats";
import type { PoolingResult, PoolingScenario } from "../types";
import type { ClusterOutputs } from "../../verify/outputs";

/** The four workloads: select-only and read-write, with persistent connections and with one per transaction (`-C`). */
export const POOLING_WORKLOADS: readonly Pick<PoolingScenario, "workload" | "connection">[] = [
    { workload: "select-only", connection: "persistent" },
    { workload: "select-only", connection: "per-transaction" },
    { workload: "read-write", connection: "persistent" },
    { workload: "read-write", connection: "per-transaction" },
];

/**
 * Runs each workload with `plan.poolingClients` clients directly against the primary's port and
 * through PgBouncer's read-write entry, `plan.runs` times. Direct and pooled alternate which
 * goes first from one run to the next, so a drift of the machine favours neither.
 * Expects the pgbench tables on the primary.
 */
export async function measurePooling(
    outputs: ClusterOutputs,
    plan: BenchPlan,
    log: (msg: string) => void,
): Promise<PoolingResult> {
    const targets = {
        direct: appTarget(outputs, outputs.primaryEndpoint),
        pooled: appTarget(outputs, outputs.pgbouncerEndpoint),
    };
    const runs = POOLING_WORKLOADS.map(() => ({
        direct: [] as PgbenchSummary[],
        pooled: [] as PgbenchSummary[],
    }));
    for (let i = 0; i < plan.runs; i++) {
        const order = i % 2 === 0 ? (["direct", "pooled"] as const) : (["pooled", "direct"] as const);
        for (const [w, workload] of POOLING_WORKLOADS.entries()) {
            for (const via of order) {
                const summary = await runPgbench(targets[via], {
                    seconds: plan.poolingSeconds,
                    clients: plan.poolingClients,
                    threads: plan.threads,
                    selectOnly: workload.workload === "select-only",
                    connectPerTransaction: workload.connection === "per-transaction",
                });
                runs[w][via].push(summary);
                log(
                    `pooling ${workload.workload}, ${workload.connection} connections, ${via}, run ${i + 1}/${plan.runs}: ${summary.tps.toFixed(0)} TPS`,
                );
            }
        }
    }
    const scenarios: PoolingScenario[] = POOLING_WORKLOADS.map((workload, w) => {
        const side = (list: PgbenchSummary[]) => ({
            runs: list,
            medianTps: medianOf(list.map((s) => s.tps)),
            medianLatencyMs: medianOf(list.map((s) => s.latencyAvgMs)),
        });
        const direct = side(runs[w].direct);
        const pooled = side(runs[w].pooled);
        return { ...workload, direct, pooled, ratio: ratio(pooled.medianTps, direct.medianTps) };
    });
    return { clients: plan.poolingClients, scenarios };
}
