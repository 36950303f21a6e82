import {
    evaluateLag,
    evaluatePgbouncerRo,
    evaluatePgbouncerRw,
    evaluatePrimary,
    evaluateReadonly,
    evaluateSlots,
    evaluateStreaming,
    expectedSyncState,
    type ReplicationRow,
    type SlotRow,
} from "../../../scripts/verify/checks";
import type { LagThresholds } from "../../../scripts/verify/thresholds";
import { REPLICAS } from "./fixtures";

const [R1, R2] = REPLICAS;
const walsender = (application_name: string, over: Partial<ReplicationRow> = {}): ReplicationRow => ({
    pid: application_name === "replica_1" ? 101 : 102,
    application_name,
    state: "streaming",
    sync_state: "async",
    client_addr: "172.18.0.3",
    replay_bytes: 0,
    replay_lag_s: null,
    ...over,
});
const slot = (slot_name: string, over: Partial<SlotRow> = {}): SlotRow => ({
    slot_name,
    slot_type: "physical",
    active: true,
    active_pid: slot_name === "pgha_replica_1" ? 101 : 102,
    wal_status: "reserved",
    retained_bytes: 0,
    ...over,
});

describe("primary", () => {
    test.each([
        [{ in_recovery: false, cluster_name: "primary" }, "PASS", /accepts writes/],
        [
            { in_recovery: true, cluster_name: "replica_1" },
            "FAIL",
            /in recovery \(cluster_name=replica_1\): the primary endpoint reaches a standby/,
        ],
        [
            { in_recovery: false, cluster_name: "replica_1" },
            "WARN",
            /expected cluster_name=primary: failed over without updating the outputs\?/,
        ],
    ])("%j → %s", (row, status, detail) => {
        const r = evaluatePrimary({ ...row, server_version: "15.18" });
        expect(r).toMatchObject({ check: "primary", node: "primary", status });
        expect(r.detail).toMatch(detail);
    });

    test("after a failover the primary is the node the outputs name", () => {
        expect(
            evaluatePrimary(
                { in_recovery: false, cluster_name: "replica_1", server_version: "15.18" },
                "replica_1",
            ).status,
        ).toBe("PASS");
        expect(
            evaluatePrimary(
                { in_recovery: false, cluster_name: "primary", server_version: "15.18" },
                "replica_1",
            ).status,
        ).toBe("WARN");
        expect(
            evaluatePgbouncerRw("app", { cluster_name: "replica_1", in_recovery: false }, "replica_1").status,
        ).toBe("PASS");
        expect(
            evaluatePgbouncerRw("app", { cluster_name: "primary", in_recovery: false }, "replica_1").status,
        ).toBe("FAIL");
    });
});

describe("streaming", () => {
    test.each([
        ["off", "async"],
        ["any1", "quorum"],
    ] as const)("synchronousMode %s expects sync_state %s", (mode, state) => {
        expect(expectedSyncState(mode)).toBe(state);
        const rows = [
            walsender("replica_1", { sync_state: state }),
            walsender("replica_2", { sync_state: state }),
        ];
        expect(evaluateStreaming(REPLICAS, rows, mode, "").map((r) => r.status)).toEqual(["PASS", "PASS"]);
    });

    test.each<[string, ReplicationRow[], "off" | "any1", RegExp]>([
        [
            "missing",
            [walsender("replica_2")],
            "off",
            /no walsender with application_name=replica_1 in pg_stat_replication \(seen: replica_2 streaming async\)/,
        ],
        ["none at all", [], "off", /\(seen: no walsenders\)/],
        [
            "catching up",
            [walsender("replica_1", { state: "catchup" }), walsender("replica_2")],
            "off",
            /state catchup, expected streaming from 172\.18\.0\.3/,
        ],
        [
            "async in any1",
            [
                walsender("replica_1", { sync_state: "async" }),
                walsender("replica_2", { sync_state: "quorum" }),
            ],
            "any1",
            /sync_state async, expected quorum \(synchronousMode any1; primary has synchronous_standby_names='x'\)/,
        ],
        [
            "quorum in off",
            [walsender("replica_1", { sync_state: "quorum" }), walsender("replica_2")],
            "off",
            /sync_state quorum, expected async/,
        ],
        [
            "twice",
            [walsender("replica_1"), walsender("replica_1", { pid: 9 }), walsender("replica_2")],
            "off",
            /2 walsenders with application_name=replica_1/,
        ],
    ])("%s → FAIL on replica-1", (_name, rows, mode, detail) => {
        const results = evaluateStreaming(REPLICAS, rows, mode, "x");
        const r1 = results.find((r) => r.node === "replica-1")!;
        expect(r1.status).toBe("FAIL");
        expect(r1.detail).toMatch(detail);
        if (rows.some((row) => row.application_name === "replica_2")) {
            expect(results.filter((r) => r.node === "replica-2").every((r) => r.status === "PASS")).toBe(
                true,
            );
        }
    });

    test("lists walsenders of nobody expected as information", () => {
        const results = evaluateStreaming(
            REPLICAS,
            [walsender("replica_1"), walsender("replica_2"), walsender("pg_basebackup", { state: "backup" })],
            "off",
            "",
        );
        expect(results).toContainEqual(
            expect.objectContaining({
                node: "primary",
                status: "PASS",
                detail: expect.stringMatching(/not in the outputs: pg_basebackup backup async/),
            }),
        );
    });

    test.each([
        [
            true,
            "FAIL",
            /no replica can confirm a commit: writes wait until one streams again \(synchronousMode any1, synchronousStrict true\)/,
        ],
        [false, "WARN", /acknowledges writes alone until one streams again.*synchronousStrict false/],
    ] as const)(
        "any1, no replica confirming, synchronousStrict %s: the primary's line is a %s saying what writes do",
        (strict, status, detail) => {
            const results = evaluateStreaming(
                REPLICAS,
                [walsender("replica_2", { sync_state: "async" })],
                "any1",
                "",
                strict,
            );
            expect(results.filter((r) => r.node === "primary")).toEqual([
                expect.objectContaining({
                    check: "streaming",
                    status,
                    detail: expect.stringMatching(detail),
                }),
            ]);
        },
    );

    test("any1 with one replica confirming: no line on the primary", () => {
        const rows = [walsender("replica_2", { sync_state: "quorum" })];
        expect(
            evaluateStreaming(REPLICAS, rows, "any1", "", true).filter((r) => r.node === "primary"),
        ).toEqual([]);
    });

    test("no replicas in the outputs is a warning", () => {
        expect(evaluateStreaming([], [], "off", "")).toEqual([
            expect.objectContaining({ node: "primary", status: "WARN" }),
        ]);
    });
});

describe("slots", () => {
    const ws = [walsender("replica_1"), walsender("replica_2")];
    test("healthy", () => {
        const results = evaluateSlots(REPLICAS, [slot("pgha_replica_1"), slot("pgha_replica_2")], ws);
        expect(results.map((r) => [r.node, r.status])).toEqual([
            ["replica-1", "PASS"],
            ["replica-2", "PASS"],
        ]);
    });

    test.each<[string, SlotRow[], string, string, RegExp]>([
        [
            "missing",
            [slot("pgha_replica_2")],
            "replica-1",
            "FAIL",
            /slot pgha_replica_1 does not exist on the primary/,
        ],
        [
            "inactive",
            [
                slot("pgha_replica_1", { active: false, active_pid: null, retained_bytes: 2048 }),
                slot("pgha_replica_2"),
            ],
            "replica-1",
            "FAIL",
            /slot pgha_replica_1 is inactive, retains 2\.0 kB of WAL/,
        ],
        [
            "logical",
            [slot("pgha_replica_1", { slot_type: "logical" }), slot("pgha_replica_2")],
            "replica-1",
            "FAIL",
            /is a logical slot, expected physical/,
        ],
        [
            "lost",
            [slot("pgha_replica_1", { wal_status: "lost" }), slot("pgha_replica_2")],
            "replica-1",
            "FAIL",
            /lost WAL the replica still needs/,
        ],
        [
            "held by another walsender",
            [slot("pgha_replica_1", { active_pid: 555 }), slot("pgha_replica_2")],
            "replica-1",
            "FAIL",
            /held by walsender pid 555, but replica_1 streams from pid 101/,
        ],
        [
            "unreserved",
            [slot("pgha_replica_1", { wal_status: "unreserved" }), slot("pgha_replica_2")],
            "replica-1",
            "WARN",
            /WAL will be removed/,
        ],
        [
            "unexpected pgha_ slot",
            [
                slot("pgha_replica_1"),
                slot("pgha_replica_2"),
                slot("pgha_old", { active: false, active_pid: null, retained_bytes: null, wal_status: null }),
            ],
            "primary",
            "FAIL",
            /unexpected cluster slot pgha_old \(physical, inactive, holds no WAL\)/,
        ],
        [
            "inactive user slot holding WAL",
            [
                slot("pgha_replica_1"),
                slot("pgha_replica_2"),
                slot("debezium", { slot_type: "logical", active: false, retained_bytes: 5 * 1024 ** 2 }),
            ],
            "primary",
            "FAIL",
            /user slot debezium \(logical\) is inactive, retains 5\.0 MB of WAL/,
        ],
        [
            "active user slot",
            [
                slot("pgha_replica_1"),
                slot("pgha_replica_2"),
                slot("cdc", { slot_type: "logical", active_pid: 7 }),
            ],
            "primary",
            "PASS",
            /user slots, not managed by the cluster: cdc \(logical, active/,
        ],
        [
            "inactive user slot holding nothing",
            [
                slot("pgha_replica_1"),
                slot("pgha_replica_2"),
                slot("spare", { active: false, active_pid: null, retained_bytes: null, wal_status: null }),
            ],
            "primary",
            "PASS",
            /spare \(physical, inactive, holds no WAL\)/,
        ],
    ])("%s", (_name, slots, node, status, detail) => {
        const results = evaluateSlots(REPLICAS, slots, ws);
        const hit = results.find((r) => r.node === node && r.status === status);
        expect(hit).toBeDefined();
        expect(hit!.detail).toMatch(detail);
    });
});

describe("replica-readonly", () => {
    test.each([
        [
            { in_recovery: true, cluster_name: "replica_1", writeSqlState: "25006" },
            "PASS",
            /write rejected with SQLSTATE 25006/,
        ],
        [
            { in_recovery: false, cluster_name: "replica_1" },
            "FAIL",
            /not in recovery \(cluster_name=replica_1\): it accepts writes/,
        ],
        [
            { in_recovery: true, cluster_name: "replica_2", writeSqlState: "25006" },
            "FAIL",
            /answers as cluster_name=replica_2, expected replica_1/,
        ],
        [
            { in_recovery: true, cluster_name: "replica_1", writeSqlState: null },
            "FAIL",
            /INSERT into pgha\.canary was accepted/,
        ],
        [
            {
                in_recovery: true,
                cluster_name: "replica_1",
                writeSqlState: "42501",
                writeError: "permission denied",
            },
            "FAIL",
            /SQLSTATE 42501 \(permission denied\), expected 25006/,
        ],
    ])("%j → %s", (probe, status, detail) => {
        const r = evaluateReadonly(R1, probe);
        expect(r).toMatchObject({ check: "replica-readonly", node: "replica-1", status });
        expect(r.detail).toMatch(detail);
    });
});

describe("lag", () => {
    const t: LagThresholds = { warnMs: 30_000, failMs: 60_000 };
    const replay = (over = {}) => ({ paused: false, behind: false, since_last_replay_s: 500, ...over });
    test.each<[string, Parameters<typeof evaluateLag>[1], LagThresholds, string, RegExp]>([
        [
            "caught up and idle: old last replay does not count",
            { primaryKnown: true, walsender: walsender("replica_1"), replay: replay() },
            t,
            "PASS",
            /^replay lag 0 ms, 0 B$/,
        ],
        [
            "behind: time since last replay counts",
            {
                primaryKnown: true,
                walsender: walsender("replica_1", { replay_bytes: 4096 }),
                replay: replay({ behind: true, since_last_replay_s: 45 }),
            },
            t,
            "WARN",
            /replay lag 45\.0 s, 4\.0 kB; lag 45\.0 s >= --lag-warn/,
        ],
        [
            "primary's replay_lag counts",
            { primaryKnown: true, walsender: walsender("replica_1", { replay_lag_s: 61 }), replay: replay() },
            t,
            "FAIL",
            /lag 1 min 1 s >= --lag-fail/,
        ],
        [
            "paused counts even when not behind",
            {
                primaryKnown: true,
                walsender: walsender("replica_1"),
                replay: replay({ paused: true, since_last_replay_s: 70 }),
            },
            t,
            "FAIL",
            /replay paused, last replayed commit 1 min 10 s ago/,
        ],
        [
            "paused below the thresholds still warns",
            {
                primaryKnown: true,
                walsender: walsender("replica_1"),
                replay: replay({ paused: true, since_last_replay_s: 2 }),
            },
            t,
            "WARN",
            /replay paused/,
        ],
        [
            "paused past a small --lag-fail",
            {
                primaryKnown: true,
                walsender: walsender("replica_1"),
                replay: replay({ paused: true, since_last_replay_s: 3 }),
            },
            { warnMs: 1000, failMs: 2000 },
            "FAIL",
            /lag 3\.00 s >= --lag-fail 2\.00 s/,
        ],
        [
            "not streaming: since last replay counts",
            { primaryKnown: true, replay: replay({ since_last_replay_s: 90 }) },
            t,
            "FAIL",
            /not streaming \(not in pg_stat_replication\)/,
        ],
        [
            "replica unreachable, primary sees it",
            {
                primaryKnown: true,
                walsender: walsender("replica_1", { replay_bytes: 100, replay_lag_s: 1 }),
                replicaError: "connection refused",
            },
            t,
            "PASS",
            /replay lag 1\.00 s, 100 B; replica unreachable \(connection refused\)/,
        ],
        [
            "nothing known",
            { primaryKnown: true, replicaError: "connection refused" },
            t,
            "FAIL",
            /^lag unknown: replica unreachable \(connection refused\); not streaming/,
        ],
        [
            "primary unknown",
            { primaryKnown: false, replay: replay({ since_last_replay_s: 5 }) },
            t,
            "PASS",
            /bytes unknown; last replayed commit 5\.00 s ago; primary not readable/,
        ],
        [
            "byte threshold",
            {
                primaryKnown: true,
                walsender: walsender("replica_1", { replay_bytes: 2 * 1024 ** 2 }),
                replay: replay(),
            },
            { ...t, failBytes: 1024 ** 2 },
            "FAIL",
            /--lag-fail-bytes 1\.0 MB/,
        ],
    ])("%s", (_name, input, thresholds, status, detail) => {
        const r = evaluateLag(R1, input, thresholds);
        expect(r).toMatchObject({ check: "lag", node: "replica-1", status });
        expect(r.detail).toMatch(detail);
    });

    test("metrics", () => {
        const r = evaluateLag(
            R1,
            {
                primaryKnown: true,
                walsender: walsender("replica_1", { replay_bytes: 10, replay_lag_s: 0.25 }),
                replay: replay({ behind: true, since_last_replay_s: 0.5 }),
            },
            t,
        );
        expect(r.metrics).toEqual({
            replayLagBytes: 10,
            replayLagMs: 500,
            primaryReplayLagMs: 250,
            replicaLagMs: 500,
            paused: false,
        });
    });
});

describe("pgbouncer", () => {
    test.each([
        [{ cluster_name: "primary", in_recovery: false }, "PASS"],
        [{ cluster_name: "replica_1", in_recovery: true }, "FAIL"],
        [{ cluster_name: "primary", in_recovery: true }, "FAIL"],
    ])("rw %j → %s", (row, status) => {
        expect(evaluatePgbouncerRw("app", row)).toMatchObject({
            check: "pgbouncer",
            node: "pgbouncer-rw",
            status,
        });
    });

    test.each([
        [{ cluster_name: "replica_2", in_recovery: true }, "PASS", /= replica-2$/],
        [
            { cluster_name: "primary", in_recovery: false },
            "FAIL",
            /reaches cluster_name=primary \(not in recovery\), expected a replica in recovery \(replica_1, replica_2\)/,
        ],
        [{ cluster_name: "replica_9", in_recovery: true }, "FAIL", /expected a replica/],
    ])("ro %j → %s", (row, status, detail) => {
        const r = evaluatePgbouncerRo("app_ro", [R1, R2], row);
        expect(r).toMatchObject({ node: "pgbouncer-ro", status });
        expect(r.detail).toMatch(detail);
    });
});
