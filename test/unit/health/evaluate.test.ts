import {
    evaluateArchive,
    evaluateBackup,
    evaluateHealth,
    evaluatePrimaryHealth,
    evaluateReplicas,
    evaluateSlotHealth,
    worstHealth,
    type BackupFacts,
    type GoodSample,
    type HealthResult,
    type Sample,
} from "../../../scripts/health/evaluate";
import {
    ARCHIVE,
    BACKUP,
    EXPECT,
    GB,
    MB,
    PRIMARY,
    REPLICAS,
    sample,
    slot,
    THRESHOLDS,
    walsender,
} from "./fixtures";

const byNode = (results: HealthResult[], node: string) => results.find((r) => r.node === node)!;

describe("worstHealth", () => {
    test.each([
        [[], "OK"],
        [["OK", "WARN"], "WARN"],
        [["ALERT", "OK", "WARN"], "ALERT"],
    ] as const)("%j → %s", (statuses, expected) => {
        expect(worstHealth(...statuses)).toBe(expected);
    });
});

describe("evaluatePrimaryHealth", () => {
    const failed = (error: string): Sample => ({ ok: false, at: 0, error });

    test("answers every sample, not in recovery → OK", () => {
        expect(evaluatePrimaryHealth([sample(), sample()])).toMatchObject({
            status: "OK",
            detail: "answers, not in recovery, PostgreSQL 15.18; 2 of 2 samples answered",
        });
    });
    test("in recovery → ALERT", () => {
        expect(evaluatePrimaryHealth([sample({ primary: { ...PRIMARY, in_recovery: true } })])).toMatchObject(
            { status: "ALERT", detail: expect.stringMatching(/^in recovery/) },
        );
    });
    test("last sample failed → ALERT with the error", () => {
        expect(
            evaluatePrimaryHealth([
                sample(),
                failed("cannot connect to 127.0.0.1:5432 (database app): connection refused"),
            ]),
        ).toMatchObject({
            status: "ALERT",
            detail: "cannot read the primary: cannot connect to 127.0.0.1:5432 (database app): connection refused (1 of 2 samples answered)",
        });
    });
    test("an earlier sample failed, the last answered → WARN", () => {
        expect(evaluatePrimaryHealth([failed("query failed: connection reset"), sample()])).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(
                /1 of 2 samples answered, last error: query failed: connection reset$/,
            ),
        });
    });
});

describe("evaluateReplicas", () => {
    test("streaming and idle (replay_lag NULL, 0 bytes) → OK with 0 lag", () => {
        const [r1, r2] = evaluateReplicas(REPLICAS, [sample()], THRESHOLDS);
        expect(r1).toEqual({
            check: "replica",
            node: "replica-1",
            status: "OK",
            detail: "streaming async from 172.18.0.3; replay lag 0 ms, 0 B",
            metrics: {
                application: "replica_1",
                state: "streaming",
                syncState: "async",
                streamingSamples: 1,
                samples: 1,
                replayLagMsMax: 0,
                replayLagMsLast: 0,
                replayLagBytesMax: 0,
                replayLagBytesLast: 0,
            },
        });
        expect(r2.node).toBe("replica-2");
    });

    test.each([
        ["time at warn", { replay_lag_s: 30 }, "WARN", /lag 30\.0 s >= --lag-warn 30\.0 s/],
        ["time at alert", { replay_lag_s: 61 }, "ALERT", /lag 1 min 1 s >= --lag-alert 1 min 0 s/],
        [
            "bytes at warn",
            { replay_bytes: 300 * MB, replay_lag_s: 1 },
            "WARN",
            /lag 300 MB >= --lag-warn-bytes 256 MB/,
        ],
        [
            "bytes at alert",
            { replay_bytes: 2 * GB, replay_lag_s: 1 },
            "ALERT",
            /lag 2\.0 GB >= --lag-alert-bytes 1\.0 GB/,
        ],
        ["below both", { replay_bytes: MB, replay_lag_s: 2 }, "OK", /replay lag 2\.00 s, 1\.0 MB$/],
    ])("%s", (_name, over, status, detail) => {
        const r = evaluateReplicas(
            REPLICAS,
            [sample({ walsenders: [walsender("replica_1", over), walsender("replica_2")] })],
            THRESHOLDS,
        )[0];
        expect(r.status).toBe(status);
        expect(r.detail).toMatch(detail);
    });

    test("no walsender → ALERT naming the application_name; the other replica unaffected", () => {
        const rs = evaluateReplicas(REPLICAS, [sample({ walsenders: [walsender("replica_1")] })], THRESHOLDS);
        expect(byNode(rs, "replica-2")).toMatchObject({
            status: "ALERT",
            detail: "not streaming: no walsender with application_name=replica_2 on the primary",
            metrics: { state: null },
        });
        expect(byNode(rs, "replica-1").status).toBe("OK");
    });

    test("a walsender that is catching up, not streaming → ALERT", () => {
        const r = evaluateReplicas(
            REPLICAS,
            [sample({ walsenders: [walsender("replica_1", { state: "catchup" }), walsender("replica_2")] })],
            THRESHOLDS,
        )[0];
        expect(r).toMatchObject({ status: "ALERT", detail: "state catchup, not streaming" });
    });

    test("over a window: max and last, the max judged; a gap is a WARN, not streaming at the end an ALERT", () => {
        const window: GoodSample[] = [
            sample({
                walsenders: [
                    walsender("replica_1", { replay_lag_s: 45, replay_bytes: 2 * MB }),
                    walsender("replica_2"),
                ],
            }),
            sample({ walsenders: [walsender("replica_1", { replay_lag_s: 0.2, replay_bytes: 0 })] }),
            sample({ walsenders: [walsender("replica_1", { replay_lag_s: null, replay_bytes: 0 })] }),
        ];
        const rs = evaluateReplicas(REPLICAS, window, THRESHOLDS);
        expect(byNode(rs, "replica-1")).toMatchObject({
            status: "WARN",
            detail: "streaming async from 172.18.0.3; replay lag max 45.0 s / last 0 ms, max 2.0 MB / last 0 B; lag 45.0 s >= --lag-warn 30.0 s",
            metrics: {
                replayLagMsMax: 45_000,
                replayLagMsLast: 0,
                replayLagBytesMax: 2 * MB,
                replayLagBytesLast: 0,
                streamingSamples: 3,
            },
        });
        expect(byNode(rs, "replica-2")).toMatchObject({
            status: "ALERT",
            detail: expect.stringMatching(/\(streaming in 1 of 3 samples\)$/),
        });

        const back = evaluateReplicas(REPLICAS, [window[1], window[0]], THRESHOLDS);
        expect(byNode(back, "replica-2")).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(/not streaming in 1 of 2 samples$/),
        });
    });
});

describe("evaluateSlotHealth", () => {
    const slots = (over: Parameters<typeof slot>[1]) => [
        slot("pgha_replica_1", over),
        slot("pgha_replica_2", { active_pid: 102 }),
    ];

    test("active, reserved, little WAL → OK with the figures", () => {
        expect(evaluateSlotHealth(REPLICAS, [sample()], THRESHOLDS)[0]).toEqual({
            check: "slot",
            node: "replica-1",
            status: "OK",
            detail: "slot pgha_replica_1 active, wal_status reserved, retains 64.0 kB",
            metrics: {
                slot: "pgha_replica_1",
                active: true,
                walStatus: "reserved",
                activeSamples: 1,
                samples: 1,
                retainedBytesMax: 65536,
                retainedBytesLast: 65536,
                maxSlotWalKeepBytes: 8 * GB,
            },
        });
    });

    test.each([
        [
            "50% of max_slot_wal_keep_size → WARN",
            { retained_bytes: 4 * GB },
            "WARN",
            /retained 4\.0 GB >= --slot-warn 50% of max_slot_wal_keep_size 8\.0 GB = 4\.0 GB/,
        ],
        [
            "80% → ALERT",
            { retained_bytes: 7 * GB, wal_status: "extended" },
            "ALERT",
            /retained 7\.0 GB >= --slot-alert 80% of max_slot_wal_keep_size 8\.0 GB = 6\.4 GB/,
        ],
        [
            "inactive → ALERT",
            { active: false, active_pid: null },
            "ALERT",
            /^slot pgha_replica_1 inactive: replica-1 does not stream from it; retains 64\.0 kB$/,
        ],
        [
            "lost → ALERT",
            { wal_status: "lost", retained_bytes: null },
            "ALERT",
            /wal_status lost: the WAL the replica needs is gone/,
        ],
        [
            "unreserved → ALERT",
            { wal_status: "unreserved" },
            "ALERT",
            /wal_status unreserved: past max_slot_wal_keep_size/,
        ],
        ["logical → ALERT", { slot_type: "logical" }, "ALERT", /a logical slot, expected physical/],
    ])("%s", (_name, over, status, detail) => {
        const r = evaluateSlotHealth(REPLICAS, [sample({ slots: slots(over) })], THRESHOLDS)[0];
        expect(r.status).toBe(status);
        expect(r.detail).toMatch(detail);
    });

    test("missing → ALERT", () => {
        const rs = evaluateSlotHealth(REPLICAS, [sample({ slots: [slot("pgha_replica_2")] })], THRESHOLDS);
        expect(byNode(rs, "replica-1")).toMatchObject({
            status: "ALERT",
            detail: "slot pgha_replica_1 does not exist on the primary",
        });
    });

    test("absolute thresholds; unlimited max_slot_wal_keep_size leaves percentages unapplied", () => {
        const unlimited = sample({
            primary: { ...PRIMARY, max_slot_wal_keep_bytes: null },
            slots: slots({ retained_bytes: 100 * GB }),
        });
        expect(evaluateSlotHealth(REPLICAS, [unlimited], THRESHOLDS)[0].status).toBe("OK");
        const abs = {
            ...THRESHOLDS,
            slotWarn: { kind: "absolute", value: 10 * MB },
            slotAlert: { kind: "absolute", value: GB },
        } as const;
        expect(evaluateSlotHealth(REPLICAS, [unlimited], abs)[0]).toMatchObject({
            status: "ALERT",
            detail: expect.stringMatching(/retained 100 GB >= --slot-alert 1\.0 GB$/),
        });
    });

    test("a slot of nobody in the outputs: inactive → ALERT on the primary, active → WARN", () => {
        const stray = (active: boolean) =>
            evaluateSlotHealth(
                REPLICAS,
                [sample({ slots: [...slots({}), slot("pgha_replica_9", { active })] })],
                THRESHOLDS,
            );
        expect(byNode(stray(false), "primary")).toMatchObject({
            status: "ALERT",
            detail: expect.stringMatching(
                /^slot pgha_replica_9 inactive and not used by any replica of the outputs/,
            ),
        });
        expect(byNode(stray(true), "primary")).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(/not in the outputs$/),
        });
    });

    test("over a window: inactive earlier only → WARN, retained max judged", () => {
        const window = [sample({ slots: slots({ active: false, retained_bytes: 5 * GB }) }), sample()];
        expect(evaluateSlotHealth(REPLICAS, window, THRESHOLDS)[0]).toMatchObject({
            status: "WARN",
            detail: "slot pgha_replica_1 active, wal_status reserved, retains max 5.0 GB / last 64.0 kB; retained 5.0 GB >= --slot-warn 50% of max_slot_wal_keep_size 8.0 GB = 4.0 GB; inactive in 1 of 2 samples",
        });
    });
});

describe("evaluateBackup", () => {
    const withBackup = (backup: GoodSample["backup"]) => sample({ backup });
    const good = BACKUP as Extract<BackupFacts, { ok: true }>;
    const ok = (ageH: number): Extract<BackupFacts, { ok: true }> => ({
        ...good,
        lastOk: { ...good.lastOk!, age_s: ageH * 3600 },
    });

    test.each([
        [1, "OK", /^last good backup full 20261123-100000F finished 1 h 0 min ago$/],
        [9, "WARN", /age 9 h 0 min >= --backup-warn 1\.5x of the 6 h 0 min backup interval = 9 h 0 min/],
        [12.5, "ALERT", /age 12 h 30 min >= --backup-alert 2x of the 6 h 0 min backup interval = 12 h 0 min/],
    ])("last good backup %d h old → %s", (hours, status, detail) => {
        const r = evaluateBackup(withBackup(ok(hours)), EXPECT, THRESHOLDS);
        expect(r.status).toBe(status);
        expect(r.detail).toMatch(detail);
        expect(r.metrics).toMatchObject({
            lastOkAgeMs: hours * 3_600_000,
            intervalMs: 6 * 3_600_000,
            warnMs: 9 * 3_600_000,
            alertMs: 12 * 3_600_000,
        });
    });

    test("no good backup → ALERT, with the last failure", () => {
        const r = evaluateBackup(
            withBackup({
                ok: true,
                lastOk: null,
                lastFailed: {
                    backup_type: "full",
                    label: null,
                    finished_at: "x",
                    age_s: 120,
                    detail: "repo unreachable",
                },
                failedSinceOk: 2,
            }),
            EXPECT,
            THRESHOLDS,
        );
        expect(r).toMatchObject({
            status: "ALERT",
            detail: "no good backup in pgha.backup_runs; 2 failed runs since, the last 2 min 0 s ago: repo unreachable",
        });
    });

    test("a failed run since the last good one → WARN", () => {
        const r = evaluateBackup(
            withBackup({
                ...ok(1),
                lastFailed: { backup_type: "diff", label: null, finished_at: "x", age_s: 60 },
                failedSinceOk: 1,
            }),
            EXPECT,
            THRESHOLDS,
        );
        expect(r).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(/; 1 failed run since, the last 1 min 0 s ago$/),
        });
    });

    test("pgha.backup_runs unreadable → ALERT", () => {
        expect(
            evaluateBackup(
                withBackup({ ok: false, error: "SQLSTATE 42P01: relation does not exist" }),
                EXPECT,
                THRESHOLDS,
            ),
        ).toMatchObject({
            status: "ALERT",
            detail: "cannot read pgha.backup_runs: SQLSTATE 42P01: relation does not exist",
        });
    });

    test("backups off (no backup output, archive_mode off) → OK, not checked; unknown outputs with archiving on → checked", () => {
        const off = sample({
            primary: { ...PRIMARY, archive_mode: "off" },
            backup: { ok: true, lastOk: null, lastFailed: null, failedSinceOk: 0 },
        });
        const unknown = { ...EXPECT, backupEnabled: undefined, backupIntervalFrom: "default" as const };
        expect(evaluateBackup(off, unknown, THRESHOLDS)).toMatchObject({
            status: "OK",
            detail: expect.stringMatching(/backups are off/),
        });
        expect(
            evaluateBackup(
                withBackup({ ok: true, lastOk: null, lastFailed: null, failedSinceOk: 0 }),
                unknown,
                THRESHOLDS,
            ).status,
        ).toBe("ALERT");
        expect(evaluateBackup(withBackup(ok(10)), unknown, THRESHOLDS).detail).toMatch(
            /of the 6 h 0 min backup interval \(default\) = 9 h 0 min/,
        );
    });

    test("an absolute threshold ignores the interval", () => {
        const t = {
            ...THRESHOLDS,
            backupWarn: { kind: "absolute", value: 30 * 60_000 },
            backupAlert: { kind: "absolute", value: 3_600_000 },
        } as const;
        expect(evaluateBackup(withBackup(ok(1)), EXPECT, t)).toMatchObject({
            status: "ALERT",
            detail: expect.stringMatching(/age 1 h 0 min >= --backup-alert 1 h 0 min$/),
        });
    });
});

describe("evaluateArchive", () => {
    const at = (archive: Partial<typeof ARCHIVE>, primary: Partial<typeof PRIMARY> = {}) =>
        sample({ archive: { ...ARCHIVE, ...archive }, primary: { ...PRIMARY, ...primary } });

    test("nothing waiting → OK whatever the last archived age (an idle primary switches no segment)", () => {
        const r = evaluateArchive(at({}), at({ last_archived_age_s: 7200 }), EXPECT, THRESHOLDS);
        expect(r).toMatchObject({
            status: "OK",
            detail: "last archived 00000001000000000000000C 2 h 0 min ago, no WAL waiting",
        });
        expect(r.metrics).toMatchObject({
            archiveMode: "on",
            archiveTimeoutMs: 60_000,
            readyCount: 0,
            oldestReadyAgeMs: 0,
            warnMs: 120_000,
            alertMs: 300_000,
            failing: false,
        });
    });

    test.each([
        [90, "OK"],
        [120, "WARN"],
        [301, "ALERT"],
    ])("WAL waiting %d s → %s (2x / 5x archive_timeout 60 s)", (waitS, status) => {
        expect(
            evaluateArchive(at({}), at({ ready_count: 3, oldest_ready_age_s: waitS }), EXPECT, THRESHOLDS)
                .status,
        ).toBe(status);
    });

    test("the alert reason names the flag and archive_timeout", () => {
        expect(
            evaluateArchive(at({}), at({ ready_count: 3, oldest_ready_age_s: 400 }), EXPECT, THRESHOLDS)
                .detail,
        ).toBe(
            "last archived 00000001000000000000000C 30.0 s ago, 3 segments waiting, the oldest for 6 min 40 s; waiting 6 min 40 s >= --archive-alert 5x of archive_timeout 1 min 0 s = 5 min 0 s",
        );
    });

    test("the last attempt failed, or failures during the window → WARN", () => {
        const failing = evaluateArchive(
            at({}),
            at({
                failing: true,
                failed_count: 4,
                last_failed_wal: "00000001000000000000000D",
                last_failed_age_s: 5,
            }),
            EXPECT,
            THRESHOLDS,
        );
        expect(failing).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(
                /the last attempt failed \(00000001000000000000000D, 5\.00 s ago; failed_count 4\); 4 failed attempts during the window$/,
            ),
        });
        const recovered = evaluateArchive(
            at({ failed_count: 1 }),
            at({ failed_count: 2 }),
            EXPECT,
            THRESHOLDS,
        );
        expect(recovered).toMatchObject({
            status: "WARN",
            detail: expect.stringMatching(/; 1 failed attempt during the window$/),
        });
    });

    test("archive_status unreadable → judged by the last archived age", () => {
        expect(
            evaluateArchive(at({}), at({ ready_count: null, last_archived_age_s: 400 }), EXPECT, THRESHOLDS),
        ).toMatchObject({ status: "ALERT", detail: expect.stringMatching(/waiting WAL unreadable/) });
    });

    test.each([
        [3, "OK", undefined],
        [4, "WARN", "backlog 64.0 MB >= --archive-queue-warn 50% of pgha.archive_queue_max_mb = 64.0 MB"],
        [7, "ALERT", "backlog 112 MB >= --archive-queue-alert 80% of pgha.archive_queue_max_mb = 102 MB"],
    ])(
        "%d segments waiting of a 128 MB bound (pgha:archiveQueueMaxMb) → %s, before pgBackRest drops WAL",
        (ready, status, reason) => {
            const r = evaluateArchive(
                at({}),
                at(
                    { ready_count: ready, oldest_ready_age_s: 10 },
                    { archive_queue_max_bytes: 128 * MB, wal_segment_bytes: 16 * MB },
                ),
                EXPECT,
                THRESHOLDS,
            );
            expect(r.status).toBe(status);
            expect(r.detail).toContain(
                "of the 128 MB pgBackRest keeps before dropping WAL (a gap in point-in-time recovery)",
            );
            if (reason) expect(r.detail).toContain(reason);
            expect(r.metrics).toMatchObject({ backlogBytes: ready * 16 * MB, queueMaxBytes: 128 * MB });
        },
    );

    test("no bound set (pgha.archive_queue_max_mb absent): the backlog is reported, not judged", () => {
        const r = evaluateArchive(
            at({}),
            at({ ready_count: 400, oldest_ready_age_s: 10 }),
            EXPECT,
            THRESHOLDS,
        );
        expect(r.status).toBe("OK");
        expect(r.metrics).toMatchObject({ backlogBytes: 400 * 16 * MB, queueMaxBytes: null });
    });

    test("archive_mode off: ALERT when the outputs have backups, not checked otherwise", () => {
        const off = at({}, { archive_mode: "off" });
        expect(evaluateArchive(off, off, EXPECT, THRESHOLDS)).toMatchObject({
            status: "ALERT",
            detail: expect.stringMatching(/^archive_mode is off, but the stack has backups/),
        });
        expect(evaluateArchive(off, off, { ...EXPECT, backupEnabled: undefined }, THRESHOLDS)).toMatchObject({
            status: "OK",
            detail: expect.stringMatching(/not checked/),
        });
    });
});

describe("evaluateHealth", () => {
    test("a healthy cluster: one line per check and node, all OK, in order", () => {
        const results = evaluateHealth([sample(), sample()], EXPECT, THRESHOLDS);
        expect(results.map((r) => `${r.check}/${r.node}/${r.status}`)).toEqual([
            "primary/primary/OK",
            "replica/replica-1/OK",
            "replica/replica-2/OK",
            "slot/replica-1/OK",
            "slot/replica-2/OK",
            "backup/primary/OK",
            "archive/primary/OK",
        ]);
    });

    test("no sample answered: only the primary's ALERT", () => {
        expect(
            evaluateHealth(
                [
                    {
                        ok: false,
                        at: 0,
                        error: "cannot connect to 127.0.0.1:5432 (database app): connection refused",
                    },
                ],
                EXPECT,
                THRESHOLDS,
            ),
        ).toEqual([
            {
                check: "primary",
                node: "primary",
                status: "ALERT",
                detail: "cannot read the primary: cannot connect to 127.0.0.1:5432 (database app): connection refused (0 of 1 samples answered)",
                metrics: { samplesAnswered: 0, samples: 1 },
            },
        ]);
    });
});
