/**
 * Fault 5: the data volume of a replica fills up (a small ext4 file system of its own, see
 * smallDisk.ts, filled by a helper container). The primary keeps accepting writes at once; the
 * replica stops replaying and is reported; once space is freed it catches up through its slot.
 */
import { connectAsMonitor, waitFor, waitUntilAllStream, withClient } from "../../e2e/support/devCluster";
import { containerLogsSince } from "../../e2e/support/docker";
import {
    endpointOf,
    failures,
    generateWal,
    HELPER_IMAGE,
    expectNoRowLost,
    missingIds,
    names,
    SMALL_DISK_REPLICA,
    startFault,
    verifyFaults,
    waitForSameRows,
    writeRowsOnPrimary,
} from "../support/faultStack";
import { fillVolume, freeBytes, freeVolume } from "../support/smallDisk";

const FAULT = "replica-disk-full";
const MB = 1024 * 1024;
/** A write on the primary must not wait for the replica: each batch commits well within this. */
const WRITE_BOUND_MS = 10_000;

/** Registers the scenario's tests. */
export function replicaDiskFullScenario(): void {
    describe("fault 5: a replica's data volume is full", () => {
        const volume = names.dataVolume(SMALL_DISK_REPLICA);

        afterAll(async () => {
            await freeVolume(volume, HELPER_IMAGE);
        });

        test("the primary keeps accepting writes, the replica is reported, and it catches up once space is freed", async () => {
            const { outputs, allReplicas, before } = await startFault(FAULT);
            const replica = endpointOf(
                outputs,
                SMALL_DISK_REPLICA,
            ) as (typeof outputs.replicaEndpoints)[number];
            const container = names.container(SMALL_DISK_REPLICA);

            const fullAt = Date.now();
            await fillVolume(volume, HELPER_IMAGE);
            expect(await freeBytes(volume, HELPER_IMAGE)).toBeLessThan(MB);

            // Writes on the primary: rows, and enough WAL (below the slot bound) to need new WAL
            // segments and new table pages on the replica. Each batch is acknowledged promptly.
            const during: number[] = [];
            for (let batch = 0; batch < 5; batch++) {
                const started = Date.now();
                during.push(...(await writeRowsOnPrimary(outputs, FAULT, `while-full-${batch}`, 100)));
                await generateWal(outputs, 8 * MB);
                expect(Date.now() - started).toBeLessThan(WRITE_BOUND_MS);
            }
            expect(await missingIds(outputs, outputs.primaryEndpoint, during)).toEqual([]);

            // What the user sees: the replica no longer replays (its log says why), and verify fails naming it.
            await waitFor(
                `${SMALL_DISK_REPLICA} to hit the full disk`,
                async () =>
                    (await containerLogsSince(container, fullAt)).includes("No space left on device")
                        ? true
                        : undefined,
                120_000,
                1000,
            );
            const report = await waitFor(
                "verify to report the replica",
                async () => {
                    const r = await verifyFaults();
                    return r.code !== 0 &&
                        failures(r.checks).some((f) => f.includes(`/${SMALL_DISK_REPLICA}:`))
                        ? r
                        : undefined;
                },
                120_000,
                2000,
            );
            expect(report.code).toBe(1);
            console.log(
                `[faults] replica-disk-full: verify reports ${failures(report.checks)
                    .filter((f) => f.includes(SMALL_DISK_REPLICA))
                    .join(" | ")}`,
            );
            // Only that replica: the primary and the other replica pass.
            expect(
                failures(report.checks).filter(
                    (f) => !f.includes(`/${SMALL_DISK_REPLICA}:`) && !f.startsWith("pgbouncer/"),
                ),
            ).toEqual([]);
            // Its slot still holds what it has not replayed: nothing is lost on the way.
            const slot = await withClient(
                connectAsMonitor(outputs, outputs.primaryEndpoint),
                async (c) =>
                    (
                        await c.query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", [
                            replica.slotName,
                        ])
                    ).rows[0],
            );
            expect(slot.wal_status).not.toBe("lost");

            await freeVolume(volume, HELPER_IMAGE);
            const freedAt = Date.now();
            await waitUntilAllStream(outputs, 240_000);
            const after = await writeRowsOnPrimary(outputs, FAULT, "after", 200);
            const primary = await waitForSameRows(outputs, FAULT, allReplicas, 240_000);
            console.log(
                `[faults] replica-disk-full: ${SMALL_DISK_REPLICA} caught up ${((Date.now() - freedAt) / 1000).toFixed(1)} s after space was freed`,
            );
            const acknowledged = [...before, ...during, ...after];
            expect(primary.rows).toBe(acknowledged.length);
            await expectNoRowLost(outputs, acknowledged);
            expect(await containerLogsSince(container, fullAt)).not.toContain("cloning from");
        }, 600_000);
    });
}
