/** The outcome of one check on one node. WARN still exits 0; any FAIL exits 1. */
export type Status = "PASS" | "WARN" | "FAIL";

/** The ids of the checks, in the order they are reported. */
export const CHECK_IDS = [
    "primary",
    "streaming",
    "slots",
    "replica-readonly",
    "canary",
    "lag",
    "pgbouncer",
] as const;

/** One of {@link CHECK_IDS}. */
export type CheckId = (typeof CHECK_IDS)[number];

/** Numbers (or short facts) behind a result, for machines: `--json` prints them. */
export type Metrics = Record<string, number | string | boolean | null>;

/** One line of the report: a check on one node. */
export interface CheckResult {
    /** Which check. */
    readonly check: CheckId;
    /** Which node it is about: `primary`, a replica's name, `pgbouncer-rw` or `pgbouncer-ro`. */
    readonly node: string;
    /** PASS, WARN or FAIL. */
    readonly status: Status;
    /** What was seen, for a person. */
    readonly detail: string;
    /** Measured values, when there are any. */
    readonly metrics?: Metrics;
}

/** The whole run. */
export interface Report {
    /** True when no result is FAIL. */
    readonly ok: boolean;
    /** `clusterName` of the outputs. */
    readonly clusterName: string;
    /** Wall-clock time of the checks, in milliseconds. */
    readonly durationMs: number;
    /** Every result, in {@link CHECK_IDS} order. */
    readonly checks: readonly CheckResult[];
}
