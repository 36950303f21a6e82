/*
 * The checks' verdicts as pure functions of what the servers returned: no I/O here, so every
 * rule is unit-testable. run.ts does the querying and calls these.
 */
import { formatBytes, formatMs } from "./format";
import type { ReplicaEndpoint } from "./outputs";
import { classifyLag, type LagThresholds } from "./thresholds";
import type { CheckResult, Metrics } from "./types";

/** The node name of the primary in the report. */
export const PRIMARY_NODE = "primary";
/** The `cluster_name` of a node: its name with `_` for `-` (`replica-1` → `replica_1`). */
export function clusterNameOf(node: string): string {
    return node.replace(/-/g, "_");
}

/** The primary's `cluster_name` setting. */
export const PRIMARY_CLUSTER_NAME = "primary";
/** Slots whose names start with this belong to the cluster; others are the user's. */
export const CLUSTER_SLOT_PREFIX = "pgha_";

/** A row of `pg_stat_replication` as run.ts selects it. */
export interface ReplicationRow {
    pid: number;
    application_name: string;
    state: string | null;
    sync_state: string | null;
    client_addr: string | null;
    /** `pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)`; null when the standby sent no position yet. */
    replay_bytes: number | null;
    /** `replay_lag` in seconds; null when the standby is idle and caught up. */
    replay_lag_s: number | null;
}

/** A row of `pg_replication_slots` as run.ts selects it. */
export interface SlotRow {
    slot_name: string;
    slot_type: string;
    active: boolean;
    active_pid: number | null;
    wal_status: string | null;
    /** `pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)`; null when the slot holds no WAL. */
    retained_bytes: number | null;
}

/** What a replica says about its own replay, as run.ts selects it. */
export interface ReplayStatus {
    paused: boolean;
    /** `pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()`. */
    behind: boolean;
    /** `now() - pg_last_xact_replay_timestamp()` in seconds; null when nothing was replayed since start. */
    since_last_replay_s: number | null;
}

const result = (
    check: CheckResult["check"],
    node: string,
    status: CheckResult["status"],
    detail: string,
    metrics?: Metrics,
): CheckResult => (metrics ? { check, node, status, detail, metrics } : { check, node, status, detail });

/** The `sync_state` every replica shows in a given synchronousMode. */
export function expectedSyncState(mode: "off" | "any1"): string {
    return mode === "any1" ? "quorum" : "async";
}

/**
 * `primary`: the primary must answer and not be in recovery. A `cluster_name` other than
 * `primary` is a warning (the endpoint may reach a promoted replica).
 */
export function evaluatePrimary(
    row: { in_recovery: boolean; cluster_name: string; server_version: string },
    expectedClusterName = PRIMARY_CLUSTER_NAME,
): CheckResult {
    if (row.in_recovery) {
        return result(
            "primary",
            PRIMARY_NODE,
            "FAIL",
            `in recovery (cluster_name=${row.cluster_name}): the primary endpoint reaches a standby, not the primary`,
        );
    }
    const detail = `accepts writes (not in recovery), cluster_name=${row.cluster_name}, PostgreSQL ${row.server_version}`;
    if (row.cluster_name !== expectedClusterName) {
        return result(
            "primary",
            PRIMARY_NODE,
            "WARN",
            `${detail}; expected cluster_name=${expectedClusterName}: failed over without updating the outputs?`,
        );
    }
    return result("primary", PRIMARY_NODE, "PASS", detail);
}

function describeWalsender(r: ReplicationRow): string {
    return `${r.application_name || "(no application_name)"} ${r.state ?? "?"} ${r.sync_state ?? "?"}`;
}

/**
 * `streaming`: every expected replica has exactly one walsender (by application_name) in state
 * `streaming` with the `sync_state` of the synchronousMode. Walsenders of nobody expected are
 * listed as information. Under `any1` with no replica confirming, a line on the primary says what
 * writes do meanwhile: wait (`strict`, a FAIL) or go on alone (a WARN).
 */
export function evaluateStreaming(
    replicas: readonly ReplicaEndpoint[],
    rows: readonly ReplicationRow[],
    mode: "off" | "any1",
    synchronousStandbyNames: string,
    strict = true,
): CheckResult[] {
    const out: CheckResult[] = [];
    const wantSync = expectedSyncState(mode);
    const seen = rows.length ? rows.map(describeWalsender).join("; ") : "no walsenders";
    for (const r of replicas) {
        const mine = rows.filter((row) => row.application_name === r.applicationName);
        if (mine.length === 0) {
            out.push(
                result(
                    "streaming",
                    r.name,
                    "FAIL",
                    `no walsender with application_name=${r.applicationName} in pg_stat_replication (seen: ${seen})`,
                ),
            );
            continue;
        }
        if (mine.length > 1) {
            out.push(
                result(
                    "streaming",
                    r.name,
                    "FAIL",
                    `${mine.length} walsenders with application_name=${r.applicationName}: two standbys use the same name (${mine.map(describeWalsender).join("; ")})`,
                ),
            );
            continue;
        }
        const row = mine[0];
        const from = row.client_addr ? ` from ${row.client_addr}` : "";
        if (row.state !== "streaming") {
            out.push(
                result(
                    "streaming",
                    r.name,
                    "FAIL",
                    `state ${row.state ?? "unknown"}, expected streaming${from}`,
                ),
            );
        } else if (row.sync_state !== wantSync) {
            out.push(
                result(
                    "streaming",
                    r.name,
                    "FAIL",
                    `sync_state ${row.sync_state ?? "unknown"}, expected ${wantSync} (synchronousMode ${mode}; primary has synchronous_standby_names='${synchronousStandbyNames}')`,
                ),
            );
        } else {
            out.push(
                result("streaming", r.name, "PASS", `streaming, sync_state ${row.sync_state}${from}`, {
                    pid: row.pid,
                }),
            );
        }
    }
    const expected = new Set(replicas.map((r) => r.applicationName));
    const others = rows.filter((row) => !expected.has(row.application_name));
    if (others.length > 0) {
        out.push(
            result(
                "streaming",
                PRIMARY_NODE,
                "PASS",
                `also connected, not in the outputs: ${others.map(describeWalsender).join("; ")}`,
            ),
        );
    }
    if (replicas.length === 0) {
        out.push(
            result("streaming", PRIMARY_NODE, "WARN", "the outputs list no replicas: nothing replicates"),
        );
    }
    const confirming = rows.filter(
        (row) => expected.has(row.application_name) && row.sync_state === wantSync,
    );
    if (mode === "any1" && replicas.length > 0 && confirming.length === 0) {
        out.push(
            strict
                ? result(
                      "streaming",
                      PRIMARY_NODE,
                      "FAIL",
                      "no replica can confirm a commit: writes wait until one streams again (synchronousMode any1, synchronousStrict true)",
                  )
                : result(
                      "streaming",
                      PRIMARY_NODE,
                      "WARN",
                      "no replica confirms commits: the primary acknowledges writes alone until one streams again, and a failover meanwhile can lose them (synchronousMode any1, synchronousStrict false)",
                  ),
        );
    }
    return out;
}

function slotState(s: SlotRow): string {
    const held =
        s.retained_bytes === null ? "holds no WAL" : `retains ${formatBytes(s.retained_bytes)} of WAL`;
    return `${s.active ? "active" : "inactive"}, ${held}${s.wal_status ? `, wal_status ${s.wal_status}` : ""}`;
}

/**
 * `slots`: every expected physical slot exists, is active, and is held by its replica's
 * walsender; no unexpected `pgha_` slot; no inactive slot retaining WAL; a lost slot fails,
 * an `unreserved` one warns. User slots (not `pgha_`) are listed as information.
 */
export function evaluateSlots(
    replicas: readonly ReplicaEndpoint[],
    slots: readonly SlotRow[],
    walsenders: readonly ReplicationRow[],
): CheckResult[] {
    const out: CheckResult[] = [];
    const byName = new Map(slots.map((s) => [s.slot_name, s]));
    for (const r of replicas) {
        const s = byName.get(r.slotName);
        if (!s) {
            out.push(result("slots", r.name, "FAIL", `slot ${r.slotName} does not exist on the primary`));
            continue;
        }
        const metrics: Metrics = { retainedBytes: s.retained_bytes, active: s.active };
        const walsender = walsenders.find((w) => w.application_name === r.applicationName);
        if (s.slot_type !== "physical") {
            out.push(
                result(
                    "slots",
                    r.name,
                    "FAIL",
                    `slot ${r.slotName} is a ${s.slot_type} slot, expected physical`,
                    metrics,
                ),
            );
        } else if (!s.active) {
            out.push(result("slots", r.name, "FAIL", `slot ${r.slotName} is ${slotState(s)}`, metrics));
        } else if (s.wal_status === "lost") {
            out.push(
                result(
                    "slots",
                    r.name,
                    "FAIL",
                    `slot ${r.slotName} lost WAL the replica still needs (${slotState(s)})`,
                    metrics,
                ),
            );
        } else if (walsender && s.active_pid !== null && s.active_pid !== walsender.pid) {
            out.push(
                result(
                    "slots",
                    r.name,
                    "FAIL",
                    `slot ${r.slotName} is held by walsender pid ${s.active_pid}, but ${r.applicationName} streams from pid ${walsender.pid}: the replica does not use its slot`,
                    metrics,
                ),
            );
        } else if (s.wal_status === "unreserved") {
            out.push(
                result(
                    "slots",
                    r.name,
                    "WARN",
                    `slot ${r.slotName} is ${slotState(s)}: WAL will be removed at the next checkpoint (max_slot_wal_keep_size)`,
                    metrics,
                ),
            );
        } else {
            out.push(result("slots", r.name, "PASS", `slot ${r.slotName} ${slotState(s)}`, metrics));
        }
    }
    const expected = new Set(replicas.map((r) => r.slotName));
    const userSlots: string[] = [];
    for (const s of slots) {
        if (expected.has(s.slot_name)) continue;
        const metrics: Metrics = { slot: s.slot_name, retainedBytes: s.retained_bytes, active: s.active };
        if (s.slot_name.startsWith(CLUSTER_SLOT_PREFIX)) {
            out.push(
                result(
                    "slots",
                    PRIMARY_NODE,
                    "FAIL",
                    `unexpected cluster slot ${s.slot_name} (${s.slot_type}, ${slotState(s)}): no replica in the outputs uses it`,
                    metrics,
                ),
            );
        } else if (!s.active && s.retained_bytes !== null) {
            out.push(
                result(
                    "slots",
                    PRIMARY_NODE,
                    "FAIL",
                    `user slot ${s.slot_name} (${s.slot_type}) is ${slotState(s)}: an abandoned slot fills the disk`,
                    metrics,
                ),
            );
        } else {
            userSlots.push(`${s.slot_name} (${s.slot_type}, ${slotState(s)})`);
        }
    }
    if (userSlots.length > 0)
        out.push(
            result(
                "slots",
                PRIMARY_NODE,
                "PASS",
                `user slots, not managed by the cluster: ${userSlots.join("; ")}`,
            ),
        );
    return out;
}

/** What the replica-readonly probe saw on one replica. */
export interface ReadonlyProbe {
    in_recovery: boolean;
    cluster_name: string;
    /** SQLSTATE of the rejected write, `null` when the write was accepted, undefined when not tried. */
    writeSqlState?: string | null;
    /** Message of the rejected write. */
    writeError?: string;
}

/**
 * `replica-readonly`: the replica is in recovery, is the node the outputs say it is
 * (cluster_name = applicationName), and rejects a write with SQLSTATE 25006.
 */
export function evaluateReadonly(r: ReplicaEndpoint, p: ReadonlyProbe): CheckResult {
    if (!p.in_recovery) {
        return result(
            "replica-readonly",
            r.name,
            "FAIL",
            `not in recovery (cluster_name=${p.cluster_name}): it accepts writes; promoted?`,
        );
    }
    if (p.cluster_name !== r.applicationName) {
        return result(
            "replica-readonly",
            r.name,
            "FAIL",
            `answers as cluster_name=${p.cluster_name}, expected ${r.applicationName}: the endpoint reaches another node`,
        );
    }
    if (p.writeSqlState === null) {
        return result(
            "replica-readonly",
            r.name,
            "FAIL",
            "in recovery, but an INSERT into pgha.canary was accepted",
        );
    }
    if (p.writeSqlState !== "25006") {
        return result(
            "replica-readonly",
            r.name,
            "FAIL",
            `in recovery, but the test write failed with SQLSTATE ${p.writeSqlState ?? "none"} (${p.writeError ?? "no error"}), expected 25006 read_only_sql_transaction`,
        );
    }
    return result(
        "replica-readonly",
        r.name,
        "PASS",
        `in recovery, cluster_name=${p.cluster_name}, write rejected with SQLSTATE 25006`,
    );
}

/** What the lag check knows about one replica. */
export interface LagInput {
    /** Whether pg_stat_replication could be read on the primary (false: primary unreachable). */
    primaryKnown: boolean;
    /** The replica's walsender row on the primary, if it streams. */
    walsender?: ReplicationRow;
    /** The replica's own replay status, if it answered. */
    replay?: ReplayStatus;
    /** Why the replica did not answer, if it did not. */
    replicaError?: string;
}

/**
 * `lag`: replay lag in bytes (primary's view) and time: the primary's `replay_lag`, and the
 * replica's `now() - pg_last_xact_replay_timestamp()` counted only while it has received WAL it
 * has not replayed, or while replay is paused (then it is the time since the last replayed
 * commit, from before the pause), or while it does not stream at all. The worst of these is
 * classified against the thresholds; a replica with no measurement at all fails.
 */
export function evaluateLag(r: ReplicaEndpoint, input: LagInput, t: LagThresholds): CheckResult {
    const { walsender, replay } = input;
    const notes: string[] = [];
    const times: number[] = [];
    if (walsender?.replay_lag_s != null) times.push(walsender.replay_lag_s * 1000);
    let replicaSideMs: number | null = null;
    if (replay) {
        const since =
            replay.since_last_replay_s === null ? null : Math.max(0, replay.since_last_replay_s * 1000);
        if (replay.paused) {
            notes.push(
                since === null
                    ? "replay paused"
                    : `replay paused, last replayed commit ${formatMs(since)} ago`,
            );
            replicaSideMs = since;
        } else if (!walsender) {
            // Not receiving: nothing says it is caught up, so its data is as old as its last replay.
            notes.push(
                since === null
                    ? "nothing replayed since start"
                    : `last replayed commit ${formatMs(since)} ago`,
            );
            replicaSideMs = since;
        } else if (replay.behind) {
            replicaSideMs = since;
        } else {
            replicaSideMs = 0;
        }
        if (replicaSideMs !== null) times.push(replicaSideMs);
    } else if (input.replicaError) {
        notes.push(`replica unreachable (${input.replicaError})`);
    }
    if (!input.primaryKnown) notes.push("primary not readable: bytes unknown");
    else if (!walsender) notes.push("not streaming (not in pg_stat_replication)");
    const bytes = walsender?.replay_bytes ?? null;
    const ms = times.length ? Math.max(...times) : null;
    const metrics: Metrics = {
        replayLagBytes: bytes,
        replayLagMs: ms === null ? null : Math.round(ms),
        primaryReplayLagMs:
            walsender?.replay_lag_s == null ? null : Math.round(walsender.replay_lag_s * 1000),
        replicaLagMs: replicaSideMs === null ? null : Math.round(replicaSideMs),
        paused: replay?.paused ?? null,
    };
    if (ms === null && bytes === null) {
        return result("lag", r.name, "FAIL", `lag unknown: ${notes.join("; ")}`, metrics);
    }
    const { status, reasons } = classifyLag({ ms, bytes }, t);
    const measured = [
        ms === null ? "time unknown" : formatMs(ms),
        bytes === null ? "bytes unknown" : formatBytes(bytes),
    ].join(", ");
    const detail = [`replay lag ${measured}`, ...reasons, ...notes].join("; ");
    // A paused replay is never healthy, even before it crosses a threshold.
    const finalStatus = status === "PASS" && replay?.paused ? "WARN" : status;
    return result("lag", r.name, finalStatus, detail, metrics);
}

/**
 * `pgbouncer` for the read-write entry: it must reach the primary (cluster_name `primary`,
 * not in recovery).
 */
export function evaluatePgbouncerRw(
    database: string,
    row: { cluster_name: string; in_recovery: boolean },
    expectedClusterName = PRIMARY_CLUSTER_NAME,
): CheckResult {
    const where = `rw entry ${database} reaches cluster_name=${row.cluster_name} (${row.in_recovery ? "in recovery" : "not in recovery"})`;
    const ok = row.cluster_name === expectedClusterName && !row.in_recovery;
    return result(
        "pgbouncer",
        "pgbouncer-rw",
        ok ? "PASS" : "FAIL",
        ok ? where : `${where}, expected the primary (cluster_name=${expectedClusterName}, not in recovery)`,
    );
}

/**
 * `pgbouncer` for the read-only entry: it must reach one of the replicas (in recovery, and
 * cluster_name one of their applicationNames).
 */
export function evaluatePgbouncerRo(
    database: string,
    replicas: readonly ReplicaEndpoint[],
    row: { cluster_name: string; in_recovery: boolean },
): CheckResult {
    const replica = replicas.find((r) => r.applicationName === row.cluster_name);
    const where = `ro entry ${database} reaches cluster_name=${row.cluster_name} (${row.in_recovery ? "in recovery" : "not in recovery"})`;
    if (replicas.length === 0) {
        return result(
            "pgbouncer",
            "pgbouncer-ro",
            "WARN",
            `${where}; the outputs list no replicas to check it against`,
        );
    }
    if (replica && row.in_recovery)
        return result("pgbouncer", "pgbouncer-ro", "PASS", `${where} = ${replica.name}`, {
            replica: replica.name,
        });
    return result(
        "pgbouncer",
        "pgbouncer-ro",
        "FAIL",
        `${where}, expected a replica in recovery (${replicas.map((r) => r.applicationName).join(", ")})`,
    );
}
