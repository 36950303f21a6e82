/** Section 1: seconds from nothing to a verified cluster (2 replicas streaming), image already built. */
import { DeployedCluster, deployBench, destroyBench, verifyBench } from "../cluster";
import type { BenchPlan } from "../plan";
import { median } from "../stats";
import type { DeployResult, DeployRun } from "../types";

/**
 * Deploys the bench stack from nothing `plan.deployRuns` times, each followed by the real
 * `verify-replication`; destroys in between and leaves the last cluster running (asynchronous
 * mode) for the next sections. The caller has destroyed any leftover stack before.
 */
export async function measureDeploys(
    plan: BenchPlan,
    log: (msg: string) => void,
): Promise<{ result: DeployResult; cluster: DeployedCluster }> {
    const runs: DeployRun[] = [];
    let cluster: DeployedCluster | undefined;
    for (let i = 0; i < plan.deployRuns; i++) {
        if (i > 0) await destroyBench();
        cluster = await deployBench("off");
        const verify = await verifyBench();
        const run: DeployRun = {
            upSeconds: cluster.upSeconds,
            verifySeconds: verify.seconds,
            totalSeconds: cluster.upSeconds + verify.seconds,
            verified: verify.ok,
            failedChecks: verify.failed,
        };
        runs.push(run);
        log(
            `deploy ${i + 1}/${plan.deployRuns}: up ${run.upSeconds.toFixed(1)} s + verify ${run.verifySeconds.toFixed(1)} s${verify.ok ? "" : ` (verify FAILED: ${verify.failed.join(", ")})`}`,
        );
    }
    // Only a verified cluster counts: a deploy whose check failed is in `runs`, not in the medians.
    const verified = runs.filter((r) => r.verified);
    const result: DeployResult = {
        runs,
        medianSeconds: median(verified.map((r) => r.totalSeconds)),
        medianUpSeconds: median(verified.map((r) => r.upSeconds)),
        medianVerifySeconds: median(verified.map((r) => r.verifySeconds)),
    };
    return { result, cluster: cluster! };
}
