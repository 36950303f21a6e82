/**
 * Fault 3: the primary killed with SIGKILL under a write load, then started again (`docker start`):
 * crash recovery keeps every row the primary acknowledged, and the replicas reconnect and stream.
 */
import { Client } from "pg";
import { waitFor, waitUntilAllStream, withClient } from "../../e2e/support/devCluster";
import { killContainer, startContainer } from "../../e2e/support/docker";
import {
    connectAsApp,
    expectNoRowLost,
    missingIds,
    names,
    startFault,
    waitForSameRows,
    writeRows,
    writeRowsOnPrimary,
} from "../support/faultStack";

const FAULT = "primary-kill";

/** A client writing one row per transaction until it fails; keeps the ids the server acknowledged. */
function writeUntilFailure(client: Client): { acknowledged: number[]; done: Promise<Error> } {
    const acknowledged: number[] = [];
    const done = (async () => {
        for (;;) {
            try {
                acknowledged.push(...(await writeRows(client, FAULT, "under-load", 1)));
            } catch (err) {
                return err as Error;
            }
        }
    })();
    return { acknowledged, done };
}

/** Registers the scenario's tests. */
export function primaryKillScenario(): void {
    describe("fault 3: the primary killed with SIGKILL under writes, then started", () => {
        test("loses no acknowledged row, and the replicas reconnect and stream", async () => {
            const { outputs, allReplicas, before } = await startFault(FAULT);

            const writer = await connectAsApp(outputs, outputs.primaryEndpoint);
            writer.on("error", () => undefined);
            const load = writeUntilFailure(writer);
            await waitFor(
                "the write load to commit 100 rows",
                async () => (load.acknowledged.length >= 100 ? true : undefined),
                60_000,
                100,
            );
            await killContainer(names.container("primary"));
            // What the user sees: the open session fails, and new connections are refused.
            const error = await load.done;
            await writer.end().catch(() => undefined);
            expect(error.message).toMatch(/terminat|ECONNRESET|Connection|closed|EPIPE/i);
            await expect(
                withClient(connectAsApp(outputs, outputs.primaryEndpoint), (c) => c.query("SELECT 1")),
            ).rejects.toThrow();
            const underLoad = [...load.acknowledged];

            await startContainer(names.container("primary"));
            const startedAt = Date.now();
            const afterStart = await waitFor(
                "the primary to accept writes again",
                () => writeRowsOnPrimary(outputs, FAULT, "after", 200),
                180_000,
                500,
            );
            console.log(
                `[faults] primary-kill: ${underLoad.length} rows acknowledged under load before the kill; writes accepted ${((Date.now() - startedAt) / 1000).toFixed(1)} s after docker start`,
            );
            expect(await missingIds(outputs, outputs.primaryEndpoint, [...before, ...underLoad])).toEqual([]);

            await waitUntilAllStream(outputs, 180_000);
            const primary = await waitForSameRows(outputs, FAULT, allReplicas);
            // A row whose commit the kill interrupted may or may not be there; every acknowledged one is.
            const acknowledged = [...before, ...underLoad, ...afterStart];
            expect(primary.rows).toBeGreaterThanOrEqual(acknowledged.length);
            expect(primary.rows).toBeLessThanOrEqual(acknowledged.length + 1);
            await expectNoRowLost(outputs, acknowledged);
        }, 400_000);
    });
}
