import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEALTH_SQL } from "../../../scripts/health/collect";
import type { Sample } from "../../../scripts/health/evaluate";
import { main, type HealthDeps } from "../../../scripts/health/main";
import {
    buildHealthReport,
    HEALTH_EXIT,
    renderHealthJson,
    renderHealthTable,
    type HealthReport,
} from "../../../scripts/health/report";
import type { Connect, Db, Target, TxQuery } from "../../../scripts/verify/db";
import { APP_PASSWORD, ARCHIVE, BACKUP, PASSWORD, PRIMARY, slot, validOutputs, walsender } from "./fixtures";

/** What the fake primary answers, query by query; a function may throw. */
interface FakePrimary {
    connectError?: () => Error;
    primary?: () => object;
    walsenders?: () => object[];
    slots?: () => object[];
    archiver?: () => object;
    ready?: () => object;
    backups?: () => object;
}

function fakePrimary(fake: FakePrimary = {}) {
    const connected: Target[] = [];
    let open = 0;
    let queries = 0;
    const connect: Connect = async (t) => {
        connected.push(t);
        if (fake.connectError) throw fake.connectError();
        open++;
        const query = async (sql: string): Promise<any[]> => {
            queries++;
            if (sql === HEALTH_SQL.primary) return [fake.primary ? fake.primary() : PRIMARY];
            if (sql === HEALTH_SQL.replication)
                return fake.walsenders ? fake.walsenders() : [walsender("replica_1"), walsender("replica_2")];
            if (sql === HEALTH_SQL.slots)
                return fake.slots
                    ? fake.slots()
                    : [slot("pgha_replica_1"), slot("pgha_replica_2", { active_pid: 102 })];
            if (sql === HEALTH_SQL.archiver) return [fake.archiver ? fake.archiver() : ARCHIVE];
            if (sql === HEALTH_SQL.ready)
                return [fake.ready ? fake.ready() : { ready_count: 0, oldest_ready_age_s: null }];
            if (sql === HEALTH_SQL.backups) {
                if (fake.backups) return [fake.backups()];
                return [{ last_ok: BACKUP.ok ? BACKUP.lastOk : null, last_failed: null, failed_since_ok: 0 }];
            }
            throw new Error(`unexpected query: ${sql}`);
        };
        const db: Db = {
            query: query as Db["query"],
            tx: async <T>(fn: (q: TxQuery) => Promise<T>) => fn(query as TxQuery),
            end: async () => void open--,
        };
        return db;
    };
    return { connect, connected, openConnections: () => open, queries: () => queries };
}

function run(
    argv: string[],
    fake = fakePrimary(),
    outputs: Record<string, unknown> = { ...validOutputs(), backup: { intervalHours: 6 } },
) {
    let stdout = "";
    let stderr = "";
    let clock = 1_700_000_000_000;
    const slept: number[] = [];
    const pulumiCalls: string[][] = [];
    const deps: HealthDeps = {
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
        runPulumi: async (args) => {
            pulumiCalls.push([...args]);
            return { exitCode: 0, stdout: JSON.stringify(outputs), stderr: "" };
        },
        connector: () => fake.connect,
        sleep: async (ms) => {
            slept.push(ms);
            clock += ms;
        },
        now: () => clock,
    };
    return main(argv, deps).then((code) => ({
        code,
        stdout,
        stderr,
        slept,
        pulumiCalls,
        json: () => JSON.parse(stdout) as HealthReport,
    }));
}

const noSecrets = (text: string) => {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(APP_PASSWORD);
};

describe("health main", () => {
    test("healthy: exit 0, the table, the monitor role on the primary's endpoint, no password", async () => {
        const fake = fakePrimary();
        const r = await run(["--stack", "dev"], fake);
        expect(r.code).toBe(HEALTH_EXIT.ok);
        expect(r.pulumiCalls).toEqual([["stack", "output", "--json", "--show-secrets", "--stack", "dev"]]);
        expect(r.stdout).toMatch(/^Health of pgha-dev at .*, 1 sample\n/);
        expect(r.stdout).toMatch(/^replica\s+replica-2\s+OK\s+streaming async/m);
        expect(r.stdout).toMatch(/\nOK: cluster pgha-dev, 7 OK, 0 WARN, 0 ALERT\n$/);
        expect(fake.connected).toEqual([
            {
                node: "primary",
                host: "127.0.0.1",
                port: 5432,
                database: "app",
                user: "pgha_monitor",
                password: PASSWORD,
                viaPgBouncer: false,
            },
        ]);
        expect(fake.openConnections()).toBe(0);
        noSecrets(r.stdout + r.stderr);
    });

    test("--json: the report's shape", async () => {
        const r = await run(["--stack", "dev", "--json", "--samples", "3", "--interval", "2s"]);
        expect(r.code).toBe(0);
        const report = r.json();
        expect(Object.keys(report)).toEqual([
            "ok",
            "status",
            "reachable",
            "clusterName",
            "startedAt",
            "samples",
            "samplesAnswered",
            "intervalMs",
            "windowMs",
            "checks",
        ]);
        expect(report).toMatchObject({
            ok: true,
            status: "OK",
            reachable: true,
            clusterName: "pgha-dev",
            samples: 3,
            samplesAnswered: 3,
            intervalMs: 2000,
            windowMs: 4000,
        });
        expect(report.checks.map((c) => `${c.check}/${c.node}`)).toEqual([
            "primary/primary",
            "replica/replica-1",
            "replica/replica-2",
            "slot/replica-1",
            "slot/replica-2",
            "backup/primary",
            "archive/primary",
        ]);
        for (const c of report.checks)
            expect(Object.keys(c)).toEqual(["check", "node", "status", "detail", "metrics"]);
        expect(r.slept).toEqual([2000, 2000]);
        noSecrets(r.stdout);
    });

    test("the backup interval comes from the outputs' backup, else --backup-interval, else 6 h", async () => {
        const interval = async (argv: string[], outputs: Record<string, unknown>) =>
            (await run(["--stack", "dev", "--json", ...argv], fakePrimary(), outputs))
                .json()
                .checks.find((c) => c.check === "backup")?.metrics?.intervalMs;
        expect(await interval([], { ...validOutputs(), backup: { intervalHours: 12 } })).toBe(12 * 3_600_000);
        expect(
            await interval(["--backup-interval", "2h"], { ...validOutputs(), backup: { intervalHours: 12 } }),
        ).toBe(2 * 3_600_000);
        expect(await interval([], validOutputs())).toBe(6 * 3_600_000);
    });

    test("a replica not streaming: exit 1 and the alert named", async () => {
        const r = await run(
            ["--stack", "dev"],
            fakePrimary({
                walsenders: () => [walsender("replica_1")],
                slots: () => [
                    slot("pgha_replica_1"),
                    slot("pgha_replica_2", { active: false, active_pid: null }),
                ],
            }),
        );
        expect(r.code).toBe(HEALTH_EXIT.alert);
        expect(r.stdout).toMatch(
            /\nALERT: cluster pgha-dev, 5 OK, 0 WARN, 2 ALERT \(replica\/replica-2, slot\/replica-2\)\n$/,
        );
    });

    test("warnings only: exit 0, printed", async () => {
        const r = await run(
            ["--stack", "dev"],
            fakePrimary({
                walsenders: () => [walsender("replica_1", { replay_lag_s: 40 }), walsender("replica_2")],
            }),
        );
        expect(r.code).toBe(HEALTH_EXIT.ok);
        expect(r.stdout).toMatch(/^replica\s+replica-1\s+WARN\s+.*lag 40\.0 s >= --lag-warn 30\.0 s$/m);
        expect(r.stdout).toMatch(/\nOK with warnings: cluster pgha-dev, 6 OK, 1 WARN, 0 ALERT\n$/);
    });

    test("the primary unreachable: exit 3, the error named without the password, every connection attempt bounded to the samples", async () => {
        const fake = fakePrimary({
            connectError: () =>
                Object.assign(new Error(`password authentication failed (${PASSWORD})`), {
                    code: "ECONNREFUSED",
                }),
        });
        const r = await run(
            ["--outputs", writeOutputs(), "--json", "--samples", "2", "--interval", "100ms"],
            fake,
        );
        expect(r.code).toBe(HEALTH_EXIT.unreachable);
        expect(r.json()).toMatchObject({
            ok: false,
            status: "ALERT",
            reachable: false,
            samples: 2,
            samplesAnswered: 0,
        });
        expect(r.json().checks).toEqual([
            expect.objectContaining({
                check: "primary",
                status: "ALERT",
                detail: expect.stringMatching(
                    /cannot connect to 127\.0\.0\.1:5432 \(database app\): connection refused/,
                ),
            }),
        ]);
        expect(fake.connected).toHaveLength(2);
        noSecrets(r.stdout + r.stderr);
    });

    test("a query failing mid-window: the sample is an error, the connection is replaced, the primary WARNs", async () => {
        let n = 0;
        const fake = fakePrimary({
            walsenders: () => {
                if (++n === 2)
                    throw Object.assign(new Error("terminating connection due to administrator command"), {
                        code: "57P01",
                    });
                return [walsender("replica_1"), walsender("replica_2")];
            },
        });
        const r = await run(["--stack", "dev", "--json", "--samples", "3", "--interval", "100ms"], fake);
        expect(r.code).toBe(0);
        expect(r.json()).toMatchObject({ samples: 3, samplesAnswered: 2 });
        expect(r.json().checks[0]).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(
                /2 of 3 samples answered, last error: query failed: SQLSTATE 57P01/,
            ),
        });
        expect(fake.connected).toHaveLength(2);
        expect(fake.openConnections()).toBe(0);
    });

    test("pgha.backup_runs or archive_status unreadable: only those lines say so", async () => {
        const r = await run(
            ["--stack", "dev", "--json"],
            fakePrimary({
                backups: () => {
                    throw Object.assign(new Error('relation "pgha.backup_runs" does not exist'), {
                        code: "42P01",
                    });
                },
                ready: () => {
                    throw Object.assign(new Error("permission denied for function pg_ls_archive_statusdir"), {
                        code: "42501",
                    });
                },
            }),
        );
        expect(r.code).toBe(1);
        const report = r.json();
        expect(report.checks.filter((c) => c.status !== "OK").map((c) => c.check)).toEqual(["backup"]);
        expect(report.checks.find((c) => c.check === "backup")?.detail).toBe(
            'cannot read pgha.backup_runs: SQLSTATE 42P01: relation "pgha.backup_runs" does not exist',
        );
        expect(report.checks.find((c) => c.check === "archive")?.detail).toMatch(/waiting WAL unreadable/);
    });

    test.each([
        [["--stack", "dev", "--samples", "none"], /--samples must be a whole number/],
        [["--stack", "dev", "--slot-alert", "200%"], /--slot-alert must be a size/],
        [["--bogus"], /unknown flag --bogus/],
    ])("bad input %j: exit 2, the flag named on stderr, JSON error with --json", async (argv, message) => {
        const plain = await run(argv);
        expect(plain.code).toBe(HEALTH_EXIT.usage);
        expect(plain.stderr).toMatch(/^health: /);
        expect(plain.stderr).toMatch(message);
        expect(plain.stdout).toBe("");
        const json = await run([...argv, "--json"]);
        expect(json.code).toBe(2);
        expect(JSON.parse(json.stdout)).toEqual({
            ok: false,
            error: expect.stringMatching(message),
            checks: [],
        });
    });

    test("malformed outputs: exit 2 naming the key, no secret shown", async () => {
        const r = await run(["--stack", "dev"], fakePrimary(), {
            ...validOutputs(),
            primaryEndpoint: { host: "127.0.0.1", port: 0 },
        });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/primaryEndpoint\.port must be an integer port/);
        noSecrets(r.stderr);
    });

    test("--help prints the usage, exit 0, nothing read", async () => {
        const fake = fakePrimary();
        const r = await run(["--help"], fake);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: npm run health --/);
        expect(fake.connected).toEqual([]);
    });
});

describe("health report rendering", () => {
    const samples: Sample[] = [
        {
            ok: false,
            at: Date.UTC(2026, 10, 23, 12, 0, 0),
            error: `cannot connect: postgresql://app:${APP_PASSWORD}@h/app`,
        },
        { ok: false, at: Date.UTC(2026, 10, 23, 12, 0, 1), error: "x" },
    ];
    const report = buildHealthReport("pgha-dev", samples, 1000, [
        {
            check: "archive",
            node: "primary",
            status: "WARN",
            detail: "later",
            metrics: { note: `pw ${PASSWORD}` },
        },
        {
            check: "primary",
            node: "primary",
            status: "ALERT",
            detail: `cannot read the primary: postgresql://app:${APP_PASSWORD}@h/app\nsecond line`,
        },
    ]);

    test("build: sorted by check, worst status, window from the samples", () => {
        expect(report).toMatchObject({
            ok: false,
            status: "ALERT",
            reachable: false,
            startedAt: "2026-11-23T12:00:00.000Z",
            samples: 2,
            samplesAnswered: 0,
            windowMs: 1000,
        });
        expect(report.checks.map((c) => c.check)).toEqual(["primary", "archive"]);
    });

    test("table: heading, aligned rows, verdict; secrets and newlines removed", () => {
        expect(renderHealthTable(report, [PASSWORD])).toBe(
            [
                "Health of pgha-dev at 2026-11-23T12:00:00.000Z, 2 samples every 1.00 s over 1.00 s",
                "",
                "CHECK    NODE     STATUS  DETAIL",
                "primary  primary  ALERT   cannot read the primary: postgresql://app:***@h/app second line",
                "archive  primary  WARN    later",
                "",
                "UNREACHABLE: cluster pgha-dev, 0 OK, 1 WARN, 1 ALERT (primary/primary)",
                "",
            ].join("\n"),
        );
    });

    test("JSON: the same report, secrets removed from details and metrics", () => {
        const text = renderHealthJson(report, [PASSWORD]);
        noSecrets(text);
        const parsed = JSON.parse(text) as HealthReport;
        expect(parsed.checks[1].metrics).toEqual({ note: "pw ***" });
        expect(parsed.checks[0].detail).toBe(
            "cannot read the primary: postgresql://app:***@h/app second line",
        );
    });
});

function writeOutputs(): string {
    const dir = mkdtempSync(join(tmpdir(), "health-"));
    const file = join(dir, "outputs.json");
    writeFileSync(file, JSON.stringify(validOutputs()));
    return file;
}
