import { EXIT } from "./errors";
import { formatMs } from "./format";
import { redact } from "./redact";
import { CHECK_IDS, type CheckResult, type Metrics, type Report } from "./types";

/**
 * Builds the report from results in any order: sorts them by check id, then by `nodeOrder`
 * (nodes not listed go last, in the order they came), and sets `ok`.
 */
export function buildReport(
    clusterName: string,
    results: readonly CheckResult[],
    durationMs: number,
    nodeOrder: readonly string[] = [],
): Report {
    const order = (r: CheckResult) => CHECK_IDS.indexOf(r.check);
    const nodeRank = (r: CheckResult) =>
        nodeOrder.includes(r.node) ? nodeOrder.indexOf(r.node) : nodeOrder.length;
    const checks = results
        .map((r, i) => ({ r, i }))
        .sort((a, b) => order(a.r) - order(b.r) || nodeRank(a.r) - nodeRank(b.r) || a.i - b.i)
        .map(({ r }) => r);
    return {
        ok: checks.every((c) => c.status !== "FAIL"),
        clusterName,
        durationMs: Math.round(durationMs),
        checks,
    };
}

/** The exit code of a finished run: 0 when nothing failed (warnings allowed), else 1. */
export function exitCodeOf(report: Report): number {
    return report.ok ? EXIT.ok : EXIT.checkFailed;
}

function cleanMetrics(metrics: Metrics, secrets: readonly string[]): Metrics {
    const out: Metrics = {};
    for (const [k, v] of Object.entries(metrics)) out[k] = typeof v === "string" ? redact(v, secrets) : v;
    return out;
}

/** One line of a result table: what verify's and health's reports have in common. */
export interface ResultLine {
    readonly check: string;
    readonly node: string;
    readonly status: string;
    readonly detail: string;
    readonly metrics?: Metrics;
}

/** A result line with every password removed from its text (see {@link redact}), on one line. */
export function sanitizeResult<T extends ResultLine>(c: T, secrets: readonly string[]): T {
    return {
        ...c,
        node: redact(c.node, secrets),
        detail: redact(c.detail, secrets).replace(/\s*\n\s*/g, " "),
        ...(c.metrics ? { metrics: cleanMetrics(c.metrics, secrets) } : {}),
    };
}

/** The results with every password removed from their text (see {@link redact}). */
function sanitize(report: Report, secrets: readonly string[]): Report {
    return {
        ...report,
        clusterName: redact(report.clusterName, secrets),
        checks: report.checks.map((c) =>
            sanitizeResult(
                {
                    check: c.check,
                    node: c.node,
                    status: c.status,
                    detail: c.detail,
                    ...(c.metrics ? { metrics: c.metrics } : {}),
                },
                secrets,
            ),
        ),
    };
}

/** Already sanitized result lines as an aligned table: a CHECK, NODE, STATUS, DETAIL header and one row each. */
export function renderResultRows(lines: readonly ResultLine[]): string[] {
    const header = ["CHECK", "NODE", "STATUS", "DETAIL"];
    const rows = lines.map((c) => [c.check, c.node, c.status, c.detail]);
    const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)];
}

/**
 * The machine-readable report: `{ ok, clusterName, durationMs, checks: [{ check, node, status, detail, metrics? }] }`,
 * pretty-printed, with every known secret and any URL password removed.
 */
export function renderJson(report: Report, secrets: readonly string[] = []): string {
    return `${JSON.stringify(sanitize(report, secrets), null, 2)}\n`;
}

/**
 * The report as an aligned table (CHECK, NODE, STATUS, DETAIL) and a summary line,
 * with every known secret and any URL password removed.
 */
export function renderTable(report: Report, secrets: readonly string[] = []): string {
    const clean = sanitize(report, secrets);
    const count = (s: string) => clean.checks.filter((c) => c.status === s).length;
    const [fail, warn, pass] = [count("FAIL"), count("WARN"), count("PASS")];
    const verdict = clean.ok ? (warn > 0 ? "OK with warnings" : "OK") : "FAILED";
    const summary =
        `${verdict}: cluster ${clean.clusterName}, ${pass} PASS, ${warn} WARN, ${fail} FAIL in ${formatMs(clean.durationMs)}` +
        (clean.ok
            ? ""
            : ` (failed: ${[...new Set(clean.checks.filter((c) => c.status === "FAIL").map((c) => c.check))].join(", ")})`);
    return [...renderResultRows(clean.checks), "", summary].join("\n") + "\n";
}
