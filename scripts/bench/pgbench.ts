/** Runs Debian's pgbench (installed by scripts/bench/prepare.sh) and reads what it prints. */
import { spawn } from "node:child_process";
import { redact } from "../verify/redact";
import type { Rate } from "./plan";

/** What pgbench printed at the end of a run. */
export interface PgbenchSummary {
    /** Transactions per second as pgbench reports it (with `-C`, including reconnection times). */
    tps: number;
    /** Transactions done. */
    transactions: number;
    /** Transactions that failed. */
    failed: number;
    /** Mean latency in milliseconds (with `-R`, including the schedule lag). */
    latencyAvgMs?: number;
    /** Mean time to open a connection, in milliseconds (`-C` only). */
    connectionAvgMs?: number;
    /** With `-R`: mean delay between a transaction's scheduled and actual start, in milliseconds. */
    scheduleLagAvgMs?: number;
}

function numberAfter(text: string, re: RegExp): number | undefined {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
}

/**
 * Reads the summary pgbench (15 and later) prints on stdout. A run that completed no transaction
 * (pgbench then prints no `tps` line) has a TPS of 0.
 * @throws Error when the text has no transaction count line (pgbench failed before the summary).
 */
export function parsePgbenchOutput(text: string): PgbenchSummary {
    const transactions = numberAfter(text, /^number of transactions actually processed: (\d+)/m);
    const tps = numberAfter(text, /^tps = ([\d.]+)/m) ?? (transactions === 0 ? 0 : undefined);
    if (tps === undefined || transactions === undefined) {
        const tail = text.trim().split("\n").slice(-4).join(" | ");
        throw new Error(
            `pgbench printed no summary (no \`tps =\` or \`number of transactions actually processed\` line)${tail ? `; it ended with: ${tail}` : ""}`,
        );
    }
    return {
        tps,
        transactions,
        failed: numberAfter(text, /^number of failed transactions: (\d+)/m) ?? 0,
        latencyAvgMs: numberAfter(text, /^latency average = ([\d.]+) ms/m),
        connectionAvgMs: numberAfter(text, /^average connection time = ([\d.]+) ms/m),
        scheduleLagAvgMs: numberAfter(text, /^rate limit schedule lag: avg ([\d.]+)/m),
    };
}

/** Where pgbench connects, and as whom. The password goes to pgbench in PGPASSWORD only. */
export interface PgTarget {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
}

/** One pgbench run. */
export interface PgbenchRun {
    /** Seconds (`-T`). */
    seconds: number;
    /** Clients (`-c`). */
    clients: number;
    /** Threads (`-j`). */
    threads: number;
    /** Target rate (`-R`); `null` or absent: unthrottled. */
    rate?: Rate;
    /** `-S`: the built-in select-only script instead of TPC-B-like read-write. */
    selectOnly?: boolean;
    /** `-C`: a new connection per transaction. */
    connectPerTransaction?: boolean;
}

/** The pgbench arguments of a run (no connection secret among them). */
export function pgbenchArgs(target: Omit<PgTarget, "password">, run: PgbenchRun): string[] {
    const args = ["-h", target.host, "-p", String(target.port), "-U", target.user, "-n", "--random-seed=1"];
    args.push(
        "-T",
        String(run.seconds),
        "-c",
        String(run.clients),
        "-j",
        String(Math.min(run.threads, run.clients)),
    );
    if (run.rate !== undefined && run.rate !== null) args.push("-R", String(run.rate));
    if (run.selectOnly) args.push("-S");
    if (run.connectPerTransaction) args.push("-C");
    args.push(target.database);
    return args;
}

/** Runs `pgbench` with `args`; resolves with its stdout, rejects with its (redacted) stderr on failure. */
export function execPgbench(target: PgTarget, args: readonly string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("pgbench", [...args], {
            env: { ...process.env, PGPASSWORD: target.password, PGCONNECT_TIMEOUT: "10" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(new Error(`could not run pgbench (${err.message}); run scripts/bench/prepare.sh`));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (code === 0) resolve(stdout);
            else
                reject(
                    new Error(
                        `pgbench ${args.join(" ")} failed (${signal ?? `exit ${code}`}): ${redact(stderr.trim().split("\n").slice(-5).join(" | "), [target.password])}`,
                    ),
                );
        });
    });
}

/** Runs pgbench for a timed run and returns its summary. */
export async function runPgbench(target: PgTarget, run: PgbenchRun): Promise<PgbenchSummary> {
    const stdout = await execPgbench(target, pgbenchArgs(target, run), (run.seconds + 120) * 1000);
    return parsePgbenchOutput(stdout);
}

/** `pgbench -i -s <scale>`: (re)creates the pgbench tables. Returns the seconds it took. */
export async function initPgbench(target: PgTarget, scale: number): Promise<number> {
    const started = Date.now();
    await execPgbench(
        target,
        [
            "-h",
            target.host,
            "-p",
            String(target.port),
            "-U",
            target.user,
            "-i",
            "-q",
            "-s",
            String(scale),
            target.database,
        ],
        600_000,
    );
    return (Date.now() - started) / 1000;
}
