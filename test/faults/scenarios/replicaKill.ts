/**
 * Fault 1: a replica killed with SIGKILL (as by the OOM killer or a power cut) and started again
 * catches up through its slot: no new base backup, and the rows written while it was down arrive.
 */
import { replicationSlots, waitFor, waitUntilAllStream, withClient } from "../../e2e/support/devCluster";
import { containerLogsSince, killContainer, startContainer } from "../../e2e/support/docker";
import {
    connectAsApp,
    expectNoRowLost,
    names,
    startFault,
    waitForSameRows,
    writeRowsOnPrimary,
} from "../support/faultStack";
import { currentLsn, lsnToBigInt, startReplicationLsns } from "../support/evidence";

const FAULT = "replica-kill";

/** Registers the scenario's tests. */
export function replicaKillScenario(): void {
    describe("fault 1: a replica killed with SIGKILL, then started", () => {
        test("catches up through its slot with no new clone, and no committed row is lost", async () => {
            const { outputs, allReplicas, before } = await startFault(FAULT);
            const replica = outputs.replicaEndpoints[0];
            const container = names.container(replica.name);

            const faultAt = Date.now();
            await killContainer(container);
            // What the user sees: the replica's port refuses connections; the primary keeps its slot, inactive.
            await expect(
                withClient(connectAsApp(outputs, replica), (c) => c.query("SELECT 1")),
            ).rejects.toThrow();
            await waitFor(
                `slot ${replica.slotName} inactive`,
                async () =>
                    (await replicationSlots(outputs))[replica.slotName] === false ? true : undefined,
                60_000,
            );

            const downFrom = await currentLsn(outputs);
            const whileDown = await writeRowsOnPrimary(outputs, FAULT, "while-down", 500);
            await startContainer(container);
            const restartedAt = Date.now();
            await waitUntilAllStream(outputs, 120_000);
            const after = await writeRowsOnPrimary(outputs, FAULT, "after", 200);
            const primary = await waitForSameRows(outputs, FAULT, allReplicas);
            console.log(
                `[faults] replica-kill: ${replica.name} streaming again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after docker start`,
            );

            const acknowledged = [...before, ...whileDown, ...after];
            expect(primary.rows).toBe(acknowledged.length);
            await expectNoRowLost(outputs, acknowledged);

            // No new base backup: the role script kept the data directory, and the primary served no
            // BASE_BACKUP; the replica asked to stream from where it had replayed, not from a new start.
            const replicaLog = await containerLogsSince(container, faultAt);
            expect(replicaLog).toContain("starting replica, streaming from");
            expect(replicaLog).not.toContain("cloning from");
            const primaryLog = await containerLogsSince(names.container("primary"), faultAt);
            expect(primaryLog).not.toContain("BASE_BACKUP");
            // It asked for WAL from before the rows written while it was down: the slot had kept them.
            const resumedAt = startReplicationLsns(primaryLog, replica.slotName);
            expect(resumedAt.length).toBeGreaterThan(0);
            expect(lsnToBigInt(resumedAt[0])).toBeLessThanOrEqual(lsnToBigInt(downFrom));
        }, 300_000);
    });
}
