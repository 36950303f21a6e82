/**
 * A gap in the archive, as a restore of the latest state meets it. PostgreSQL ends such a recovery
 * at the first WAL segment the archive does not have and starts as if that were the end, without a
 * word; pgBackRest drops WAL while the repository is unreachable past `pgha:archiveQueueMaxMb`, so
 * a later segment may well be there. Comparing where recovery stopped with the newest archived
 * segment tells the two apart.
 */

/** Where recovery stopped and what the archive has beyond it. */
export interface WalGap {
    /** The segment (timeline ignored) of the last record recovery replayed. */
    readonly restoredThrough: string;
    /** The newest segment in the archive. */
    readonly archiveHas: string;
}

/** The log-and-segment part (16 hex digits) of the 16 MB segment holding `lsn` (`0/9000060`). */
export function segmentOfLsn(lsn: string, segmentBytes = 16 * 1024 * 1024): string {
    const [hi, lo] = lsn.split("/").map((h) => BigInt(`0x${h}`));
    const perLog = 0x1_0000_0000n / BigInt(segmentBytes);
    const segNo = (hi * 0x1_0000_0000n + lo) / BigInt(segmentBytes);
    const hex = (n: bigint) => n.toString(16).toUpperCase().padStart(8, "0");
    return hex(segNo / perLog) + hex(segNo % perLog);
}

/**
 * The gap between where a latest-state recovery stopped (PostgreSQL's `redo done at <lsn>` in the
 * restored server's log) and the newest archived segment (`pgbackrest info --output=json`'s
 * archive max), or undefined when recovery reached the archive's end (or either is unknown).
 */
export function findWalGap(serverLog: string, infoJson: string): WalGap | undefined {
    const lsn = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(serverLog)?.[1];
    if (!lsn) return undefined;
    let max: string | undefined;
    try {
        const info = JSON.parse(infoJson) as { archive?: { max?: string | null }[] }[];
        max = info
            .flatMap((s) => s.archive ?? [])
            .map((a) => a.max ?? "")
            .filter((m) => /^[0-9A-F]{24}$/.test(m))
            .sort((a, b) => a.slice(8).localeCompare(b.slice(8)))
            .pop();
    } catch {
        return undefined;
    }
    if (!max) return undefined;
    const restoredThrough = segmentOfLsn(lsn);
    return max.slice(8) > restoredThrough ? { restoredThrough, archiveHas: max.slice(8) } : undefined;
}
