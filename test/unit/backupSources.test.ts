import { backupSources } from "../../scripts/backup/sources";

describe("backupSources (what `npm run backup --json` says of where files came from)", () => {
    test("counts per source from the role script's summary line", () => {
        const log = [
            "2026-11-23T14:36:02Z pgha-node[backup]: backup (full) starting",
            "2026-11-23 14:36:11.033 P00   INFO: full backup size = 29.2MB, file total = 1272",
            "2026-11-23T14:36:11Z pgha-node[backup]: files copied from: 7 local, 1264 pgha-dev-replica-1-pgbackrest",
        ].join("\n");
        expect(backupSources(log)).toEqual({
            filesFrom: { local: 7, "pgha-dev-replica-1-pgbackrest": 1264 },
            fellBackToPrimary: false,
        });
    });

    test("a fallback to the primary: the last summary counts, and the fallback is reported", () => {
        const log = [
            "ERROR: [056]: unable to find standby cluster - cannot proceed",
            "2026-11-23T14:39:15Z pgha-node[backup]: files copied from: ",
            "2026-11-23T14:39:15Z pgha-node[backup]: no replica could serve the backup: taking it from the primary",
            "2026-11-23T14:39:57Z pgha-node[backup]: files copied from: 12 local",
        ].join("\n");
        expect(backupSources(log)).toEqual({ filesFrom: { local: 12 }, fellBackToPrimary: true });
    });

    test("no summary (pgBackRest failed before copying): no sources", () => {
        expect(backupSources("ERROR: [039]: HTTP request failed")).toEqual({
            filesFrom: {},
            fellBackToPrimary: false,
        });
    });
});
