/**
 * Where the backup's files came from, as the role script logs it: `filesFrom` maps "local" (the
 * primary's data directory, beside the scheduler) or a replica's pgBackRest server to a file count;
 * `fellBackToPrimary` says no replica could serve a backup from a replica.
 */
export function backupSources(log: string): {
    filesFrom: Record<string, number>;
    fellBackToPrimary: boolean;
} {
    const filesFrom: Record<string, number> = {};
    const line = [...log.matchAll(/files copied from: (.*)/g)].pop()?.[1] ?? "";
    for (const m of line.matchAll(/(\d+) ([A-Za-z0-9_.-]+)/g)) filesFrom[m[2]] = Number(m[1]);
    return { filesFrom, fellBackToPrimary: log.includes("no replica could serve the backup") };
}
