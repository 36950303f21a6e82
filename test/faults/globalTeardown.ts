/** After the fault suite: destroy the `faults` stack and its small file system, unless PGHA_FAULTS_KEEP=1. */
import { destroyStack } from "../e2e/support/devCluster";
import { FAULTS_STACK, names, SMALL_DISK_REPLICA } from "./support/faultStack";
import { removeSmallVolume } from "./support/smallDisk";

export default async function globalTeardown(): Promise<void> {
    if (process.env.PGHA_FAULTS_KEEP === "1") {
        console.log(
            "[faults] PGHA_FAULTS_KEEP=1: the faults stack is left running (.e2e/faults-outputs.json)",
        );
        return;
    }
    await destroyStack(FAULTS_STACK);
    await removeSmallVolume(names.dataVolume(SMALL_DISK_REPLICA));
}
