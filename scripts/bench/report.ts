/** Renders bench/report.md from the results: figures only, no verdicts on timings. */
import { rateLabel } from "./plan";
import {
    BenchResults,
    ContainerSighting,
    Failed,
    isFailed,
    isSkipped,
    LagModeResult,
    Skipped,
} from "./types";

/** A number with `digits` decimals, or `–` when there is none. */
export function num(value: number | undefined | null, digits = 1): string {
    return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** Bytes as kB/MB (1024-based, as PostgreSQL prints them). */
export function bytes(value: number | undefined): string {
    if (value === undefined) return "–";
    if (value < 1024) return `${value.toFixed(0)} B`;
    if (value < 1024 ** 2) return `${(value / 1024).toFixed(0)} kB`;
    return `${(value / 1024 ** 2).toFixed(1)} MB`;
}

function table(header: string[], rows: string[][]): string {
    return [
        `| ${header.join(" | ")} |`,
        `| ${header.map(() => "---").join(" | ")} |`,
        ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n");
}

function notMeasured(value: Failed | Skipped): string {
    return isSkipped(value)
        ? `Skipped: ${value.skipped}.`
        : `Not measured: the section failed: ${(value as Failed).error}`;
}

/** `mm:ss`. */
function clock(seconds: number): string {
    return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(Math.round(seconds % 60)).padStart(2, "0")}`;
}

/** Other pgha stacks among the sightings (`pgha-<stack>-<node>` → `pgha-<stack>`), with when they ran. */
export function stacksSeen(
    seen: readonly ContainerSighting[],
): { stack: string; containers: number; fromSeconds: number; toSeconds: number }[] {
    const byStack = new Map<
        string,
        { stack: string; containers: number; fromSeconds: number; toSeconds: number }
    >();
    for (const s of seen) {
        const m = /^(pgha-[^-]+)-/.exec(s.name);
        if (!m) continue;
        const entry = byStack.get(m[1]) ?? {
            stack: m[1],
            containers: 0,
            fromSeconds: s.firstSeenSeconds,
            toSeconds: s.lastSeenSeconds,
        };
        entry.containers++;
        entry.fromSeconds = Math.min(entry.fromSeconds, s.firstSeenSeconds);
        entry.toSeconds = Math.max(entry.toSeconds, s.lastSeenSeconds);
        byStack.set(m[1], entry);
    }
    return [...byStack.values()].sort((a, b) => a.stack.localeCompare(b.stack));
}

function conditionsSection(r: BenchResults): string {
    const m = r.machine;
    const lines = [
        "## Conditions",
        "",
        m
            ? table(
                  ["what", "value"],
                  [
                      ["CPU", `${m.cpus} × ${m.cpuModel}`],
                      ["memory", `${m.memoryGiB} GiB`],
                      ["kernel", m.kernel],
                      [
                          "Docker",
                          `${m.docker.version} (API ${m.docker.apiVersion}, ${m.docker.storageDriver ?? "?"} storage)`,
                      ],
                      ["PostgreSQL", m.postgres ?? "?"],
                      ["PgBouncer", m.pgbouncer ?? "?"],
                      ["pgBackRest", m.pgbackrest ?? "?"],
                      ["pgbench", m.pgbench ?? "?"],
                      ["Node.js", m.node],
                  ],
              )
            : "Machine facts were not collected (no cluster came up).",
        "",
        `Load average (1, 5, 15 min): ${r.conditions.loadAverageAtStart.join(", ")} at start, ${r.conditions.loadAverageAtEnd.join(", ")} at end.`,
    ];
    const seen = r.conditions.otherContainersSeen ?? [];
    const others = [
        ...new Set([
            ...r.conditions.otherContainersAtStart,
            ...r.conditions.otherContainersAtEnd,
            ...seen.map((s) => s.name),
        ]),
    ].sort();
    const stacks = stacksSeen(seen);
    if (others.length === 0) {
        lines.push("", "No other container ran on the Docker engine during the run (listed every 5 s).");
    } else {
        lines.push(
            "",
            `Other containers on the Docker engine during the run (listed every 5 s): ${others.length}.`,
        );
        if (stacks.length > 0) {
            lines.push(
                "",
                ...stacks.map(
                    (s) =>
                        `- other pgha stack \`${s.stack}\` (${s.containers} containers) from ${clock(s.fromSeconds)} to ${clock(s.toSeconds)} into the run`,
                ),
            );
        }
    }
    const otherPgha = others.some((n) => n.startsWith("pgha-"));
    if (otherPgha || r.mode === "quick") {
        lines.push(
            "",
            `> **Noisy figures.** ${r.mode === "quick" ? "This is a `--quick` run (short, one run each). " : ""}${otherPgha ? `Other pgha stacks shared this machine's ${r.machine?.cpus ?? ""} cores during the run. ` : ""}Redo \`npm run bench\` on a quiet machine before quoting these figures.`,
        );
    }
    return lines.join("\n");
}

function deploySection(r: BenchResults): string {
    const head = "## 1. Deploy: from nothing to a verified cluster";
    if (!r.deploy) return `${head}\n\nNot run.`;
    if (isFailed(r.deploy)) return `${head}\n\n${notMeasured(r.deploy)}`;
    const d = r.deploy;
    return [
        head,
        "",
        `Median **${num(d.medianSeconds)} s** (\`pulumi up\` through the e2e engine ${num(d.medianUpSeconds)} s + \`verify-replication\` ${num(d.medianVerifySeconds)} s), 2 replicas streaming, node image already built.`,
        "",
        table(
            ["run", "up (s)", "verify (s)", "total (s)", "verified"],
            d.runs.map((run, i) => [
                String(i + 1),
                num(run.upSeconds),
                num(run.verifySeconds),
                num(run.totalSeconds),
                run.verified ? "yes" : `no (${run.failedChecks.join(", ")})`,
            ]),
        ),
    ].join("\n");
}

function lagTable(mode: LagModeResult): string {
    const replicas = Object.keys(mode.rates[0]?.median.replicas ?? {});
    const header = [
        "target rate",
        "TPS",
        "latency avg (ms)",
        ...replicas.map((n) => `${n} lag p50 / p99 / max (ms)`),
        "max WAL behind",
    ];
    const rows = mode.rates.map((rate) => [
        rateLabel(rate.rate),
        num(rate.median.tps, 0),
        num(rate.median.latencyAvgMs, 1),
        ...replicas.map((n) => {
            const m = rate.median.replicas[n];
            return `${num(m?.p50Ms)} / ${num(m?.p99Ms)} / ${num(m?.maxMs)}`;
        }),
        bytes(Math.max(...replicas.map((n) => rate.median.replicas[n]?.maxBytes ?? 0))),
    ]);
    return table(header, rows);
}

function lagSection(r: BenchResults): string {
    const head = "## 2. Replication lag under write load";
    if (!r.lag) return `${head}\n\nNot run.`;
    if (isFailed(r.lag)) return `${head}\n\n${notMeasured(r.lag)}`;
    const p = r.plan;
    const parts = [
        head,
        "",
        `pgbench TPC-B-like read-write, ${p.lagClients} clients, ${p.lagSeconds} s per run, scale ${p.lagScale}, against the primary's published port; replay lag of each replica sampled every ${p.sampleIntervalMs} ms from the primary's \`pg_stat_replication\`. Figures are medians over ${p.runs} run(s) of each run's p50, p99 and max.`,
    ];
    for (const [label, mode] of [
        ["Asynchronous (`synchronousMode=off`)", r.lag.async],
        ["Synchronous (`synchronousMode=any1`)", r.lag.sync],
    ] as const) {
        parts.push("", `### ${label}`, "");
        if (!mode) parts.push("Not run.");
        else if (isFailed(mode)) parts.push(notMeasured(mode));
        else parts.push(lagTable(mode));
    }
    if (r.lag.syncTpsRatio.length > 0) {
        const asyncMode = r.lag.async && !isFailed(r.lag.async) ? r.lag.async : undefined;
        const syncMode = r.lag.sync && !isFailed(r.lag.sync) ? r.lag.sync : undefined;
        parts.push(
            "",
            "### Cost of synchronous mode",
            "",
            table(
                ["target rate", "async TPS", "sync TPS", "sync / async"],
                r.lag.syncTpsRatio.map((row) => [
                    rateLabel(row.rate),
                    num(asyncMode?.rates.find((x) => x.rate === row.rate)?.median.tps, 0),
                    num(syncMode?.rates.find((x) => x.rate === row.rate)?.median.tps, 0),
                    num(row.ratio, 2),
                ]),
            ),
        );
    }
    parts.push("", "![replay lag over time](lag.png)");
    return parts.join("\n");
}

function poolingSection(r: BenchResults): string {
    const head = "## 3. PgBouncer against direct connections";
    if (!r.pooling) return `${head}\n\nNot run.`;
    if (isFailed(r.pooling)) return `${head}\n\n${notMeasured(r.pooling)}`;
    const p = r.plan;
    return [
        head,
        "",
        `${r.pooling.clients} clients, ${p.poolingSeconds} s per run, scale ${p.lagScale}; direct = the primary's published port, pooled = PgBouncer's read-write entry (transaction pooling, pool size 20). Medians over ${p.runs} run(s); \`-C\` opens a new connection (SCRAM-SHA-256 authentication included) per transaction.`,
        "",
        table(
            ["workload", "connections", "direct TPS", "pooled TPS", "pooled / direct"],
            r.pooling.scenarios.map((s) => [
                s.workload,
                s.connection === "per-transaction" ? "new per transaction (`-C`)" : "persistent",
                num(s.direct.medianTps, 0),
                num(s.pooled.medianTps, 0),
                num(s.ratio, 2),
            ]),
        ),
    ].join("\n");
}

function failoverSection(r: BenchResults): string {
    const head = "## 4. Failover: from primary loss to a write accepted through PgBouncer";
    if (!r.failover) return `${head}\n\nNot run.`;
    if (isFailed(r.failover) || isSkipped(r.failover)) return `${head}\n\n${notMeasured(r.failover)}`;
    const f = r.failover;
    return [
        head,
        "",
        `\`docker kill\` of the primary, then \`npm run failover -- --outputs .e2e/bench-outputs.json --json\` at once, on a cluster in synchronous mode deployed from nothing for each run; a write is attempted through PgBouncer's read-write entry every 200 ms on a new connection. Median **${num(f.medianSecondsToWrite)} s** to the first accepted write (failover command ${num(f.medianCliSeconds)} s).`,
        "",
        table(
            [
                "run",
                "to first write (s)",
                "failover command (s)",
                "its fenced / promoted / writes accepted (ms)",
                "exit",
                "error",
            ],
            f.runs.map((run, i) => [
                String(i + 1),
                num(run.secondsToWrite),
                num(run.cliSeconds),
                run.cliTimings
                    ? `${num(run.cliTimings.fencedMs, 0)} / ${num(run.cliTimings.promotedMs, 0)} / ${num(run.cliTimings.writesAcceptedMs, 0)}`
                    : "–",
                String(run.cliExitCode ?? "–"),
                run.error ?? "",
            ]),
        ),
    ].join("\n");
}

function backupSection(r: BenchResults): string {
    const head = "## 5. Backup and restore";
    if (!r.backup) return `${head}\n\nNot run.`;
    if (isFailed(r.backup)) return `${head}\n\n${notMeasured(r.backup)}`;
    const b = r.backup;
    return [
        head,
        "",
        `Data set: \`pgbench -i -s ${b.scale}\` (loaded in ${num(b.initSeconds)} s); the cluster's databases hold ${num(b.dataSetMB, 0)} MB. Full backups with \`npm run backup -- --type full\` to the stack's local S3 server, restores of the latest state with \`npm run restore\` into a fresh container (removed afterwards). Seconds are the tools' own; MB/s is the data set over them. Medians over ${b.backups.length} run(s).`,
        "",
        table(
            ["", "seconds", "MB/s", "runs (s)"],
            [
                [
                    "full backup",
                    num(b.median.backupSeconds),
                    num(b.median.backupMBps),
                    b.backups.map((x) => num(x.seconds)).join(", "),
                ],
                [
                    "restore (latest)",
                    num(b.median.restoreSeconds),
                    num(b.median.restoreMBps),
                    b.restores.map((x) => num(x.seconds)).join(", "),
                ],
            ],
        ),
    ].join("\n");
}

/** The whole Markdown report. */
export function renderReport(r: BenchResults): string {
    return [
        "# pgha benchmark",
        "",
        `\`${r.command}\`${r.commit ? ` at commit ${r.commit}` : ""}, ${r.mode} mode, ${r.startedAt} to ${r.finishedAt} (${num(r.totalSeconds / 60)} min), on the local Docker engine with the stack \`bench\` (PostgreSQL primary + 2 streaming replicas + PgBouncer + pgBackRest to a local S3 server). Every figure is printed, none is asserted. Raw figures: \`results.json\`.`,
        "",
        conditionsSection(r),
        "",
        deploySection(r),
        "",
        lagSection(r),
        "",
        poolingSection(r),
        "",
        failoverSection(r),
        "",
        backupSection(r),
        "",
    ].join("\n");
}
