/**
 * The time range a point-in-time restore can reach, and the mark that makes its end reachable.
 *
 * PostgreSQL ends a recovery to `recovery_target_time` T at the first commit (or abort) record
 * after T. When nothing was committed after T (a quiet night, "as of a minute ago"), recovery
 * runs out of WAL first and fails with "recovery ended before configured recovery target was
 * reached", although every change up to T is archived. So before such a restore the tool marks
 * the archive's end on the live primary: one empty transaction that is given a transaction id
 * (`pg_current_xact_id()`, so its commit is a WAL record with a time stamp), then
 * `pgbackrest check`, which switches to a new WAL segment and waits until that one is in the
 * repository. Recovery to any T up to the mark then finds a commit after T and stops there,
 * leaving the mark out. The range starts where the oldest backup ends (its stop time): a restore
 * needs a backup that is consistent before T.
 */
import type { ContainerControl } from "../docker/containers";
import { InputError } from "../verify/errors";

/** `pgbackrest info` of the stanza as JSON, with nothing else on stdout or stderr. */
export const PGBACKREST_INFO_JSON = [
    "pgbackrest",
    "--stanza=main",
    "--output=json",
    "--log-level-console=off",
    "--log-level-stderr=off",
    "info",
];

/** Where a point-in-time restore can go. */
export interface ArchiveRange {
    /** The stop time of the oldest backup: the earliest consistent state. Undefined: no backup. */
    readonly start?: Date;
    /** The archive's marked end (a commit that reached the repository); undefined when it could not be marked. */
    readonly end?: Date;
    /** Why the end could not be marked, when it could not. */
    readonly endUnknownBecause?: string;
}

/** One backup of `pgbackrest info --output=json`, the fields used here. */
interface InfoBackup {
    readonly label: string;
    readonly timestamp: { readonly start: number; readonly stop: number };
}

/**
 * The stop time of the oldest backup in `pgbackrest info --output=json` (one stanza), or
 * undefined when there is none.
 * @throws Error when the text is not pgBackRest's info JSON.
 */
export function oldestBackupStop(infoJson: string): Date | undefined {
    const parsed = JSON.parse(infoJson) as { backup?: InfoBackup[] }[];
    if (!Array.isArray(parsed)) throw new Error("pgbackrest info did not print a JSON array");
    const stops = parsed.flatMap((s) => s.backup ?? []).map((b) => b.timestamp.stop);
    return stops.length ? new Date(Math.min(...stops) * 1000) : undefined;
}

/** `2026-11-30T17:20:00.000Z` without milliseconds when they are zero. */
const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");

/** The range as a person reads it. */
export function describeRange(r: ArchiveRange): string {
    if (!r.start) return "no backup yet: nothing to restore";
    return `${iso(r.start)} (the oldest backup's end) to ${r.end ? `${iso(r.end)} (the archive's end, marked now)` : `the last archived commit (the end could not be marked: ${r.endUnknownBecause ?? "unknown"})`}`;
}

/**
 * Refuses a target outside the range, naming the range that is available.
 * @throws InputError when `target` is before the oldest backup's end or after the archive's end.
 */
export function checkTargetTime(target: Date, r: ArchiveRange): void {
    const t = iso(target);
    if (!r.start) throw new InputError(`--target-time ${t} cannot be restored: there is no backup yet`);
    if (target < r.start)
        throw new InputError(
            `--target-time ${t} is before the oldest backup ended: the available range is ${describeRange(r)}`,
        );
    if (r.end && target > r.end)
        throw new InputError(
            `--target-time ${t} is after the archive's end: the available range is ${describeRange(r)}`,
        );
}

const AS_POSTGRES = { user: "postgres" } as const;

/**
 * Marks the archive's end on the primary (through the backup scheduler's container, which shares
 * its socket) and reads the oldest backup, as described in the file comment.
 * @throws Error when the repository cannot be read at all.
 */
export async function archivedRange(control: ContainerControl, scheduler: string): Promise<ArchiveRange> {
    let end: Date | undefined;
    let endUnknownBecause: string | undefined;
    const mark = await control.exec(
        scheduler,
        [
            "psql",
            "-XqtA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "/var/run/postgresql",
            "-d",
            "postgres",
            "-c",
            "SELECT extract(epoch FROM clock_timestamp()), pg_current_xact_id()",
        ],
        AS_POSTGRES,
    );
    const markedAt = Number(/^(\d+(?:\.\d+)?)\|/m.exec(mark.output)?.[1]);
    if (mark.exitCode !== 0 || !Number.isFinite(markedAt)) {
        endUnknownBecause = `the primary did not answer: ${mark.output.trim().slice(0, 300)}`;
    } else {
        const check = await control.exec(
            scheduler,
            ["pgbackrest", "--stanza=main", "--log-level-console=error", "check"],
            AS_POSTGRES,
        );
        if (check.exitCode === 0) end = new Date(markedAt * 1000);
        else endUnknownBecause = `pgbackrest check failed: ${check.output.trim().slice(0, 300)}`;
    }
    const info = await control.exec(scheduler, PGBACKREST_INFO_JSON, AS_POSTGRES);
    if (info.exitCode !== 0) throw new Error(`pgbackrest info failed: ${info.output.trim().slice(0, 500)}`);
    return { start: oldestBackupStop(info.output), end, endUnknownBecause };
}
