/** The shape of bench/results.json: every figure `npm run bench` measured, and under which conditions. */
import type { ReplicaLagSummary, LagSample } from "./lagSampler";
import type { PgbenchSummary } from "./pgbench";
import type { BenchPlan, Rate, Section } from "./plan";

/** A section that did not run, and why (e.g. the failover CLI is not in the repository yet). */
export interface Skipped {
    skipped: string;
}

/** A section that broke: the error, without any secret. */
export interface Failed {
    error: string;
}

/** The machine and the software measured. */
export interface MachineFacts {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    /** `os.type() os.release()`, e.g. `Linux 6.1.0`. */
    kernel: string;
    node: string;
    /** Docker engine version, storage driver and what the engine sees. */
    docker: {
        version: string;
        apiVersion: string;
        storageDriver?: string;
        cpus?: number;
        memoryGiB?: number;
    };
    /** `SELECT version()` on the primary. */
    postgres?: string;
    /** `pgbouncer --version` in the PgBouncer container. */
    pgbouncer?: string;
    /** `pgbackrest version` in the backup container. */
    pgbackrest?: string;
    /** `pgbench --version` on the host. */
    pgbench?: string;
    /** `gnuplot --version` on the host. */
    gnuplot?: string;
}

/** What else ran on the machine: figures taken beside other stacks or a busy CPU are noisy. */
export interface Conditions {
    /** Running containers other than the bench stack's (other pgha stacks, other tests) at start and at end. */
    otherContainersAtStart: string[];
    otherContainersAtEnd: string[];
    /** Every other container seen running during the bench (listed every 5 s), with when. */
    otherContainersSeen: ContainerSighting[];
    /** 1, 5 and 15 minute load averages, at start and at end. */
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
}

/** A container of someone else's seen running during the bench, in seconds since the bench started. */
export interface ContainerSighting {
    name: string;
    firstSeenSeconds: number;
    lastSeenSeconds: number;
}

/** One deploy from nothing to a verified cluster. */
export interface DeployRun {
    /** The `pulumi up` (e2e engine) seconds. */
    upSeconds: number;
    /** `scripts/verify-replication.ts` seconds (a process of its own, start-up included). */
    verifySeconds: number;
    /** up + verify. */
    totalSeconds: number;
    /** verify exited 0. */
    verified: boolean;
    /** Checks that failed, if any. */
    failedChecks: string[];
}

/** Section 1: deploy time. */
export interface DeployResult {
    runs: DeployRun[];
    medianSeconds?: number;
    medianUpSeconds?: number;
    medianVerifySeconds?: number;
}

/** One pgbench run at a fixed rate with lag sampled. */
export interface LagRun {
    pgbench: PgbenchSummary;
    /** Samples taken, and samples whose query failed. */
    samples: number;
    sampleErrors: number;
    replicas: Record<string, ReplicaLagSummary>;
}

/** Median over runs of one replica's lag figures. */
export interface ReplicaLagMedians {
    p50Ms?: number;
    p99Ms?: number;
    maxMs?: number;
    maxBytes?: number;
}

/** All runs at one rate, and their medians. */
export interface LagRateResult {
    rate: Rate;
    runs: LagRun[];
    median: { tps?: number; latencyAvgMs?: number; replicas: Record<string, ReplicaLagMedians> };
    /** The first run's samples, for the chart. */
    series: LagSample[];
}

/** Section 2, one replication mode. */
export interface LagModeResult {
    mode: "async" | "sync";
    /** `pgbench -i` seconds of the data set. */
    initSeconds: number;
    rates: LagRateResult[];
}

/** Section 2: lag under load in both modes, and what synchronous mode costs. */
export interface LagResult {
    async?: LagModeResult | Failed;
    sync?: LagModeResult | Failed;
    /** Per rate: median TPS in sync mode divided by median TPS in async mode (1 = no cost). */
    syncTpsRatio: { rate: Rate; ratio?: number }[];
}

/** One pgbench workload, through PgBouncer and direct. */
export interface PoolingScenario {
    workload: "select-only" | "read-write";
    connection: "persistent" | "per-transaction";
    direct: { runs: PgbenchSummary[]; medianTps?: number; medianLatencyMs?: number };
    pooled: { runs: PgbenchSummary[]; medianTps?: number; medianLatencyMs?: number };
    /** Median pooled TPS / median direct TPS. */
    ratio?: number;
}

/** Section 3: PgBouncer against direct connections. */
export interface PoolingResult {
    clients: number;
    scenarios: PoolingScenario[];
}

/** Section 5: backup and restore of a fixed data set. */
export interface BackupResult {
    scale: number;
    /** `pgbench -i` seconds. */
    initSeconds: number;
    /** Sum of pg_database_size over the cluster's databases, in MB (10^6 bytes). */
    dataSetMB: number;
    backups: { seconds: number; label: string | null }[];
    restores: { seconds: number; lastTransaction?: string }[];
    median: { backupSeconds?: number; backupMBps?: number; restoreSeconds?: number; restoreMBps?: number };
}

/** One failover: the primary killed, `npm run failover`, a write through PgBouncer. */
export interface FailoverRun {
    /** From `docker kill` of the primary to the first write accepted through PgBouncer's rw entry. */
    secondsToWrite?: number;
    /** The failover CLI's own wall-clock seconds and exit code (none when the run broke before it). */
    cliSeconds?: number;
    cliExitCode: number | null;
    /** The CLI's own timings from its `--json` output (fencedMs, promotedMs, writesAcceptedMs, ...). */
    cliTimings?: Record<string, number>;
    /** The CLI's `--json` output, secrets removed. */
    cliOutput?: Record<string, unknown>;
    error?: string;
}

/** Section 4: failover. */
export interface FailoverResult {
    runs: FailoverRun[];
    medianSecondsToWrite?: number;
    medianCliSeconds?: number;
}

/** bench/results.json. */
export interface BenchResults {
    schemaVersion: 1;
    mode: "full" | "quick";
    command: string;
    /** The commit measured (`<sha> + uncommitted changes` if the work tree differed from it). */
    commit?: string;
    startedAt: string;
    finishedAt: string;
    totalSeconds: number;
    sectionsRun: Section[];
    machine?: MachineFacts;
    conditions: Conditions;
    plan: BenchPlan;
    deploy?: DeployResult | Failed;
    lag?: LagResult | Failed;
    pooling?: PoolingResult | Failed;
    backup?: BackupResult | Failed;
    failover?: FailoverResult | Skipped | Failed;
}

/** True when a section result is an error. */
export function isFailed(value: unknown): value is Failed {
    return (
        typeof value === "object" &&
        value !== null &&
        "error" in value &&
        typeof (value as Failed).error === "string"
    );
}

/** True when a section was skipped. */
export function isSkipped(value: unknown): value is Skipped {
    return typeof value === "object" && value !== null && "skipped" in value;
}
