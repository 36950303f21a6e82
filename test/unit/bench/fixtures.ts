/** A small, complete BenchResults for the report and chart tests. */
import { benchPlan } from "../../../scripts/bench/plan";
import type { LagSample } from "../../../scripts/bench/lagSampler";
import type { BenchResults, LagModeResult, LagRateResult } from "../../../scripts/bench/types";

const summary = (tps: number) => ({ tps, transactions: tps * 10, failed: 0, latencyAvgMs: 4 });

function series(base: number): LagSample[] {
    return [0, 100, 200].map((t, i) => ({
        t,
        replicas: {
            replica_1: { replayMs: base + i, bytes: 100 * i },
            replica_2: { replayMs: base + 2 * i, bytes: 200 * i },
        },
    }));
}

function rate(r: number | null, tps: number, lag: number): LagRateResult {
    return {
        rate: r,
        runs: [],
        median: {
            tps,
            latencyAvgMs: 3.25,
            replicas: {
                replica_1: { p50Ms: lag, p99Ms: lag * 4, maxMs: lag * 5, maxBytes: 2048 },
                replica_2: { p50Ms: lag + 1, p99Ms: lag * 6, maxMs: lag * 7, maxBytes: 3 * 1024 ** 2 },
            },
        },
        series: series(lag),
    };
}

export function lagMode(mode: "async" | "sync", factor: number): LagModeResult {
    return { mode, initSeconds: 5, rates: [rate(100, 100 * factor, 1.5), rate(null, 900 * factor, 12)] };
}

export function results(overrides: Partial<BenchResults> = {}): BenchResults {
    const asyncMode = lagMode("async", 1);
    const syncMode = lagMode("sync", 0.5);
    return {
        schemaVersion: 1,
        mode: "full",
        command: "npm run bench",
        startedAt: "2026-11-23T12:00:00.000Z",
        finishedAt: "2026-11-23T12:15:00.000Z",
        totalSeconds: 900,
        sectionsRun: ["deploy", "lag", "pooling", "backup", "failover"],
        machine: {
            cpus: 2,
            cpuModel: "AMD EPYC",
            memoryGiB: 23.5,
            kernel: "Linux 6.1.0",
            node: "v24.21.0",
            docker: { version: "20.10.24", apiVersion: "1.41", storageDriver: "overlay2" },
            postgres: "PostgreSQL 15.18",
            pgbouncer: "PgBouncer 1.18.0",
            pgbackrest: "pgBackRest 2.45",
            pgbench: "pgbench (PostgreSQL) 15.18",
        },
        conditions: {
            otherContainersAtStart: [],
            otherContainersAtEnd: [],
            otherContainersSeen: [],
            loadAverageAtStart: [0.5, 0.4, 0.3],
            loadAverageAtEnd: [1.5, 1, 0.5],
        },
        plan: benchPlan(false, 2),
        deploy: {
            runs: [
                { upSeconds: 20, verifySeconds: 1.5, totalSeconds: 21.5, verified: true, failedChecks: [] },
                {
                    upSeconds: 22,
                    verifySeconds: 1.5,
                    totalSeconds: 23.5,
                    verified: false,
                    failedChecks: ["lag/replica-2"],
                },
            ],
            medianSeconds: 21.5,
            medianUpSeconds: 20,
            medianVerifySeconds: 1.5,
        },
        lag: {
            async: asyncMode,
            sync: syncMode,
            syncTpsRatio: [
                { rate: 100, ratio: 0.5 },
                { rate: null, ratio: 0.5 },
            ],
        },
        pooling: {
            clients: 50,
            scenarios: [
                {
                    workload: "select-only",
                    connection: "persistent",
                    direct: { runs: [summary(2000)], medianTps: 2000 },
                    pooled: { runs: [summary(1500)], medianTps: 1500 },
                    ratio: 0.75,
                },
                {
                    workload: "read-write",
                    connection: "per-transaction",
                    direct: { runs: [summary(40)], medianTps: 40 },
                    pooled: { runs: [summary(60)], medianTps: 60 },
                    ratio: 1.5,
                },
            ],
        },
        backup: {
            scale: 20,
            initSeconds: 25,
            dataSetMB: 320,
            backups: [{ seconds: 10, label: "20261123-120807F" }],
            restores: [{ seconds: 16 }],
            median: { backupSeconds: 10, backupMBps: 32, restoreSeconds: 16, restoreMBps: 20 },
        },
        failover: { skipped: "npm run failover not available" },
        ...overrides,
    };
}
