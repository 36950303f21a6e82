/** Section 5: full backup and restore of a fixed pgbench data set, with the project's own tools. */
import Docker from "dockerode";
import { appTarget, BENCH_OUTPUTS, BENCH_PREFIX, benchSecrets, monitorTarget, pgClient } from "../cluster";
import { initPgbench } from "../pgbench";
import type { BenchPlan } from "../plan";
import { jsonOutput, runNpmScript } from "../proc";
import { median, ratio } from "../stats";
import type { BackupResult } from "../types";
import { redact } from "../../verify/redact";
import type { ClusterOutputs } from "../../verify/outputs";

/** Sum of pg_database_size over the cluster's databases, in MB (10^6 bytes). */
async function clusterSizeMB(outputs: ClusterOutputs): Promise<number> {
    const client = pgClient(monitorTarget(outputs, outputs.primaryEndpoint), 15000);
    await client.connect();
    try {
        const { rows } = await client.query(
            "SELECT sum(pg_database_size(datname))::float8 AS bytes FROM pg_database WHERE datallowconn",
        );
        return Number(rows[0].bytes) / 1e6;
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Removes a restore's container and volume, and only if they are the bench stack's. */
async function removeRestore(container: unknown, volume: unknown): Promise<void> {
    const docker = new Docker();
    if (typeof container === "string" && container.startsWith(BENCH_PREFIX))
        await docker
            .getContainer(container)
            .remove({ force: true, v: true })
            .catch(() => undefined);
    if (typeof volume === "string" && volume.startsWith(BENCH_PREFIX))
        await docker
            .getVolume(volume)
            .remove()
            .catch(() => undefined);
}

/**
 * Loads `pgbench -i -s <plan.backupScale>`, then takes `plan.runs` full backups with
 * `npm run backup -- --type full --json` and makes `plan.runs` restores of the latest state with
 * `npm run restore -- --json`, removing each restored container and volume at once.
 * Seconds are the tools' own; MB/s is the data set's size over those seconds.
 * @throws Error when a backup or a restore fails (its message, secrets removed).
 */
export async function measureBackup(
    outputs: ClusterOutputs,
    plan: BenchPlan,
    log: (msg: string) => void,
): Promise<BackupResult> {
    const secrets = benchSecrets(outputs);
    const initSeconds = await initPgbench(appTarget(outputs, outputs.primaryEndpoint), plan.backupScale);
    const dataSetMB = await clusterSizeMB(outputs);
    log(
        `backup: pgbench -i -s ${plan.backupScale} in ${initSeconds.toFixed(1)} s; cluster size ${dataSetMB.toFixed(0)} MB`,
    );
    const backups: BackupResult["backups"] = [];
    for (let i = 0; i < plan.runs; i++) {
        const run = await runNpmScript(
            "backup",
            ["--outputs", BENCH_OUTPUTS, "--type", "full", "--json"],
            900_000,
        );
        const out = jsonOutput(run.stdout) as
            { ok?: boolean; seconds?: number; label?: string | null } | undefined;
        if (run.code !== 0 || !out?.ok || typeof out.seconds !== "number") {
            throw new Error(
                `npm run backup failed (exit ${run.code}): ${redact(run.stderr.trim().split("\n").slice(-5).join(" | "), secrets)}`,
            );
        }
        backups.push({ seconds: out.seconds, label: out.label ?? null });
        log(`backup ${i + 1}/${plan.runs}: full backup ${out.label} in ${out.seconds.toFixed(1)} s`);
    }
    const restores: BackupResult["restores"] = [];
    for (let i = 0; i < plan.runs; i++) {
        const run = await runNpmScript(
            "restore",
            ["--outputs", BENCH_OUTPUTS, "--json", "--timeout", "600"],
            900_000,
        );
        const out = jsonOutput(run.stdout) as
            { seconds?: number; container?: string; volume?: string; lastTransaction?: string } | undefined;
        await removeRestore(out?.container, out?.volume);
        if (run.code !== 0 || typeof out?.seconds !== "number") {
            throw new Error(
                `npm run restore failed (exit ${run.code}): ${redact(run.stderr.trim().split("\n").slice(-5).join(" | "), secrets)}`,
            );
        }
        restores.push({ seconds: out.seconds, lastTransaction: out.lastTransaction });
        log(`restore ${i + 1}/${plan.runs}: latest state in ${out.seconds.toFixed(1)} s`);
    }
    const backupSeconds = median(backups.map((b) => b.seconds));
    const restoreSeconds = median(restores.map((r) => r.seconds));
    return {
        scale: plan.backupScale,
        initSeconds,
        dataSetMB,
        backups,
        restores,
        median: {
            backupSeconds,
            backupMBps: ratio(dataSetMB, backupSeconds),
            restoreSeconds,
            restoreMBps: ratio(dataSetMB, restoreSeconds),
        },
    };
}
