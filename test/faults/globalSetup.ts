/**
 * Before the fault suite: make sure Docker and the base image exist, give replica-2 a small data
 * file system (for the full-disk fault), then deploy the `faults` stack from nothing with the real
 * program and wait until both replicas stream. With PGHA_FAULTS_KEEP=1 and a stack left by an
 * earlier run, that stack is updated in place (a second `up`) instead of deployed from nothing.
 */
import * as fs from "fs";
import { defaultPaths, REPO_ROOT } from "../e2e/harness/client";
import { destroyStack, deployStack, prepareMachine, waitUntilAllStream } from "../e2e/support/devCluster";
import { FAULTS_CONFIG, FAULTS_STACK, names, SMALL_DISK_MB, SMALL_DISK_REPLICA } from "./support/faultStack";
import { createSmallVolume } from "./support/smallDisk";

export default async function globalSetup(): Promise<void> {
    prepareMachine();
    const started = Date.now();
    const reuse =
        process.env.PGHA_FAULTS_KEEP === "1" &&
        fs.existsSync(defaultPaths(REPO_ROOT, FAULTS_STACK).statePath);
    if (!reuse) {
        await destroyStack(FAULTS_STACK);
        // Before the deployment: the program's volume create then adopts this one (same name).
        await createSmallVolume(names.dataVolume(SMALL_DISK_REPLICA), SMALL_DISK_MB);
    }
    const run = await deployStack(FAULTS_STACK, FAULTS_CONFIG);
    await waitUntilAllStream(run.outputs, 120_000);
    console.log(
        `\n[faults] stack ${FAULTS_STACK} deployed with ${run.outputs.replicaEndpoints.length} streaming replicas in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
}
