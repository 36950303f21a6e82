/**
 * Fault 4: PgBouncer restarted. Sessions through it break; new connections through its published
 * port succeed again, for the read-write and the read-only entry, within a bounded time.
 */
import { waitFor, waitUntilAllStream, withClient } from "../../e2e/support/devCluster";
import { restartContainer } from "../../e2e/support/docker";
import {
    connectAsApp,
    expectNoRowLost,
    faultsOutputs,
    names,
    waitForSameRows,
    writeRows,
} from "../support/faultStack";

const FAULT = "pgbouncer-restart";
/** How long clients may take to get through again after the restart began. */
const RECONNECT_BOUND_MS = 30_000;

/** Registers the scenario's tests. */
export function pgbouncerRestartScenario(): void {
    describe("fault 4: PgBouncer restarted", () => {
        test("new rw and ro connections through its port succeed within 30 s; no committed row is lost", async () => {
            const outputs = faultsOutputs();
            await waitUntilAllStream(outputs, 120_000);
            const allReplicas = outputs.replicaEndpoints.map((r) => r.name);
            const bouncer = outputs.pgbouncerEndpoint;
            const before = await withClient(connectAsApp(outputs, bouncer), (c) =>
                writeRows(c, FAULT, "before", 200),
            );

            const open = await connectAsApp(outputs, bouncer);
            open.on("error", () => undefined);
            await open.query("SELECT 1");
            const restartAt = Date.now();
            await restartContainer(names.container("pgbouncer"));
            // What the user sees: a session open across the restart fails on its next statement.
            await expect(open.query("SELECT 1")).rejects.toThrow();
            await open.end().catch(() => undefined);

            const rw = await waitFor(
                "a read-write connection through PgBouncer",
                () =>
                    withClient(connectAsApp(outputs, bouncer), async (c) =>
                        (await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r === false
                            ? Date.now() - restartAt
                            : undefined,
                    ),
                RECONNECT_BOUND_MS,
                250,
            );
            const ro = await waitFor(
                "a read-only connection through PgBouncer",
                () =>
                    withClient(connectAsApp(outputs, bouncer, outputs.readOnlyDatabaseName), async (c) =>
                        (await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r === true
                            ? Date.now() - restartAt
                            : undefined,
                    ),
                RECONNECT_BOUND_MS,
                250,
            );
            console.log(
                `[faults] pgbouncer-restart: rw back after ${(rw / 1000).toFixed(1)} s, ro after ${(ro / 1000).toFixed(1)} s`,
            );

            const after = await withClient(connectAsApp(outputs, bouncer), (c) =>
                writeRows(c, FAULT, "after", 200),
            );
            const primary = await waitForSameRows(outputs, FAULT, allReplicas);
            const acknowledged = [...before, ...after];
            expect(primary.rows).toBe(acknowledged.length);
            await expectNoRowLost(outputs, acknowledged);
        }, 300_000);
    });
}
