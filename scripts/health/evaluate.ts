/*
 * The health verdicts as pure functions of the samples read on the primary: no I/O here, so every
 * rule is unit-testable. collect.ts does the reading.
 */
import { PRIMARY_NODE, type ReplicationRow, type SlotRow } from "../verify/checks";
import { formatBytes, formatMs } from "../verify/format";
import type { ReplicaEndpoint } from "../verify/outputs";
import type { ResultLine } from "../verify/report";
import { classify } from "../verify/thresholds";
import type { Metrics } from "../verify/types";
import { describeThreshold, resolveThreshold, type HealthOptions, type Threshold } from "./args";

/** The verdict of one health line: OK and WARN exit 0, ALERT exits 1. */
export type HealthStatus = "OK" | "WARN" | "ALERT";

/** What a health line is about, in the order lines are reported. */
export const HEALTH_CHECKS = ["primary", "replica", "slot", "backup", "archive"] as const;

/** One of {@link HEALTH_CHECKS}. */
export type HealthCheckId = (typeof HEALTH_CHECKS)[number];

/** One line of the health report: a check on one node, with its figures in `metrics`. */
export interface HealthResult extends ResultLine {
    readonly check: HealthCheckId;
    /** `primary` or a replica's name. */
    readonly node: string;
    readonly status: HealthStatus;
    readonly detail: string;
    readonly metrics?: Metrics;
}

/** What the primary says about itself and its settings, as collect.ts selects it. */
export interface PrimaryFacts {
    in_recovery: boolean;
    server_version: string;
    /** `max_slot_wal_keep_size` in bytes; null when unlimited (-1). */
    max_slot_wal_keep_bytes: number | null;
    archive_mode: string;
    /** `archive_timeout` in seconds (0: off). */
    archive_timeout_s: number;
    /** `wal_segment_size` in bytes (16 MB when not read). */
    wal_segment_bytes?: number;
    /** `pgha.archive_queue_max_mb` in bytes: WAL pgBackRest keeps for the repository before dropping it; null when unset. */
    archive_queue_max_bytes?: number | null;
}

/** `pg_stat_archiver` plus the WAL waiting in `archive_status`, as collect.ts selects them. */
export interface ArchiveFacts {
    archived_count: number;
    last_archived_wal: string | null;
    /** `now() - last_archived_time` in seconds; null when nothing was archived since the stats reset. */
    last_archived_age_s: number | null;
    failed_count: number;
    last_failed_wal: string | null;
    last_failed_age_s: number | null;
    /** True when the most recent archive attempt failed (last_failed_time after last_archived_time). */
    failing: boolean;
    /** Segments with a `.ready` file (completed, not archived yet); null when it could not be read. */
    ready_count: number | null;
    /** Age of the oldest `.ready` file, in seconds; null when none (or unreadable). */
    oldest_ready_age_s: number | null;
}

/** A run of `pgha.backup_runs`. */
export interface BackupRun {
    backup_type: string;
    label: string | null;
    finished_at: string;
    /** `now() - finished_at` in seconds. */
    age_s: number;
    detail?: string | null;
}

/** What `pgha.backup_runs` says, or why it could not be read. */
export type BackupFacts =
    | {
          readonly ok: true;
          readonly lastOk: BackupRun | null;
          readonly lastFailed: BackupRun | null;
          readonly failedSinceOk: number;
      }
    | { readonly ok: false; readonly error: string };

/** One read of the primary, or why it failed. */
export type Sample =
    | {
          readonly ok: true;
          /** When it was taken (ms since the epoch). */
          readonly at: number;
          readonly primary: PrimaryFacts;
          readonly walsenders: readonly ReplicationRow[];
          readonly slots: readonly SlotRow[];
          readonly archive: ArchiveFacts;
          readonly backup: BackupFacts;
      }
    | { readonly ok: false; readonly at: number; readonly error: string };

/** The successful kind of {@link Sample}. */
export type GoodSample = Extract<Sample, { ok: true }>;

/** What the cluster is expected to have, from the outputs (and `--backup-interval`). */
export interface Expectations {
    readonly replicas: readonly ReplicaEndpoint[];
    /** True when the outputs have a `backup` entry; undefined when they do not say (then archive_mode decides). */
    readonly backupEnabled?: boolean;
    /** The backup interval in milliseconds and where it came from. */
    readonly backupIntervalMs: number;
    readonly backupIntervalFrom: "--backup-interval" | "outputs" | "default";
}

/** The thresholds {@link evaluateHealth} applies (a subset of {@link HealthOptions}). */
export type HealthThresholds = Pick<
    HealthOptions,
    | "lagWarnMs"
    | "lagAlertMs"
    | "lagWarnBytes"
    | "lagAlertBytes"
    | "slotWarn"
    | "slotAlert"
    | "backupWarn"
    | "backupAlert"
    | "archiveWarn"
    | "archiveAlert"
    | "archiveQueueWarn"
    | "archiveQueueAlert"
>;

const RANK: Record<HealthStatus, number> = { OK: 0, WARN: 1, ALERT: 2 };
const LEVEL = { PASS: "OK", WARN: "WARN", FAIL: "ALERT" } as const;

/** The most severe of the given statuses (OK when none). */
export function worstHealth(...statuses: HealthStatus[]): HealthStatus {
    return statuses.reduce<HealthStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), "OK");
}

const line = (
    check: HealthCheckId,
    node: string,
    status: HealthStatus,
    detail: string,
    metrics?: Metrics,
): HealthResult => (metrics ? { check, node, status, detail, metrics } : { check, node, status, detail });

/** A threshold pair resolved against its base, with how to name it in a reason. */
interface Limits {
    readonly warn?: number;
    readonly alert?: number;
    readonly warnText: string;
    readonly alertText: string;
}

function limits(
    flag: string,
    warn: Threshold,
    alert: Threshold,
    base: number | null | undefined,
    unit: "ms" | "bytes",
    baseName: string,
): Limits {
    const fmt = unit === "ms" ? formatMs : formatBytes;
    const text = (which: "warn" | "alert", t: Threshold) => {
        const value = resolveThreshold(t, base);
        if (t.kind === "absolute") return `--${flag}-${which} ${fmt(t.value)}`;
        return `--${flag}-${which} ${describeThreshold(t, unit)} of ${baseName}${value === undefined ? " (unknown: not applied)" : ` = ${fmt(value)}`}`;
    };
    return {
        warn: resolveThreshold(warn, base),
        alert: resolveThreshold(alert, base),
        warnText: text("warn", warn),
        alertText: text("alert", alert),
    };
}

/** Classifies `value` against resolved limits: the status and, unless OK, the reason. */
function judge(
    value: number | null | undefined,
    l: Limits,
    fmt: (v: number) => string,
): { status: HealthStatus; reasons: string[] } {
    const status = LEVEL[classify(value, l.warn, l.alert)];
    if (status === "OK") return { status, reasons: [] };
    return { status, reasons: [`${fmt(value!)} >= ${status === "ALERT" ? l.alertText : l.warnText}`] };
}

/** Max and last of the known values of a series. */
function maxLast(values: readonly (number | null | undefined)[]): {
    max: number | null;
    last: number | null;
} {
    const known = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return {
        max: known.length ? Math.max(...known) : null,
        last: values.length ? (values[values.length - 1] ?? null) : null,
    };
}

const fmtPair = (
    p: { max: number | null; last: number | null },
    fmt: (v: number) => string,
    many: boolean,
) =>
    many
        ? `max ${p.max === null ? "?" : fmt(p.max)} / last ${p.last === null ? "?" : fmt(p.last)}`
        : p.last === null
          ? "unknown"
          : fmt(p.last);

/** `primary`: it answered every sample and is not in recovery. */
export function evaluatePrimaryHealth(samples: readonly Sample[]): HealthResult {
    const good = samples.filter((s): s is GoodSample => s.ok);
    const bad = samples.filter((s): s is Extract<Sample, { ok: false }> => !s.ok);
    const last = samples[samples.length - 1];
    const counted = `${good.length} of ${samples.length} samples answered`;
    const metrics: Metrics = { samplesAnswered: good.length, samples: samples.length };
    if (!last?.ok) {
        const error = last && !last.ok ? last.error : "no sample";
        return line(
            "primary",
            PRIMARY_NODE,
            "ALERT",
            `cannot read the primary: ${error} (${counted})`,
            metrics,
        );
    }
    if (last.primary.in_recovery) {
        return line(
            "primary",
            PRIMARY_NODE,
            "ALERT",
            "in recovery: the primary endpoint reaches a standby (failed over?)",
            metrics,
        );
    }
    const detail = `answers, not in recovery, PostgreSQL ${last.primary.server_version}`;
    if (bad.length > 0)
        return line(
            "primary",
            PRIMARY_NODE,
            "WARN",
            `${detail}; but ${counted}, last error: ${bad[bad.length - 1].error}`,
            metrics,
        );
    return line(
        "primary",
        PRIMARY_NODE,
        "OK",
        samples.length > 1 ? `${detail}; ${counted}` : detail,
        metrics,
    );
}

/**
 * `replica`: each replica of the outputs has a walsender in state `streaming` in the last sample
 * (ALERT otherwise; WARN when it was missing from an earlier sample), and its replay lag — the max
 * over the window of the primary's `replay_lag` and of the WAL not yet replayed — is below the
 * thresholds.
 */
export function evaluateReplicas(
    replicas: readonly ReplicaEndpoint[],
    samples: readonly GoodSample[],
    t: HealthThresholds,
): HealthResult[] {
    const many = samples.length > 1;
    const lagMs = limits(
        "lag",
        { kind: "absolute", value: t.lagWarnMs },
        { kind: "absolute", value: t.lagAlertMs },
        null,
        "ms",
        "",
    );
    const lagBytes: Limits = {
        warn: t.lagWarnBytes,
        alert: t.lagAlertBytes,
        warnText: `--lag-warn-bytes ${formatBytes(t.lagWarnBytes)}`,
        alertText: `--lag-alert-bytes ${formatBytes(t.lagAlertBytes)}`,
    };
    return replicas.map((r) => {
        const rows = samples.map((s) => s.walsenders.find((w) => w.application_name === r.applicationName));
        const streamingIn = rows.filter((w) => w?.state === "streaming").length;
        const lastRow = rows[rows.length - 1];
        const streamed = rows.filter((w): w is ReplicationRow => w?.state === "streaming");
        // replay_lag is NULL once an idle standby has caught up: that is no lag at all.
        const ms = maxLast(
            streamed.map((w) =>
                w.replay_lag_s === null ? (w.replay_bytes ? null : 0) : w.replay_lag_s * 1000,
            ),
        );
        const bytes = maxLast(streamed.map((w) => w.replay_bytes));
        const metrics: Metrics = {
            application: r.applicationName,
            state: lastRow?.state ?? null,
            syncState: lastRow?.sync_state ?? null,
            streamingSamples: streamingIn,
            samples: samples.length,
            replayLagMsMax: ms.max === null ? null : Math.round(ms.max),
            replayLagMsLast: ms.last === null ? null : Math.round(ms.last),
            replayLagBytesMax: bytes.max,
            replayLagBytesLast: bytes.last,
        };
        if (lastRow?.state !== "streaming") {
            const what = lastRow
                ? `state ${lastRow.state ?? "unknown"}, not streaming`
                : `not streaming: no walsender with application_name=${r.applicationName} on the primary`;
            return line(
                "replica",
                r.name,
                "ALERT",
                `${what}${many ? ` (streaming in ${streamingIn} of ${samples.length} samples)` : ""}`,
                metrics,
            );
        }
        const byTime = judge(ms.max, lagMs, formatMs);
        const byBytes = judge(bytes.max, lagBytes, formatBytes);
        const gaps =
            streamingIn < samples.length
                ? [`not streaming in ${samples.length - streamingIn} of ${samples.length} samples`]
                : [];
        const status = worstHealth(byTime.status, byBytes.status, gaps.length ? "WARN" : "OK");
        const from = lastRow.client_addr ? ` from ${lastRow.client_addr}` : "";
        const detail = [
            `streaming ${lastRow.sync_state ?? "?"}${from}; replay lag ${fmtPair(ms, formatMs, many)}, ${fmtPair(bytes, formatBytes, many)}`,
            ...byTime.reasons.map((x) => `lag ${x}`),
            ...byBytes.reasons.map((x) => `lag ${x}`),
            ...gaps,
        ].join("; ");
        return line("replica", r.name, status, detail, metrics);
    });
}

/**
 * `slot`: each replica's physical slot exists, is active and not `lost` or `unreserved` in the last
 * sample (ALERT otherwise; WARN when it was inactive in an earlier one), and the WAL it retains
 * (max over the window) is below the thresholds, given as sizes or as shares of
 * max_slot_wal_keep_size. Slots no replica of the outputs uses are reported on the primary:
 * inactive ones are an ALERT (they hold WAL until max_slot_wal_keep_size).
 */
export function evaluateSlotHealth(
    replicas: readonly ReplicaEndpoint[],
    samples: readonly GoodSample[],
    t: HealthThresholds,
): HealthResult[] {
    const many = samples.length > 1;
    const last = samples[samples.length - 1];
    const maxKeep = last.primary.max_slot_wal_keep_bytes;
    const l = limits(
        "slot",
        t.slotWarn,
        t.slotAlert,
        maxKeep,
        "bytes",
        `max_slot_wal_keep_size ${maxKeep === null ? "(unlimited)" : formatBytes(maxKeep)}`,
    );
    const one = (node: string, slotName: string, expectedBy?: string): HealthResult => {
        const rows = samples.map((s) => s.slots.find((x) => x.slot_name === slotName));
        const s = rows[rows.length - 1];
        const retained = maxLast(rows.map((x) => x?.retained_bytes));
        const activeIn = rows.filter((x) => x?.active).length;
        const metrics: Metrics = {
            slot: slotName,
            active: s?.active ?? null,
            walStatus: s?.wal_status ?? null,
            activeSamples: activeIn,
            samples: samples.length,
            retainedBytesMax: retained.max,
            retainedBytesLast: retained.last,
            maxSlotWalKeepBytes: maxKeep,
        };
        if (!s) return line("slot", node, "ALERT", `slot ${slotName} does not exist on the primary`, metrics);
        const held = `retains ${fmtPair(retained, formatBytes, many)}`;
        const problems: string[] = [];
        if (s.slot_type !== "physical") problems.push(`a ${s.slot_type} slot, expected physical`);
        if (!s.active)
            problems.push(
                expectedBy
                    ? `inactive: ${expectedBy} does not stream from it`
                    : "inactive and not used by any replica of the outputs: it holds WAL",
            );
        if (s.wal_status === "lost")
            problems.push("wal_status lost: the WAL the replica needs is gone; it must be re-cloned");
        if (s.wal_status === "unreserved")
            problems.push(
                "wal_status unreserved: past max_slot_wal_keep_size, its WAL goes at the next checkpoint",
            );
        if (problems.length)
            return line("slot", node, "ALERT", `slot ${slotName} ${problems.join("; ")}; ${held}`, metrics);
        const byBytes = judge(retained.max, l, formatBytes);
        const gaps =
            activeIn < samples.length
                ? [`inactive in ${samples.length - activeIn} of ${samples.length} samples`]
                : [];
        const unused = expectedBy ? [] : ["not in the outputs"];
        const status = worstHealth(byBytes.status, gaps.length || unused.length ? "WARN" : "OK");
        const detail = [
            `slot ${slotName} active, wal_status ${s.wal_status ?? "?"}, ${held}`,
            ...byBytes.reasons.map((x) => `retained ${x}`),
            ...gaps,
            ...unused,
        ].join("; ");
        return line("slot", node, status, detail, metrics);
    };
    const out = replicas.map((r) => one(r.name, r.slotName, r.name));
    const expected = new Set(replicas.map((r) => r.slotName));
    for (const s of last.slots) if (!expected.has(s.slot_name)) out.push(one(PRIMARY_NODE, s.slot_name));
    return out;
}

/**
 * `backup`: the age of the last good run in pgha.backup_runs against thresholds given as durations
 * or multiples of the backup interval; no good run at all is an ALERT, a failed run since the last
 * good one a WARN. Not checked (OK) when backups are off.
 */
export function evaluateBackup(sample: GoodSample, e: Expectations, t: HealthThresholds): HealthResult {
    const enabled = e.backupEnabled ?? sample.primary.archive_mode !== "off";
    if (!enabled)
        return line(
            "backup",
            PRIMARY_NODE,
            "OK",
            "backups are off (the outputs have no backup, archive_mode off): not checked",
            { enabled: false },
        );
    const b = sample.backup;
    if (!b.ok)
        return line("backup", PRIMARY_NODE, "ALERT", `cannot read pgha.backup_runs: ${b.error}`, {
            enabled: true,
        });
    const interval = `the ${formatMs(e.backupIntervalMs)} backup interval${e.backupIntervalFrom === "outputs" ? "" : ` (${e.backupIntervalFrom})`}`;
    const l = limits("backup", t.backupWarn, t.backupAlert, e.backupIntervalMs, "ms", interval);
    const ageMs = b.lastOk ? Math.round(b.lastOk.age_s * 1000) : null;
    const metrics: Metrics = {
        enabled: true,
        lastOkType: b.lastOk?.backup_type ?? null,
        lastOkLabel: b.lastOk?.label ?? null,
        lastOkFinishedAt: b.lastOk?.finished_at ?? null,
        lastOkAgeMs: ageMs,
        failedSinceOk: b.failedSinceOk,
        intervalMs: e.backupIntervalMs,
        warnMs: l.warn ?? null,
        alertMs: l.alert ?? null,
    };
    const failed =
        b.lastFailed && b.failedSinceOk > 0
            ? [
                  `${b.failedSinceOk} failed run${b.failedSinceOk === 1 ? "" : "s"} since, the last ${formatMs(b.lastFailed.age_s * 1000)} ago${b.lastFailed.detail ? `: ${b.lastFailed.detail}` : ""}`,
              ]
            : [];
    if (!b.lastOk || ageMs === null)
        return line(
            "backup",
            PRIMARY_NODE,
            "ALERT",
            ["no good backup in pgha.backup_runs", ...failed].join("; "),
            metrics,
        );
    const byAge = judge(ageMs, l, formatMs);
    const detail = [
        `last good backup ${b.lastOk.backup_type}${b.lastOk.label ? ` ${b.lastOk.label}` : ""} finished ${formatMs(ageMs)} ago`,
        ...byAge.reasons.map((x) => `age ${x}`),
        ...failed,
    ].join("; ");
    return line(
        "backup",
        PRIMARY_NODE,
        worstHealth(byAge.status, failed.length ? "WARN" : "OK"),
        detail,
        metrics,
    );
}

/**
 * `archive`: how long completed WAL has waited to be archived (the oldest `.ready` segment; 0 when
 * none waits), against thresholds given as durations or multiples of archive_timeout. The age of
 * the last archived segment alone says little — an idle primary switches no segment — so it is
 * reported, and only counts when the waiting WAL cannot be read. A failing archiver (the last
 * attempt failed, or failures during the window) is a WARN. archive_mode off is an ALERT when the
 * outputs say backups are on, not checked otherwise.
 */
export function evaluateArchive(
    first: GoodSample,
    last: GoodSample,
    e: Expectations,
    t: HealthThresholds,
): HealthResult {
    const p = last.primary;
    const a = last.archive;
    if (p.archive_mode === "off") {
        if (e.backupEnabled)
            return line(
                "archive",
                PRIMARY_NODE,
                "ALERT",
                "archive_mode is off, but the stack has backups: no WAL reaches the repository",
                { archiveMode: "off" },
            );
        return line("archive", PRIMARY_NODE, "OK", "archiving is off (archive_mode off): not checked", {
            archiveMode: "off",
        });
    }
    const timeoutMs = p.archive_timeout_s > 0 ? p.archive_timeout_s * 1000 : null;
    const l = limits(
        "archive",
        t.archiveWarn,
        t.archiveAlert,
        timeoutMs,
        "ms",
        `archive_timeout ${timeoutMs === null ? "(off)" : formatMs(timeoutMs)}`,
    );
    const waitingKnown = a.ready_count !== null;
    const waitMs = waitingKnown
        ? a.oldest_ready_age_s === null
            ? 0
            : Math.round(a.oldest_ready_age_s * 1000)
        : a.last_archived_age_s === null
          ? null
          : Math.round(a.last_archived_age_s * 1000);
    const failuresInWindow = a.failed_count - first.archive.failed_count;
    const metrics: Metrics = {
        archiveMode: p.archive_mode,
        archiveTimeoutMs: timeoutMs,
        lastArchivedWal: a.last_archived_wal,
        lastArchivedAgeMs: a.last_archived_age_s === null ? null : Math.round(a.last_archived_age_s * 1000),
        readyCount: a.ready_count,
        oldestReadyAgeMs: waitingKnown ? waitMs : null,
        failedCount: a.failed_count,
        failedInWindow: failuresInWindow,
        failing: a.failing,
        lastFailedWal: a.last_failed_wal,
        warnMs: l.warn ?? null,
        alertMs: l.alert ?? null,
    };
    const lastArchived =
        a.last_archived_wal === null || a.last_archived_age_s === null
            ? "nothing archived since the stats reset"
            : `last archived ${a.last_archived_wal} ${formatMs(a.last_archived_age_s * 1000)} ago`;
    const waiting = waitingKnown
        ? a.ready_count === 0
            ? "no WAL waiting"
            : `${a.ready_count} segment${a.ready_count === 1 ? "" : "s"} waiting, the oldest for ${formatMs(waitMs ?? 0)}`
        : "waiting WAL unreadable (pg_ls_archive_statusdir), judged by the last archived age";
    const byWait = judge(waitMs, l, formatMs);
    // The backlog against the bound past which pgBackRest drops WAL (archive-push-queue-max).
    const queueMax = p.archive_queue_max_bytes ?? null;
    const backlogBytes = waitingKnown ? (a.ready_count ?? 0) * (p.wal_segment_bytes ?? 16 * 1024 ** 2) : null;
    const lq = limits(
        "archive-queue",
        t.archiveQueueWarn,
        t.archiveQueueAlert,
        queueMax,
        "bytes",
        "pgha.archive_queue_max_mb",
    );
    const byQueue = judge(backlogBytes, lq, formatBytes);
    metrics.backlogBytes = backlogBytes;
    metrics.queueMaxBytes = queueMax;
    const failures: string[] = [];
    if (a.failing)
        failures.push(
            `the last attempt failed (${a.last_failed_wal ?? "?"}, ${formatMs((a.last_failed_age_s ?? 0) * 1000)} ago; failed_count ${a.failed_count})`,
        );
    if (failuresInWindow > 0)
        failures.push(
            `${failuresInWindow} failed attempt${failuresInWindow === 1 ? "" : "s"} during the window`,
        );
    const status = worstHealth(byWait.status, byQueue.status, failures.length ? "WARN" : "OK");
    const bound =
        queueMax === null
            ? []
            : [
                  `backlog ${formatBytes(backlogBytes ?? 0)} of the ${formatBytes(queueMax)} pgBackRest keeps before dropping WAL (a gap in point-in-time recovery)`,
              ];
    const detail = [
        `${lastArchived}, ${waiting}`,
        ...bound,
        ...byWait.reasons.map((x) => `waiting ${x}`),
        ...byQueue.reasons.map((x) => `backlog ${x}`),
        ...failures,
    ].join("; ");
    return line("archive", PRIMARY_NODE, status, detail, metrics);
}

/**
 * Every health line from the samples, in {@link HEALTH_CHECKS} order: the primary's, then, from
 * the samples it answered, replicas, slots, backup (last sample) and archive (first and last).
 * With no answered sample only the primary's ALERT is returned.
 */
export function evaluateHealth(
    samples: readonly Sample[],
    e: Expectations,
    t: HealthThresholds,
): HealthResult[] {
    const primary = evaluatePrimaryHealth(samples);
    const good = samples.filter((s): s is GoodSample => s.ok);
    if (good.length === 0) return [primary];
    const first = good[0];
    const last = good[good.length - 1];
    return [
        primary,
        ...evaluateReplicas(e.replicas, good, t),
        ...evaluateSlotHealth(e.replicas, good, t),
        evaluateBackup(last, e, t),
        evaluateArchive(first, last, e, t),
    ];
}
