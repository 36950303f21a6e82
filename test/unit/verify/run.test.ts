import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connect, Db, Target, TxQuery } from "../../../scripts/verify/db";
import { main, type MainDeps } from "../../../scripts/verify/main";
import { parseClusterOutputs } from "../../../scripts/verify/outputs";
import { runChecks, type CheckOptions } from "../../../scripts/verify/run";
import { CHECK_IDS } from "../../../scripts/verify/types";
import { APP_PASSWORD, PASSWORD, validOutputs } from "./fixtures";

/** A pretend cluster: what each node answers. */
interface FakeNode {
    connectError?: Error;
    cluster_name: string;
    in_recovery: boolean;
    paused?: boolean;
}

function fakeCluster(nodes: Record<string, FakeNode>, opts: { sync?: string } = {}) {
    const committed = new Set<string>();
    const connected: Target[] = [];
    let open = 0;
    const route = (t: Target) =>
        t.node === "pgbouncer-rw" ? "primary" : t.node === "pgbouncer-ro" ? "replica-1" : t.node;
    const connect: Connect = async (t) => {
        connected.push(t);
        const node = nodes[route(t)];
        if (node.connectError) throw node.connectError;
        open++;
        const query = async (sql: string, params?: readonly unknown[]): Promise<any[]> => {
            if (/pg_is_in_recovery\(\) AS in_recovery/.test(sql))
                return [
                    {
                        in_recovery: node.in_recovery,
                        cluster_name: node.cluster_name,
                        server_version: "15.18",
                        synchronous_standby_names: "",
                    },
                ];
            if (/FROM pg_stat_replication/.test(sql))
                return ["replica-1", "replica-2"]
                    .filter((n) => !nodes[n].connectError)
                    .map((n, i) => ({
                        pid: 100 + i,
                        application_name: nodes[n].cluster_name,
                        state: "streaming",
                        sync_state: opts.sync ?? "async",
                        client_addr: "10.0.0.1",
                        replay_bytes: 0,
                        replay_lag_s: null,
                    }));
            if (/FROM pg_replication_slots/.test(sql))
                return ["replica-1", "replica-2"].map((n, i) => ({
                    slot_name: `pgha_${nodes[n].cluster_name}`,
                    slot_type: "physical",
                    active: !nodes[n].connectError,
                    active_pid: nodes[n].connectError ? null : 100 + i,
                    wal_status: "reserved",
                    retained_bytes: 0,
                }));
            if (/pg_is_wal_replay_paused/.test(sql))
                return [
                    {
                        paused: !!node.paused,
                        behind: !!node.paused,
                        since_last_replay_s: node.paused ? 5 : 0.01,
                    },
                ];
            if (/pg_backend_pid/.test(sql)) return [{ pid: 4242 }];
            if (/INSERT INTO pgha\.canary/.test(sql)) {
                if (node.in_recovery)
                    throw Object.assign(new Error("cannot execute INSERT in a read-only transaction"), {
                        code: "25006",
                    });
                committed.add(String(params?.[0]));
                return [{ id: "7", cluster_name: node.cluster_name }];
            }
            if (/SELECT 1 AS seen/.test(sql))
                return !node.paused && committed.has(String(params?.[0])) ? [{ seen: 1 }] : [];
            return [];
        };
        const db: Db = {
            query: query as Db["query"],
            tx: async <T>(fn: (q: TxQuery) => Promise<T>) => fn(query as TxQuery),
            end: async () => void open--,
        };
        return db;
    };
    return { connect, connected, openConnections: () => open };
}

const healthy = (): Record<string, FakeNode> => ({
    primary: { cluster_name: "primary", in_recovery: false },
    "replica-1": { cluster_name: "replica_1", in_recovery: true },
    "replica-2": { cluster_name: "replica_2", in_recovery: true },
});

const options: CheckOptions = {
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    canaryTimeoutMs: 200,
    lagWarnMs: 30_000,
    lagFailMs: 60_000,
};
const outputs = () => parseClusterOutputs(validOutputs());

describe("runChecks with a fake cluster", () => {
    test("a healthy cluster passes every check, and every connection is closed", async () => {
        const fake = fakeCluster(healthy());
        const report = await runChecks(outputs(), options, fake.connect);
        expect(report.checks.filter((c) => c.status !== "PASS")).toEqual([]);
        expect(report.ok).toBe(true);
        expect(new Set(report.checks.map((c) => c.check))).toEqual(new Set(CHECK_IDS));
        expect(fake.openConnections()).toBe(0);
        // the monitor user everywhere; PgBouncer targets flagged (no statement_timeout startup parameter)
        expect(fake.connected.every((t) => t.user === "pgha_monitor")).toBe(true);
        expect(
            fake.connected
                .filter((t) => t.viaPgBouncer)
                .map((t) => t.database)
                .sort(),
        ).toEqual(["app", "app_ro"]);
    });

    test("a stopped replica fails streaming, slots, replica-readonly, canary and lag on that node only", async () => {
        const nodes = healthy();
        nodes["replica-2"].connectError = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5434"), {
            code: "ECONNREFUSED",
        });
        const report = await runChecks(outputs(), options, fakeCluster(nodes).connect);
        const failed = report.checks.filter((c) => c.status === "FAIL").map((c) => `${c.check}/${c.node}`);
        expect(failed).toEqual([
            "streaming/replica-2",
            "slots/replica-2",
            "replica-readonly/replica-2",
            "canary/replica-2",
            "lag/replica-2",
        ]);
        expect(
            report.checks.find((c) => c.check === "replica-readonly" && c.node === "replica-2")!.detail,
        ).toBe("cannot connect to 127.0.0.1:5434 (database app): connection refused");
    });

    test("a paused replica fails the canary within --canary-timeout and warns on lag", async () => {
        const nodes = healthy();
        nodes["replica-1"].paused = true;
        const started = Date.now();
        const report = await runChecks(outputs(), options, fakeCluster(nodes).connect);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(report.checks.find((c) => c.check === "canary" && c.node === "replica-1")).toMatchObject({
            status: "FAIL",
            detail: "canary not visible within 200 ms",
        });
        expect(report.checks.find((c) => c.check === "lag" && c.node === "replica-1")).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(/replay paused/),
        });
    });

    test("synchronousMode any1 expects quorum", async () => {
        const raw = validOutputs();
        raw.synchronousMode = "any1";
        const bad = await runChecks(parseClusterOutputs(raw), options, fakeCluster(healthy()).connect);
        // Both async: neither confirms, so the primary's line says writes wait (strict by default).
        expect(bad.checks.filter((c) => c.status === "FAIL").map((c) => `${c.check}/${c.node}`)).toEqual([
            "streaming/primary",
            "streaming/replica-1",
            "streaming/replica-2",
        ]);
        const good = await runChecks(
            parseClusterOutputs(raw),
            options,
            fakeCluster(healthy(), { sync: "quorum" }).connect,
        );
        expect(good.ok).toBe(true);
    });
});

describe("main", () => {
    const dir = mkdtempSync(join(tmpdir(), "pgha-verify-main-"));
    const file = join(dir, "outputs.json");
    writeFileSync(file, JSON.stringify(validOutputs()));

    function run(argv: string[], connect: Connect) {
        const out: string[] = [];
        const err: string[] = [];
        const deps: MainDeps = {
            stdout: (t) => out.push(t),
            stderr: (t) => err.push(t),
            runPulumi: async () => {
                throw new Error("not used");
            },
            connector: () => connect,
        };
        return main(argv, deps).then((code) => ({ code, out: out.join(""), err: err.join("") }));
    }

    test("healthy → exit 0 and a table", async () => {
        const r = await run(["--outputs", file], fakeCluster(healthy()).connect);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^CHECK\s+NODE\s+STATUS\s+DETAIL\n/);
        expect(r.out).toMatch(/\nOK: cluster pgha-dev, 14 PASS, 0 WARN, 0 FAIL in \d+ ms\n$/);
    });

    test("nothing reachable → exit 1, every check fails naming its node, no crash, no password", async () => {
        // pg error texts can carry connection strings: they must come out redacted
        const connect: Connect = async (t) => {
            throw new Error(
                `could not connect to postgresql://${t.user}:${t.password}@${t.host}:${t.port}/${t.database} (also ${APP_PASSWORD})`,
            );
        };
        const r = await run(["--outputs", file, "--json"], connect);
        expect(r.code).toBe(1);
        const report = JSON.parse(r.out);
        expect(report.ok).toBe(false);
        expect(new Set(report.checks.map((c: { check: string }) => c.check))).toEqual(new Set(CHECK_IDS));
        expect(report.checks.every((c: { status: string }) => c.status === "FAIL")).toBe(true);
        expect(report.checks.map((c: { node: string }) => c.node)).toEqual(
            expect.arrayContaining(["primary", "replica-1", "replica-2", "pgbouncer-rw", "pgbouncer-ro"]),
        );
        expect(r.out).not.toContain(PASSWORD);
        expect(r.out).not.toContain(APP_PASSWORD);
        expect(r.out).toContain("postgresql://pgha_monitor:***@127.0.0.1:5432/app");
        expect(r.err).toBe("");
    });

    test("bad flags → exit 2 before connecting", async () => {
        const r = await run(["--outputs", file, "--lag-fail", "soon"], async () => {
            throw new Error("must not connect");
        });
        expect(r.code).toBe(2);
        expect(r.err).toMatch(/^verify-replication: --lag-fail must be a duration/);
        expect(r.out).toBe("");
    });

    test("--help → exit 0 and the usage", async () => {
        const r = await run(["--help"], fakeCluster(healthy()).connect);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^Usage: npm run verify -- \(--stack <name> \| --outputs <file\.json>\)/);
    });
});
