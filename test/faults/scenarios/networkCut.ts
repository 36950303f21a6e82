/**
 * Fault 2: a replica cut off from the cluster network (`docker network disconnect`).
 * - Cut off for a while, then reconnected: it catches up through its slot, no new clone.
 * - Cut off while the primary writes more WAL than `max_slot_wal_keep_size`: the primary does not
 *   keep more than that bound for it, the slot becomes `lost`, `npm run verify` fails naming the
 *   replica and its slot, and `npm run rejoin -- --reclone` clones the replica again in one command.
 */
import { waitFor, waitUntilAllStream, withClient } from "../../e2e/support/devCluster";
import {
    containerLogsSince,
    disconnectFromNetwork,
    psqlAsPostgres,
    restartContainer,
} from "../../e2e/support/docker";
import {
    connectAsApp,
    failures,
    FAULTS_CONFIG,
    faultsOutputs,
    generateWal,
    expectNoRowLost,
    missingIds,
    names,
    OUTPUTS_PATH,
    runTool,
    startFault,
    verifyFaults,
    waitForSameRows,
    writeRowsOnPrimary,
} from "../support/faultStack";
import { slotWal, walKeptBytes } from "../support/evidence";

const MB = 1024 * 1024;
/** The slot bound the stack was deployed with (`pgha:maxSlotWalKeepSizeMb`). */
const BOUND = FAULTS_CONFIG["pgha:maxSlotWalKeepSizeMb"] * MB;
/** How long a checkpoint may wait for a cut-off replica's walsender (a TCP timeout, at most wal_sender_timeout). */
const CHECKPOINT_BOUND_MS = 90_000;
/** How long a short cut lasts: long enough for the primary to write while the replica is away. */
const SHORT_CUT_MS = 10_000;

/** Whether `work` settles within `ms` (it goes on in the background if not). */
async function finishesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
        return await Promise.race([work.then(() => true as const), timedOut]);
    } finally {
        clearTimeout(timer);
    }
}

/** Registers the reconnect-and-catch-up scenario. */
export function networkCutScenario(): void {
    describe("fault 2a: a replica cut off the network for a while, then reconnected", () => {
        test("catches up through its slot with no new clone, and no committed row is lost", async () => {
            const fault = "network-cut";
            const { outputs, allReplicas, before } = await startFault(fault);
            const replica = outputs.replicaEndpoints[0];
            const container = names.container(replica.name);
            const cutAt = Date.now();
            const reconnect = await disconnectFromNetwork(container, names.network);
            let during: number[] = [];
            try {
                // What the user sees: the replica's published port no longer answers.
                await expect(
                    withClient(connectAsApp(outputs, replica), (c) => c.query("SELECT 1")),
                ).rejects.toThrow();
                during = await writeRowsOnPrimary(outputs, fault, "while-cut-off", 500);
                // The slot holds the WAL the replica has not received (well inside the bound).
                const slot = await slotWal(outputs, replica.slotName);
                expect(slot?.walStatus).toBe("reserved");
                expect(slot?.retainedBytes).toBeGreaterThan(0);
                await new Promise((r) => setTimeout(r, Math.max(0, SHORT_CUT_MS - (Date.now() - cutAt))));
            } finally {
                await reconnect();
            }
            const reconnectedAt = Date.now();
            // A cut TCP connection is noticed by timeouts (wal_sender_timeout / wal_receiver_timeout, 60 s each).
            await waitUntilAllStream(outputs, 180_000);
            const after = await writeRowsOnPrimary(outputs, fault, "after", 200);
            const primary = await waitForSameRows(outputs, fault, allReplicas);
            console.log(
                `[faults] network-cut: ${replica.name} streaming again ${((Date.now() - reconnectedAt) / 1000).toFixed(1)} s after reconnecting`,
            );

            const acknowledged = [...before, ...during, ...after];
            expect(primary.rows).toBe(acknowledged.length);
            await expectNoRowLost(outputs, acknowledged);
            expect(await containerLogsSince(container, cutAt)).not.toContain("cloning from");
            expect(await containerLogsSince(names.container("primary"), cutAt)).not.toContain("BASE_BACKUP");
        }, 400_000);
    });
}

/** Registers the lost-slot scenario; it leaves the replica re-cloned (or, without rejoin, broken), so it runs last. */
export function lostSlotScenario(): void {
    describe("fault 2b: a replica cut off while the primary writes more than max_slot_wal_keep_size", () => {
        const fault = "lost-slot";
        let acknowledged: number[] = [];

        test("the primary keeps no more WAL than the bound, the slot is lost, and verify names the replica and its slot", async () => {
            const outputs = faultsOutputs();
            await waitUntilAllStream(outputs, 120_000);
            const replica = outputs.replicaEndpoints[0];
            const container = names.container(replica.name);
            acknowledged = await writeRowsOnPrimary(outputs, fault, "before", 200);
            await waitForSameRows(
                outputs,
                fault,
                outputs.replicaEndpoints.map((r) => r.name),
            );

            const reconnect = await disconnectFromNetwork(container, names.network);
            let checkpointStuck = false;
            try {
                acknowledged.push(...(await writeRowsOnPrimary(outputs, fault, "while-cut-off", 500)));
                const written = await generateWal(outputs, BOUND + 48 * MB);
                // Past the bound the slot no longer reserves its WAL: the next checkpoint may remove it.
                const unreserved = await slotWal(outputs, replica.slotName);
                expect(["unreserved", "lost"]).toContain(unreserved?.walStatus);
                // PostgreSQL removes WAL and invalidates the slot at a checkpoint (every checkpoint_timeout,
                // 5 min): run that checkpoint now instead of waiting for it. It must not wait for the
                // cut-off replica longer than a timeout does.
                checkpointStuck = !(await finishesWithin(
                    psqlAsPostgres(names.container("primary"), "CHECKPOINT"),
                    CHECKPOINT_BOUND_MS,
                ));
                if (checkpointStuck) {
                    const waits = await psqlAsPostgres(
                        names.container("primary"),
                        "SELECT string_agg(backend_type || ' ' || coalesce(wait_event, '-'), ', ') FROM pg_stat_activity WHERE backend_type IN ('walsender', 'checkpointer')",
                    );
                    throw new Error(
                        `CHECKPOINT did not finish within ${CHECKPOINT_BOUND_MS / 1000} s while ${replica.name} was cut off (${waits}): ` +
                            `the checkpointer waits for the walsender of ${replica.slotName} to release the slot, and that walsender is blocked ` +
                            "writing to the unreachable replica until the kernel gives up on the TCP connection (about 15 min). Until then " +
                            "max_slot_wal_keep_size bounds nothing and no checkpoint, base backup or re-clone completes. " +
                            "Fix: tcp_user_timeout (e.g. '30s') in the rendered postgresql.conf.",
                    );
                }
                const lost = await waitFor(
                    `slot ${replica.slotName} lost`,
                    async () => {
                        const s = await slotWal(outputs, replica.slotName);
                        return s?.walStatus === "lost" ? s : undefined;
                    },
                    60_000,
                );
                expect(lost.retainedBytes).toBeNull();
                // The primary's pg_wal reaches back less than the bound plus two segments, although
                // the replica missed `written` bytes.
                const kept = await walKeptBytes(outputs);
                console.log(
                    `[faults] lost-slot: wrote ${(written / MB).toFixed(0)} MB of WAL while ${replica.name} was cut off; the primary keeps ${(kept / MB).toFixed(0)} MB (bound ${BOUND / MB} MB)`,
                );
                expect(written).toBeGreaterThan(BOUND);
                expect(kept).toBeLessThanOrEqual(BOUND + 32 * MB);
                expect(kept).toBeLessThan(written);
            } finally {
                await reconnect();
                // Only after a failure above: restart the primary so the hung walsender goes and the
                // scenarios after this one find a working cluster (the shutdown checkpoint then drops the slot's WAL).
                if (checkpointStuck) await restartContainer(names.container("primary"));
            }
            acknowledged.push(...(await writeRowsOnPrimary(outputs, fault, "after", 200)));

            // What the user sees: verify exits 1 and names the replica and its slot.
            const report = await waitFor(
                "verify to report the lost slot",
                async () => {
                    const r = await verifyFaults();
                    return r.checks.some(
                        (c) => c.check === "slots" && c.node === replica.name && c.status === "FAIL",
                    )
                        ? r
                        : undefined;
                },
                60_000,
                2000,
            );
            expect(report.code).toBe(1);
            const slotFailure = failures(report.checks).find((f) => f.startsWith(`slots/${replica.name}:`));
            expect(slotFailure).toContain(replica.slotName);
            expect(slotFailure).toContain("lost");
        }, 400_000);

        test("`npm run rejoin -- --node <replica> --reclone` clones it again in one command; every row is there", async () => {
            const outputs = faultsOutputs();
            const replica = outputs.replicaEndpoints[0];
            const container = names.container(replica.name);
            const rejoinAt = Date.now();
            const run = await runTool(
                "rejoin.ts",
                ["--outputs", OUTPUTS_PATH, "--node", replica.name, "--reclone"],
                600_000,
            );
            expect({ code: run.code, stderr: run.stderr.slice(-2000) }).toEqual({
                code: 0,
                stderr: expect.any(String),
            });
            console.log(`[faults] lost-slot: npm run rejoin --reclone took ${run.seconds.toFixed(1)} s`);
            await waitUntilAllStream(outputs, 180_000);
            acknowledged.push(...(await writeRowsOnPrimary(outputs, fault, "after-rejoin", 200)));
            const primary = await waitForSameRows(
                outputs,
                fault,
                outputs.replicaEndpoints.map((r) => r.name),
            );
            expect(primary.rows).toBe(acknowledged.length);
            expect(await missingIds(outputs, replica, acknowledged)).toEqual([]);
            // It was a new clone, through a new slot.
            expect(await containerLogsSince(container, rejoinAt)).toContain("cloning from");
            expect(await containerLogsSince(names.container("primary"), rejoinAt)).toContain("BASE_BACKUP");
            const verify = await verifyFaults();
            expect({ code: verify.code, failures: failures(verify.checks) }).toEqual({
                code: 0,
                failures: [],
            });
        }, 700_000);
    });
}
