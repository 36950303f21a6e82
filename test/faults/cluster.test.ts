/**
 * The fault-injection suite (issue 8) on the `faults` stack that globalSetup deployed: each fault
 * asserts what a user would see and that no committed row is lost. The scenarios run in this
 * order; each starts from a cluster whose replicas all stream. The lost-slot scenario runs last:
 * it ends with the replica re-cloned by `npm run rejoin`, or broken if that command fails.
 */
import { replicaKillScenario } from "./scenarios/replicaKill";
import { lostSlotScenario, networkCutScenario } from "./scenarios/networkCut";
import { primaryKillScenario } from "./scenarios/primaryKill";
import { pgbouncerRestartScenario } from "./scenarios/pgbouncerRestart";
import { replicaDiskFullScenario } from "./scenarios/replicaDiskFull";
import { ensureLedger, faultsOutputs, OUTPUTS_PATH } from "./support/faultStack";
import { execFile } from "child_process";
import * as path from "path";
import { REPO_ROOT } from "../e2e/harness/client";

/** `npm run verify -- --outputs <file> --json`: its exit code and output. */
function runVerify(outputsPath: string): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) =>
        execFile(
            path.join(REPO_ROOT, "node_modules/.bin/tsx"),
            [path.join(REPO_ROOT, "scripts/verify-replication.ts"), "--outputs", outputsPath, "--json"],
            { cwd: REPO_ROOT, timeout: 120_000 },
            (err, stdout) =>
                resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
    );
}

beforeAll(async () => {
    await ensureLedger(faultsOutputs());
});

test("the stack with the longest names the config accepts deploys and verifies", async () => {
    const outputs = faultsOutputs();
    expect(outputs.databaseName).toHaveLength(60);
    expect(outputs.readOnlyDatabaseName).toHaveLength(63);
    const verify = await runVerify(OUTPUTS_PATH);
    expect([verify.code, verify.stdout.slice(-3000)]).toEqual([0, expect.stringContaining("pgbouncer")]);
});

replicaKillScenario();
networkCutScenario();
primaryKillScenario();
pgbouncerRestartScenario();
replicaDiskFullScenario();
lostSlotScenario();
