import type { Status } from "./types";
import { formatBytes, formatMs } from "./format";

const RANK: Record<Status, number> = { PASS: 0, WARN: 1, FAIL: 2 };

/** The most severe of the given statuses (PASS when none). */
export function worst(...statuses: Status[]): Status {
    return statuses.reduce<Status>((a, b) => (RANK[b] > RANK[a] ? b : a), "PASS");
}

/**
 * Classifies a measured value: FAIL from `fail` on, WARN from `warn` on, PASS below.
 * An unset threshold never triggers; an unknown value (null/undefined) is PASS here —
 * callers decide what a missing measurement means.
 */
export function classify(value: number | null | undefined, warn?: number, fail?: number): Status {
    if (value === null || value === undefined || Number.isNaN(value)) return "PASS";
    if (fail !== undefined && value >= fail) return "FAIL";
    if (warn !== undefined && value >= warn) return "WARN";
    return "PASS";
}

/** Replay-lag thresholds: time always, bytes only when set. */
export interface LagThresholds {
    readonly warnMs: number;
    readonly failMs: number;
    readonly warnBytes?: number;
    readonly failBytes?: number;
}

/** A replica's replay lag: time in milliseconds and bytes of WAL, either possibly unknown. */
export interface LagMeasure {
    readonly ms?: number | null;
    readonly bytes?: number | null;
}

/**
 * Classifies a replica's lag against the thresholds: the worse of the time and byte verdicts,
 * with the reasons for anything that is not PASS (e.g. `lag 75 s >= --lag-fail 60 s`).
 */
export function classifyLag(lag: LagMeasure, t: LagThresholds): { status: Status; reasons: string[] } {
    const reasons: string[] = [];
    const byTime = classify(lag.ms, t.warnMs, t.failMs);
    const byBytes = classify(lag.bytes, t.warnBytes, t.failBytes);
    if (byTime === "FAIL") reasons.push(`lag ${formatMs(lag.ms!)} >= --lag-fail ${formatMs(t.failMs)}`);
    else if (byTime === "WARN") reasons.push(`lag ${formatMs(lag.ms!)} >= --lag-warn ${formatMs(t.warnMs)}`);
    if (byBytes === "FAIL")
        reasons.push(`lag ${formatBytes(lag.bytes!)} >= --lag-fail-bytes ${formatBytes(t.failBytes!)}`);
    else if (byBytes === "WARN")
        reasons.push(`lag ${formatBytes(lag.bytes!)} >= --lag-warn-bytes ${formatBytes(t.warnBytes!)}`);
    return { status: worst(byTime, byBytes), reasons };
}
