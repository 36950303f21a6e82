import { findWalGap, segmentOfLsn } from "../../scripts/restore/gap";

const info = (max: string | null) =>
    JSON.stringify([{ name: "main", archive: [{ id: "15-1", min: "000000010000000000000001", max }] }]);

describe("a gap in the archive, as a latest-state restore meets it", () => {
    test.each([
        ["0/9000060", "0000000000000009"],
        ["0/FF000000", "00000000000000FF"],
        ["1/2000028", "0000000100000002"],
    ])("LSN %s is in segment %s (16 MB segments)", (lsn, segment) => {
        expect(segmentOfLsn(lsn)).toBe(segment);
    });

    test("recovery that stopped before the newest archived segment reports the gap", () => {
        const log = "LOG:  redo done at 0/9000060 system usage: ...";
        expect(findWalGap(log, info("000000010000000000000014"))).toEqual({
            restoredThrough: "0000000000000009",
            archiveHas: "0000000000000014",
        });
    });

    test.each([
        ["recovery reached the newest segment", "redo done at 0/14000028", info("000000010000000000000014")],
        [
            "a later timeline's segment numbers still compare",
            "redo done at 0/14000028",
            info("000000020000000000000014"),
        ],
        ["no WAL replayed", "database system is ready", info("000000010000000000000014")],
        ["nothing archived", "redo done at 0/9000060", info(null)],
        ["unreadable info", "redo done at 0/9000060", "not json"],
    ])("no gap when %s", (_, log, json) => {
        expect(findWalGap(log, json)).toBeUndefined();
    });
});
