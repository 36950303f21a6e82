import { EXIT } from "../verify/errors";
import { formatMs } from "../verify/format";
import { redact } from "../verify/redact";
import { renderResultRows, sanitizeResult } from "../verify/report";
import { HEALTH_CHECKS, worstHealth, type HealthResult, type HealthStatus, type Sample } from "./evaluate";

/** Exit codes of `npm run health`: verify's, plus one for a cluster that could not be read at all. */
export const HEALTH_EXIT = {
    /** Healthy; warnings allowed (and printed). */
    ok: EXIT.ok,
    /** At least one ALERT. */
    alert: EXIT.checkFailed,
    /** Unusable input: bad flag, missing stack or file, malformed outputs. */
    usage: EXIT.usage,
    /** No sample could be read on the primary: nothing was measured. */
    unreachable: 3,
} as const;

/** The whole run. */
export interface HealthReport {
    /** True when no line is an ALERT and the primary could be read. */
    readonly ok: boolean;
    /** The worst status of the lines. */
    readonly status: HealthStatus;
    /** False when no sample could be read on the primary (exit {@link HEALTH_EXIT.unreachable}). */
    readonly reachable: boolean;
    readonly clusterName: string;
    /** When the first sample was taken (ISO 8601). */
    readonly startedAt: string;
    /** Samples taken, and how many the primary answered. */
    readonly samples: number;
    readonly samplesAnswered: number;
    /** Time between samples, and from the first to the last one, in milliseconds. */
    readonly intervalMs: number;
    readonly windowMs: number;
    /** Every line, in HEALTH_CHECKS order, then in the order they came. */
    readonly checks: readonly HealthResult[];
}

/** Builds the report from the samples and the lines evaluated from them. */
export function buildHealthReport(
    clusterName: string,
    samples: readonly Sample[],
    intervalMs: number,
    results: readonly HealthResult[],
): HealthReport {
    const checks = results
        .map((r, i) => ({ r, i }))
        .sort((a, b) => HEALTH_CHECKS.indexOf(a.r.check) - HEALTH_CHECKS.indexOf(b.r.check) || a.i - b.i)
        .map(({ r }) => r);
    const status = worstHealth(...checks.map((c) => c.status));
    const answered = samples.filter((s) => s.ok).length;
    const at = samples.map((s) => s.at);
    return {
        ok: status !== "ALERT" && answered > 0,
        status,
        reachable: answered > 0,
        clusterName,
        startedAt: new Date(at.length ? at[0] : Date.now()).toISOString(),
        samples: samples.length,
        samplesAnswered: answered,
        intervalMs,
        windowMs: at.length ? Math.round(at[at.length - 1] - at[0]) : 0,
        checks,
    };
}

/** 0 healthy (warnings allowed), 1 an alert, 3 the primary could not be read at all. */
export function healthExitCode(report: HealthReport): number {
    if (!report.reachable) return HEALTH_EXIT.unreachable;
    return report.status === "ALERT" ? HEALTH_EXIT.alert : HEALTH_EXIT.ok;
}

function sanitize(report: HealthReport, secrets: readonly string[]): HealthReport {
    return {
        ...report,
        clusterName: redact(report.clusterName, secrets),
        checks: report.checks.map((c) => sanitizeResult(c, secrets)),
    };
}

/** The machine-readable report (see {@link HealthReport}), pretty-printed, with every known secret removed. */
export function renderHealthJson(report: HealthReport, secrets: readonly string[] = []): string {
    return `${JSON.stringify(sanitize(report, secrets), null, 2)}\n`;
}

/** The report as a heading, an aligned CHECK / NODE / STATUS / DETAIL table and a verdict line, with every known secret removed. */
export function renderHealthTable(report: HealthReport, secrets: readonly string[] = []): string {
    const clean = sanitize(report, secrets);
    const window =
        clean.samples > 1
            ? `${clean.samples} samples every ${formatMs(clean.intervalMs)} over ${formatMs(clean.windowMs)}`
            : "1 sample";
    const heading = `Health of ${clean.clusterName} at ${clean.startedAt}, ${window}`;
    const count = (s: HealthStatus) => clean.checks.filter((c) => c.status === s).length;
    const alerting = [
        ...new Set(clean.checks.filter((c) => c.status === "ALERT").map((c) => `${c.check}/${c.node}`)),
    ];
    const verdict = !clean.reachable
        ? "UNREACHABLE"
        : clean.status === "ALERT"
          ? "ALERT"
          : clean.status === "WARN"
            ? "OK with warnings"
            : "OK";
    const summary = `${verdict}: cluster ${clean.clusterName}, ${count("OK")} OK, ${count("WARN")} WARN, ${count("ALERT")} ALERT${alerting.length ? ` (${alerting.join(", ")})` : ""}`;
    return [heading, "", ...renderResultRows(clean.checks), "", summary].join("\n") + "\n";
}
