import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { InputError } from "./errors";
import { formatMs } from "./format";

/** Where the stack outputs come from. */
export type OutputsSource = { kind: "stack"; stack: string } | { kind: "file"; path: string };

/** Everything the command line can set, after defaults and validation. */
export interface VerifyOptions {
    /** `--stack <name>` or `--outputs <file.json>` (exactly one of them). */
    readonly source: OutputsSource;
    /** `--json`: print the machine-readable report instead of the table. */
    readonly json: boolean;
    /** `--connect-timeout`: how long one connection attempt may take, in milliseconds. */
    readonly connectTimeoutMs: number;
    /** `--query-timeout`: statement_timeout / query_timeout of every query, in milliseconds. */
    readonly queryTimeoutMs: number;
    /** `--canary-timeout`: how long the canary row may take to appear on every replica, in milliseconds. */
    readonly canaryTimeoutMs: number;
    /** `--lag-warn`: replay lag (time) from which a replica is WARN, in milliseconds. */
    readonly lagWarnMs: number;
    /** `--lag-fail`: replay lag (time) from which a replica is FAIL, in milliseconds. */
    readonly lagFailMs: number;
    /** `--lag-warn-bytes`: replay lag (bytes) from which a replica is WARN; unset = no byte threshold. */
    readonly lagWarnBytes?: number;
    /** `--lag-fail-bytes`: replay lag (bytes) from which a replica is FAIL; unset = no byte threshold. */
    readonly lagFailBytes?: number;
}

/** The result of parsing: either options to run with, or a request for the usage text. */
export type ParsedArgs = { help: true } | { help: false; options: VerifyOptions };

/** Default values of the optional flags, in milliseconds. */
export const DEFAULTS = {
    connectTimeoutMs: 5_000,
    queryTimeoutMs: 5_000,
    canaryTimeoutMs: 10_000,
    lagWarnMs: 30_000,
    lagFailMs: 60_000,
} as const;

/** The text `--help` prints. */
export const USAGE = `Usage: npm run verify -- (--stack <name> | --outputs <file.json>) [options]

Proves that streaming replication of a pgha cluster works: checks the primary, every
replica's walsender, the replication slots, that replicas refuse writes, that a canary row
written through PgBouncer's read-write entry reaches every replica, the replay lag, and
where PgBouncer's read-write and read-only entries land.

Source of the cluster's outputs (exactly one):
  --stack <name>            read \`pulumi stack output --json --show-secrets --stack <name>\`
  --outputs <file.json>     read the same JSON from a file

Options:
  --json                    print { ok, checks: [{ check, node, status, detail, metrics? }] }
  --connect-timeout <dur>   per connection attempt (default 5s)
  --query-timeout <dur>     statement_timeout and client query timeout (default 5s)
  --canary-timeout <dur>    how long the canary may take to reach every replica (default 10s)
  --lag-warn <dur>          replay lag that is a warning (default 30s)
  --lag-fail <dur>          replay lag that is a failure (default 60s)
  --lag-warn-bytes <size>   replay lag in bytes that is a warning (default: none)
  --lag-fail-bytes <size>   replay lag in bytes that is a failure (default: none)
  -h, --help                print this text

<dur> is a number of seconds (2, 0.5) or a number with ms, s or min (500ms, 10s, 2min).
<size> is a number of bytes or a number with kB, MB, GB, TB (1024-based, as PostgreSQL).

Checks: primary, streaming, slots, replica-readonly, canary, lag, pgbouncer.
Exit codes: 0 all passed (warnings allowed), 1 a check failed, 2 unusable input.
`;

const DURATION_UNITS: Record<string, number> = { "": 1000, ms: 1, s: 1000, min: 60_000 };
const LONG_DURATION_UNITS: Record<string, number> = { ...DURATION_UNITS, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
    "": 1,
    b: 1,
    kb: 1024,
    mb: 1024 ** 2,
    gb: 1024 ** 3,
    tb: 1024 ** 4,
};

/** Pulumi stack names: `[org/[project/]]stack`, letters, digits, `-`, `_`, `.`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

/**
 * Parses a duration such as `10`, `0.5`, `500ms`, `10s`, `2min` into milliseconds.
 * @throws InputError naming `flag` and what is allowed.
 */
export function parseDuration(flag: string, raw: string, min = 1, max = 24 * 3_600_000): number {
    return parseDurationIn(DURATION_UNITS, "such as 10, 0.5, 500ms, 10s or 2min", flag, raw, min, max);
}

/**
 * Parses a duration that may also be given in hours or days (`6h`, `1.5d`, and every form of
 * {@link parseDuration}) into milliseconds; for ages such as a backup's.
 * @throws InputError naming `flag` and what is allowed.
 */
export function parseLongDuration(flag: string, raw: string, min = 1, max = 365 * 86_400_000): number {
    return parseDurationIn(LONG_DURATION_UNITS, "such as 90s, 10min, 6h or 2d", flag, raw, min, max);
}

function parseDurationIn(
    units: Record<string, number>,
    examples: string,
    flag: string,
    raw: string,
    min: number,
    max: number,
): number {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(raw.trim());
    const unit = units[(m?.[2] ?? "").toLowerCase()];
    const ms = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
    if (!Number.isFinite(ms) || ms < min || ms > max) {
        const range = max > 48 * 3_600_000 ? `${max / 86_400_000} d` : `${max / 3_600_000} h`;
        throw new InputError(
            `${flag} must be a duration from ${formatMs(min)} to ${range}, ${examples}; got ${JSON.stringify(raw)}`,
        );
    }
    return ms;
}

/**
 * Parses a size such as `1048576`, `16MB`, `1GB` (1024-based, as PostgreSQL) into bytes.
 * @throws InputError naming `flag` and what is allowed.
 */
export function parseBytes(flag: string, raw: string): number {
    const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?$/i.exec(raw.trim());
    const bytes = m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "").toLowerCase()]) : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 1) {
        throw new InputError(
            `${flag} must be a positive size in bytes, or with kB, MB, GB or TB (such as 16MB); got ${JSON.stringify(raw)}`,
        );
    }
    return bytes;
}

/**
 * Parses the command line (without `node` and the script path) with `util.parseArgs`.
 * @throws InputError for an unknown flag, a missing or bad value, a positional argument,
 *   or a wrong combination, naming the flag and what is allowed.
 */
export function parseVerifyArgs(argv: readonly string[]): ParsedArgs {
    const values = parseFlags(argv, {
        ...COMMON_FLAGS,
        "canary-timeout": { type: "string" },
        "lag-warn": { type: "string" },
        "lag-fail": { type: "string" },
        "lag-warn-bytes": { type: "string" },
        "lag-fail-bytes": { type: "string" },
    });
    if (values.help) return { help: true };
    const source = parseSource(values);

    const dur = (flag: keyof typeof values, def: number, min?: number) => {
        const raw = values[flag];
        return typeof raw === "string" ? parseDuration(`--${flag}`, raw, min) : def;
    };
    const bytes = (flag: "lag-warn-bytes" | "lag-fail-bytes") => {
        const raw = values[flag];
        return raw === undefined ? undefined : parseBytes(`--${flag}`, raw);
    };

    const options: VerifyOptions = {
        source,
        json: values.json ?? false,
        connectTimeoutMs: dur("connect-timeout", DEFAULTS.connectTimeoutMs, 100),
        queryTimeoutMs: dur("query-timeout", DEFAULTS.queryTimeoutMs, 100),
        canaryTimeoutMs: dur("canary-timeout", DEFAULTS.canaryTimeoutMs, 100),
        lagWarnMs: dur("lag-warn", DEFAULTS.lagWarnMs),
        lagFailMs: dur("lag-fail", DEFAULTS.lagFailMs),
        lagWarnBytes: bytes("lag-warn-bytes"),
        lagFailBytes: bytes("lag-fail-bytes"),
    };
    if (options.lagWarnMs > options.lagFailMs) {
        const shown = (flag: "lag-warn" | "lag-fail", ms: number) =>
            `--${flag} ${formatMs(ms)}${values[flag] === undefined ? " (default)" : ""}`;
        throw new InputError(
            `${shown("lag-warn", options.lagWarnMs)} must not be above ${shown("lag-fail", options.lagFailMs)}: give both, warn <= fail`,
        );
    }
    if (
        options.lagWarnBytes !== undefined &&
        options.lagFailBytes !== undefined &&
        options.lagWarnBytes > options.lagFailBytes
    ) {
        throw new InputError(
            `--lag-warn-bytes (${options.lagWarnBytes}) must not be above --lag-fail-bytes (${options.lagFailBytes})`,
        );
    }
    return { help: false, options };
}

/** The flags `verify` and `health` share: the source of the outputs, `--json`, `--help` and the timeouts. */
export const COMMON_FLAGS = {
    stack: { type: "string" },
    outputs: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    "connect-timeout": { type: "string" },
    "query-timeout": { type: "string" },
} as const;

/**
 * Parses a command line strictly with `util.parseArgs` (no positionals, no unknown flag) and,
 * unless `--help` is among them, rejects a flag given twice. Shared by the verify and health commands.
 * @throws InputError naming the flag.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O) {
    let parsed;
    try {
        parsed = parseArgs({ tokens: true, args: [...argv], strict: true, allowPositionals: false, options });
    } catch (err) {
        throw new InputError(`${describeParseArgsError(err)}\nRun with --help for the list of flags.`);
    }
    if (!(parsed.values as { help?: boolean }).help) {
        const seen = new Set<string>();
        for (const token of parsed.tokens) {
            if (token.kind !== "option") continue;
            if (seen.has(token.name))
                throw new InputError(`--${token.name} is given more than once: give it once`);
            seen.add(token.name);
        }
    }
    return parsed.values;
}

/**
 * The source of the outputs from `--stack <name>` or `--outputs <file.json>` (exactly one).
 * @throws InputError when both, neither, or a malformed value is given.
 */
export function parseSource(values: { stack?: string; outputs?: string }): OutputsSource {
    if (values.stack !== undefined && values.outputs !== undefined) {
        throw new InputError(
            "--stack and --outputs cannot be used together: give exactly one source of outputs",
        );
    }
    if (values.stack !== undefined) {
        if (!STACK_NAME.test(values.stack)) {
            throw new InputError(
                `--stack must be a Pulumi stack name ([org/[project/]]name: letters, digits, -, _, .); got ${JSON.stringify(values.stack)}`,
            );
        }
        return { kind: "stack", stack: values.stack };
    }
    if (values.outputs !== undefined) {
        if (values.outputs.trim() === "")
            throw new InputError("--outputs must be the path of a JSON file; got an empty string");
        return { kind: "file", path: values.outputs };
    }
    throw new InputError("one of --stack <name> or --outputs <file.json> is required (see --help)");
}

/** Turns node's parseArgs errors into one line that names the flag. */
function describeParseArgsError(err: unknown): string {
    const e = err as { code?: string; message?: string };
    const message = e.message ?? String(err);
    switch (e.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
            const flag = /'([^']+)'/.exec(message)?.[1] ?? "option";
            return `unknown flag ${flag}`;
        }
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
            const arg = /'([^']*)'/.exec(message)?.[1];
            return `unexpected argument ${arg === undefined ? "" : JSON.stringify(arg)}: every value follows its flag (--stack <name>, --outputs <file.json>)`;
        }
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
            const flag = /(--[a-z-]+)/.exec(message)?.[1] ?? "a flag";
            if (/argument missing/.test(message)) return `${flag} needs a value`;
            if (/ambiguous/.test(message))
                return `${flag} needs a value (a value starting with '-' is written ${flag}=<value>)`;
            if (/does not take an argument/.test(message)) return `${flag} takes no value`;
            return `${flag}: ${message}`;
        }
        default:
            return message;
    }
}
