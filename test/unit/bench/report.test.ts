import { bytes, num, renderReport, stacksSeen } from "../../../scripts/bench/report";
import { results } from "./fixtures";

describe("renderReport", () => {
    const report = renderReport(results({ commit: "abc123def456" }));

    test("states the command, mode and the machine", () => {
        expect(report).toContain(
            "`npm run bench` at commit abc123def456, full mode, 2026-11-23T12:00:00.000Z to 2026-11-23T12:15:00.000Z (15.0 min)",
        );
        expect(report).toContain("| CPU | 2 × AMD EPYC |");
        expect(report).toContain("| PgBouncer | PgBouncer 1.18.0 |");
        expect(report).toContain("| Docker | 20.10.24 (API 1.41, overlay2 storage) |");
        expect(report).toContain(
            "No other container ran on the Docker engine during the run (listed every 5 s).",
        );
        expect(report).not.toContain("Noisy figures");
    });

    test("deploy: the median and each run, a failed verification named", () => {
        expect(report).toContain(
            "Median **21.5 s** (`pulumi up` through the e2e engine 20.0 s + `verify-replication` 1.5 s)",
        );
        expect(report).toContain("| 2 | 22.0 | 1.5 | 23.5 | no (lag/replica-2) |");
    });

    test("lag: one row per rate with each replica's p50 / p99 / max, and the sync cost", () => {
        expect(report).toContain(
            "| target rate | TPS | latency avg (ms) | replica_1 lag p50 / p99 / max (ms) | replica_2 lag p50 / p99 / max (ms) | max WAL behind |",
        );
        expect(report).toContain("| 100 TPS | 100 | 3.3 | 1.5 / 6.0 / 7.5 | 2.5 / 9.0 / 10.5 | 3.0 MB |");
        expect(report).toContain(
            "| unthrottled | 450 | 3.3 | 12.0 / 48.0 / 60.0 | 13.0 / 72.0 / 84.0 | 3.0 MB |",
        );
        expect(report).toContain("| unthrottled | 900 | 450 | 0.50 |");
        expect(report).toContain("![replay lag over time](lag.png)");
    });

    test("pooling: direct, pooled and their ratio", () => {
        expect(report).toContain("| select-only | persistent | 2000 | 1500 | 0.75 |");
        expect(report).toContain("| read-write | new per transaction (`-C`) | 40 | 60 | 1.50 |");
    });

    test("a skipped failover says so and shows no figure", () => {
        expect(report).toMatch(/## 4\. Failover[^\n]*\n\nSkipped: npm run failover not available\.\n/);
    });

    test("backup and restore: seconds and MB/s", () => {
        expect(report).toContain("| full backup | 10.0 | 32.0 | 10.0 |");
        expect(report).toContain("| restore (latest) | 16.0 | 20.0 | 16.0 |");
    });

    test("a failed section shows its error instead of figures", () => {
        const text = renderReport(
            results({ pooling: { error: "pgbench failed (exit 1)" }, backup: undefined }),
        );
        expect(text).toContain("Not measured: the section failed: pgbench failed (exit 1)");
        expect(text).toMatch(/## 5\. Backup and restore\n\nNot run\./);
    });

    test("other pgha stacks seen during the run, or a quick run, flag the figures as noisy", () => {
        const shared = renderReport(
            results({
                conditions: {
                    otherContainersAtStart: ["pgha-dev-primary"],
                    otherContainersAtEnd: [],
                    otherContainersSeen: [
                        { name: "pgha-dev-primary", firstSeenSeconds: 0, lastSeenSeconds: 65 },
                        { name: "pgha-faults-primary", firstSeenSeconds: 220, lastSeenSeconds: 900 },
                        { name: "pgha-faults-replica-1", firstSeenSeconds: 225, lastSeenSeconds: 905 },
                    ],
                    loadAverageAtStart: [3, 2, 1],
                    loadAverageAtEnd: [3, 2, 1],
                },
            }),
        );
        expect(shared).toContain(
            "Other containers on the Docker engine during the run (listed every 5 s): 3.",
        );
        expect(shared).toContain(
            "- other pgha stack `pgha-faults` (2 containers) from 03:40 to 15:05 into the run",
        );
        expect(shared).toContain("Other pgha stacks shared this machine's 2 cores during the run.");
        expect(renderReport(results({ mode: "quick" }))).toContain("This is a `--quick` run");
    });

    test("containers that are not pgha's count, but do not flag the figures", () => {
        const text = renderReport(
            results({
                conditions: {
                    otherContainersAtStart: [],
                    otherContainersAtEnd: [],
                    otherContainersSeen: [{ name: "redis", firstSeenSeconds: 0, lastSeenSeconds: 10 }],
                    loadAverageAtStart: [0, 0, 0],
                    loadAverageAtEnd: [0, 0, 0],
                },
            }),
        );
        expect(text).toContain("during the run (listed every 5 s): 1.");
        expect(text).not.toContain("Noisy figures");
    });

    test("a failover with figures gives the median and every run", () => {
        const text = renderReport(
            results({
                failover: {
                    runs: [
                        {
                            secondsToWrite: 4.25,
                            cliSeconds: 3.5,
                            cliExitCode: 0,
                            cliTimings: { fencedMs: 120, promotedMs: 900, writesAcceptedMs: 1500 },
                        },
                        { cliExitCode: null, error: "deploy failed" },
                    ],
                    medianSecondsToWrite: 4.25,
                    medianCliSeconds: 3.5,
                },
            }),
        );
        expect(text).toContain("Median **4.3 s** to the first accepted write (failover command 3.5 s)");
        expect(text).toContain("| 1 | 4.3 | 3.5 | 120 / 900 / 1500 | 0 |  |");
        expect(text).toContain("| 2 | – | – | – | – | deploy failed |");
    });
});

describe("formatting", () => {
    test.each([
        [1.25, 1, "1.3"],
        [undefined, 1, "–"],
        [Number.NaN, 2, "–"],
        [1000, 0, "1000"],
    ])("num(%p, %d) is %s", (value, digits, expected) => {
        expect(num(value as number | undefined, digits)).toBe(expected);
    });

    test.each([
        [undefined, "–"],
        [512, "512 B"],
        [2048, "2 kB"],
        [3 * 1024 ** 2, "3.0 MB"],
    ])("bytes(%p) is %s", (value, expected) => {
        expect(bytes(value)).toBe(expected);
    });
});

describe("stacksSeen", () => {
    test("groups pgha containers by stack with the span they were seen in; others are left out", () => {
        expect(
            stacksSeen([
                { name: "pgha-faults-primary", firstSeenSeconds: 30, lastSeenSeconds: 90 },
                { name: "pgha-dev-s3", firstSeenSeconds: 0, lastSeenSeconds: 10 },
                { name: "pgha-faults-pgbouncer", firstSeenSeconds: 20, lastSeenSeconds: 95 },
                { name: "hfx-1234", firstSeenSeconds: 0, lastSeenSeconds: 100 },
            ]),
        ).toEqual([
            { stack: "pgha-dev", containers: 1, fromSeconds: 0, toSeconds: 10 },
            { stack: "pgha-faults", containers: 2, fromSeconds: 20, toSeconds: 95 },
        ]);
    });
});
