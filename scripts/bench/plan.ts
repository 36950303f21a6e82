/** What the benchmark runs, and for how long: the full plan and the short `--quick` one. */

/** The parts of the benchmark, in the order they run. */
export const SECTIONS = ["deploy", "lag", "pooling", "backup", "failover"] as const;

/** One part of the benchmark. */
export type Section = (typeof SECTIONS)[number];

/** A pgbench target rate in transactions per second; `null` is unthrottled (no `-R`). */
export type Rate = number | null;

/** Durations, repetitions and sizes of one benchmark run. */
export interface BenchPlan {
    /** `full` (figures to publish) or `quick` (development: short, one run each). */
    readonly mode: "full" | "quick";
    /** Repetitions of each measurement; figures are their medians. */
    readonly runs: number;
    /** Timed deploys from nothing (each followed by a destroy, but the last). */
    readonly deployRuns: number;
    /** pgbench target rates of the lag measurement. */
    readonly lagRates: readonly Rate[];
    /** Seconds of pgbench per lag measurement. */
    readonly lagSeconds: number;
    /**
     * Seconds of each lag run before sampling starts: pg_stat_replication keeps showing the lag
     * last measured (e.g. during the data load) until new WAL is replayed, so the first samples
     * of a run would describe the previous one.
     */
    readonly lagWarmupSeconds: number;
    /** pgbench clients of the lag measurement (`-c`). */
    readonly lagClients: number;
    /** pgbench scale of the lag and pooling data set (`-i -s`). */
    readonly lagScale: number;
    /** How often replay lag is sampled, in milliseconds. */
    readonly sampleIntervalMs: number;
    /** Seconds of pgbench per pooling measurement. */
    readonly poolingSeconds: number;
    /** pgbench clients of the pooling measurement: many, above PgBouncer's pool size (20). */
    readonly poolingClients: number;
    /** pgbench scale of the backup data set. */
    readonly backupScale: number;
    /** Failovers measured (each on a freshly deployed cluster). */
    readonly failoverRuns: number;
    /** Longest wait for a write to be accepted after the primary is killed, in seconds. */
    readonly failoverTimeoutSeconds: number;
    /** pgbench worker threads (`-j`): the machine's cores, at most 4. */
    readonly threads: number;
}

/** The plan of `npm run bench` (`quick` false: about 15 minutes on 2 cores) or `npm run bench -- --quick`. */
export function benchPlan(quick: boolean, cores: number): BenchPlan {
    const threads = Math.max(1, Math.min(4, cores));
    const common = {
        lagRates: [100, 500, 1000, null],
        lagClients: 8,
        lagWarmupSeconds: 1,
        sampleIntervalMs: 100,
        poolingClients: 50,
        failoverTimeoutSeconds: 120,
        threads,
    } as const;
    return quick
        ? {
              ...common,
              mode: "quick",
              runs: 1,
              deployRuns: 1,
              lagSeconds: 5,
              lagScale: 2,
              poolingSeconds: 5,
              backupScale: 2,
              failoverRuns: 1,
          }
        : {
              ...common,
              mode: "full",
              runs: 3,
              deployRuns: 3,
              lagSeconds: 10,
              lagScale: 10,
              poolingSeconds: 7,
              backupScale: 20,
              failoverRuns: 3,
          };
}

/** `100 TPS` or `unthrottled`. */
export function rateLabel(rate: Rate): string {
    return rate === null ? "unthrottled" : `${rate} TPS`;
}
