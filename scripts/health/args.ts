import { InputError } from "../verify/errors";
import {
    COMMON_FLAGS,
    DEFAULTS as VERIFY_DEFAULTS,
    parseBytes,
    parseDuration,
    parseFlags,
    parseLongDuration,
    parseSource,
    type OutputsSource,
} from "../verify/args";
import { formatBytes, formatMs } from "../verify/format";

/**
 * A threshold as given on the command line: an absolute value (bytes or milliseconds), or a
 * multiple of a figure the cluster reports (max_slot_wal_keep_size, the backup interval,
 * archive_timeout), resolved when that figure is known.
 */
export type Threshold =
    | { readonly kind: "absolute"; readonly value: number }
    | { readonly kind: "relative"; readonly factor: number };

/** Everything `npm run health` can be told, after defaults and validation. */
export interface HealthOptions {
    /** `--stack <name>` or `--outputs <file.json>` (exactly one). */
    readonly source: OutputsSource;
    /** `--json`: print the machine-readable report instead of the table. */
    readonly json: boolean;
    /** `--connect-timeout`, in milliseconds. */
    readonly connectTimeoutMs: number;
    /** `--query-timeout`, in milliseconds. */
    readonly queryTimeoutMs: number;
    /** `--samples`: how many times the primary is read (default 1). */
    readonly samples: number;
    /** `--interval`: time between the starts of two samples, in milliseconds (default 1 s). */
    readonly intervalMs: number;
    /** `--lag-warn` / `--lag-alert`: replay lag (time) of a replica, in milliseconds. */
    readonly lagWarnMs: number;
    readonly lagAlertMs: number;
    /** `--lag-warn-bytes` / `--lag-alert-bytes`: replay lag in bytes of WAL. */
    readonly lagWarnBytes: number;
    readonly lagAlertBytes: number;
    /** `--slot-warn` / `--slot-alert`: WAL a replication slot retains; relative = fraction of max_slot_wal_keep_size. */
    readonly slotWarn: Threshold;
    readonly slotAlert: Threshold;
    /** `--backup-warn` / `--backup-alert`: age of the last good backup; relative = multiple of the backup interval. */
    readonly backupWarn: Threshold;
    readonly backupAlert: Threshold;
    /** `--backup-interval`: the backup interval in milliseconds; unset = the outputs' `backup.intervalHours`, else 6 h. */
    readonly backupIntervalMs?: number;
    /** `--archive-warn` / `--archive-alert`: how long WAL may wait to be archived; relative = multiple of archive_timeout. */
    readonly archiveWarn: Threshold;
    readonly archiveAlert: Threshold;
    /**
     * `--archive-queue-warn` / `--archive-queue-alert`: WAL waiting to be archived; relative =
     * fraction of `pgha.archive_queue_max_mb`, past which pgBackRest drops WAL (a gap in PITR).
     */
    readonly archiveQueueWarn: Threshold;
    readonly archiveQueueAlert: Threshold;
}

/** The result of parsing: options to run with, or a request for the usage text. */
export type ParsedHealthArgs = { help: true } | { help: false; options: HealthOptions };

const relative = (factor: number): Threshold => ({ kind: "relative", factor });
const absolute = (value: number): Threshold => ({ kind: "absolute", value });

/** Defaults of the optional flags. */
export const HEALTH_DEFAULTS = {
    connectTimeoutMs: VERIFY_DEFAULTS.connectTimeoutMs,
    queryTimeoutMs: VERIFY_DEFAULTS.queryTimeoutMs,
    samples: 1,
    intervalMs: 1000,
    lagWarnMs: VERIFY_DEFAULTS.lagWarnMs,
    lagAlertMs: VERIFY_DEFAULTS.lagFailMs,
    lagWarnBytes: 256 * 1024 ** 2,
    lagAlertBytes: 1024 ** 3,
    slotWarn: relative(0.5),
    slotAlert: relative(0.8),
    backupWarn: relative(1.5),
    backupAlert: relative(2),
    /** Pulumi.yaml's default `pgha:backupIntervalHours`, used when neither the outputs nor the flag say it. */
    backupIntervalMs: 6 * 3_600_000,
    archiveWarn: relative(2),
    archiveAlert: relative(5),
    archiveQueueWarn: relative(0.5),
    archiveQueueAlert: relative(0.8),
} as const;

/** The text `--help` prints. */
export const HEALTH_USAGE = `Usage: npm run health -- (--stack <name> | --outputs <file.json>) [options]

Replication health of a pgha cluster, read on the primary as the monitor role: per replica
whether it streams and its replay lag, the WAL each replication slot retains, the age of the
last good backup (pgha.backup_runs) and how long WAL waits to be archived (pg_stat_archiver).
With --samples N it reads N times, --interval apart, and reports the max and last per replica.

Source of the cluster's outputs (exactly one):
  --stack <name>             read \`pulumi stack output --json --show-secrets --stack <name>\`
  --outputs <file.json>      read the same JSON from a file

Sampling:
  --samples <n>              how many samples, 1 to 3600 (default 1)
  --interval <dur>           time between samples (default 1s)

Thresholds (warn / alert):
  --lag-warn <dur>           replay lag, time (default 30s)
  --lag-alert <dur>          (default 60s)
  --lag-warn-bytes <size>    replay lag, bytes of WAL (default 256MB)
  --lag-alert-bytes <size>   (default 1GB)
  --slot-warn <size|N%>      WAL a slot retains; N% of max_slot_wal_keep_size (default 50%)
  --slot-alert <size|N%>     (default 80%)
  --backup-warn <dur|Nx>     age of the last good backup; Nx = N times the backup interval (default 1.5x)
  --backup-alert <dur|Nx>    (default 2x)
  --backup-interval <dur>    the interval (default: the outputs' backup.intervalHours, else 6h)
  --archive-warn <dur|Nx>    how long WAL waits to be archived; Nx = N times archive_timeout (default 2x)
  --archive-alert <dur|Nx>   (default 5x)
  --archive-queue-warn <size|N%>   WAL waiting to be archived; N% of pgha:archiveQueueMaxMb, the
                             bound past which pgBackRest drops WAL (a gap in PITR) (default 50%)
  --archive-queue-alert <size|N%>  (default 80%)

Other options:
  --json                     print { ok, status, clusterName, samples, ..., checks: [{ check, node, status, detail, metrics }] }
  --connect-timeout <dur>    per connection attempt (default 5s)
  --query-timeout <dur>      per query (default 5s)
  -h, --help                 print this text

<dur> is a number of seconds or a number with ms, s or min (500ms, 10s, 2min); the backup and
archive flags also take h and d (6h, 1.5d).
<size> is a number of bytes or a number with kB, MB, GB, TB (1024-based, as PostgreSQL).

Alerts: a replica of the outputs that does not stream; a slot that is missing, inactive, lost
or unreserved (past max_slot_wal_keep_size); no good backup; archiving off while the stack has
backups; any figure at or above its alert threshold; the primary in recovery or not answering.
Warnings: a figure at or above its warn threshold; a backup run or an archive attempt that
failed since the last success; a replica or slot that was down during the window but is back.
Exit codes: 0 healthy (warnings allowed), 1 an alert, 2 unusable input (bad flag, outputs),
3 the primary could not be read at all (cluster unreachable).
`;

/**
 * Parses `<dur>` or `<N>x` (a multiple of a figure of the cluster).
 * @throws InputError naming `flag`.
 */
export function parseAgeThreshold(flag: string, raw: string, base: string): Threshold {
    const factor = /^(\d+(?:\.\d+)?)\s*x$/i.exec(raw.trim());
    if (factor) {
        const n = Number(factor[1]);
        if (n > 0 && n <= 1000) return relative(n);
    } else if (/^\d/.test(raw.trim())) {
        try {
            return absolute(parseLongDuration(flag, raw));
        } catch {
            // the message below says both forms
        }
    }
    throw new InputError(
        `${flag} must be a duration (such as 90s, 10min, 12h, 2d) or a multiple of ${base} (such as 1.5x, above 0); got ${JSON.stringify(raw)}`,
    );
}

/**
 * Parses `<size>` or `<N>%` (a percentage of max_slot_wal_keep_size).
 * @throws InputError naming `flag`.
 */
export function parseSizeThreshold(flag: string, raw: string, base = "max_slot_wal_keep_size"): Threshold {
    const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(raw.trim());
    if (pct) {
        const n = Number(pct[1]);
        if (n > 0 && n <= 100) return relative(n / 100);
    } else if (/^\d/.test(raw.trim())) {
        try {
            return absolute(parseBytes(flag, raw));
        } catch {
            // the message below says both forms
        }
    }
    throw new InputError(
        `${flag} must be a size (such as 512MB, 4GB) or a percentage of ${base} from 1% to 100% (such as 50%); got ${JSON.stringify(raw)}`,
    );
}

/** The value of a threshold against its base figure; undefined when it is relative and the base is unknown. */
export function resolveThreshold(t: Threshold, base: number | null | undefined): number | undefined {
    if (t.kind === "absolute") return t.value;
    return base === null || base === undefined ? undefined : t.factor * base;
}

/** `1.5x` / `50%` / `12 h` / `4.0 GB`: a threshold as a person wrote it. */
export function describeThreshold(t: Threshold, unit: "ms" | "bytes"): string {
    if (t.kind === "relative") return unit === "bytes" ? `${+(t.factor * 100).toFixed(2)}%` : `${t.factor}x`;
    return unit === "bytes" ? formatBytes(t.value) : formatMs(t.value);
}

/**
 * Parses the command line (without `node` and the script path).
 * @throws InputError for an unknown or repeated flag, a bad value, a missing or double source,
 *   or a warn threshold above its alert threshold, naming the flag.
 */
export function parseHealthArgs(argv: readonly string[]): ParsedHealthArgs {
    const values = parseFlags(argv, {
        ...COMMON_FLAGS,
        samples: { type: "string" },
        interval: { type: "string" },
        "lag-warn": { type: "string" },
        "lag-alert": { type: "string" },
        "lag-warn-bytes": { type: "string" },
        "lag-alert-bytes": { type: "string" },
        "slot-warn": { type: "string" },
        "slot-alert": { type: "string" },
        "backup-warn": { type: "string" },
        "backup-alert": { type: "string" },
        "backup-interval": { type: "string" },
        "archive-warn": { type: "string" },
        "archive-alert": { type: "string" },
        "archive-queue-warn": { type: "string" },
        "archive-queue-alert": { type: "string" },
    });
    if (values.help) return { help: true };
    const source = parseSource(values);
    const D = HEALTH_DEFAULTS;
    const dur = (
        flag: "connect-timeout" | "query-timeout" | "interval" | "lag-warn" | "lag-alert",
        def: number,
        min = 1,
    ) => {
        const raw = values[flag];
        return raw === undefined ? def : parseDuration(`--${flag}`, raw, min);
    };
    const bytes = (flag: "lag-warn-bytes" | "lag-alert-bytes", def: number) => {
        const raw = values[flag];
        return raw === undefined ? def : parseBytes(`--${flag}`, raw);
    };
    const size = (
        flag: "slot-warn" | "slot-alert" | "archive-queue-warn" | "archive-queue-alert",
        def: Threshold,
        base?: string,
    ) => {
        const raw = values[flag];
        return raw === undefined ? def : parseSizeThreshold(`--${flag}`, raw, base);
    };
    const age = (
        flag: "backup-warn" | "backup-alert" | "archive-warn" | "archive-alert",
        def: Threshold,
        base: string,
    ) => {
        const raw = values[flag];
        return raw === undefined ? def : parseAgeThreshold(`--${flag}`, raw, base);
    };
    let samples: number = D.samples;
    if (values.samples !== undefined) {
        samples = /^\d+$/.test(values.samples.trim()) ? Number(values.samples) : NaN;
        if (!(samples >= 1 && samples <= 3600))
            throw new InputError(
                `--samples must be a whole number from 1 to 3600; got ${JSON.stringify(values.samples)}`,
            );
    }
    const options: HealthOptions = {
        source,
        json: values.json ?? false,
        connectTimeoutMs: dur("connect-timeout", D.connectTimeoutMs, 100),
        queryTimeoutMs: dur("query-timeout", D.queryTimeoutMs, 100),
        samples,
        intervalMs: dur("interval", D.intervalMs, 100),
        lagWarnMs: dur("lag-warn", D.lagWarnMs),
        lagAlertMs: dur("lag-alert", D.lagAlertMs),
        lagWarnBytes: bytes("lag-warn-bytes", D.lagWarnBytes),
        lagAlertBytes: bytes("lag-alert-bytes", D.lagAlertBytes),
        slotWarn: size("slot-warn", D.slotWarn),
        slotAlert: size("slot-alert", D.slotAlert),
        backupWarn: age("backup-warn", D.backupWarn, "the backup interval"),
        backupAlert: age("backup-alert", D.backupAlert, "the backup interval"),
        ...(values["backup-interval"] === undefined
            ? {}
            : {
                  backupIntervalMs: parseLongDuration("--backup-interval", values["backup-interval"], 60_000),
              }),
        archiveWarn: age("archive-warn", D.archiveWarn, "archive_timeout"),
        archiveAlert: age("archive-alert", D.archiveAlert, "archive_timeout"),
        archiveQueueWarn: size("archive-queue-warn", D.archiveQueueWarn, "pgha:archiveQueueMaxMb"),
        archiveQueueAlert: size("archive-queue-alert", D.archiveQueueAlert, "pgha:archiveQueueMaxMb"),
    };
    const pairs: [string, number | Threshold, number | Threshold, "ms" | "bytes"][] = [
        ["lag", options.lagWarnMs, options.lagAlertMs, "ms"],
        ["lag-*-bytes", options.lagWarnBytes, options.lagAlertBytes, "bytes"],
        ["slot", options.slotWarn, options.slotAlert, "bytes"],
        ["backup", options.backupWarn, options.backupAlert, "ms"],
        ["archive", options.archiveWarn, options.archiveAlert, "ms"],
        ["archive-queue", options.archiveQueueWarn, options.archiveQueueAlert, "bytes"],
    ];
    for (const [name, warn, alert, unit] of pairs) {
        const w = typeof warn === "number" ? absolute(warn) : warn;
        const a = typeof alert === "number" ? absolute(alert) : alert;
        // Only comparable when both are of the same kind; mixed kinds are checked once resolved.
        const value = (t: Threshold) => (t.kind === "absolute" ? t.value : t.factor);
        if (w.kind === a.kind && value(w) > value(a)) {
            const [warnFlag, alertFlag] =
                name === "lag-*-bytes"
                    ? ["--lag-warn-bytes", "--lag-alert-bytes"]
                    : [`--${name}-warn`, `--${name}-alert`];
            throw new InputError(
                `${warnFlag} ${describeThreshold(w, unit)} must not be above ${alertFlag} ${describeThreshold(a, unit)}: warn <= alert`,
            );
        }
    }
    return { help: false, options };
}
