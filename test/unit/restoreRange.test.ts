import type { ContainerControl } from "../../scripts/docker/containers";
import { archivedRange, checkTargetTime, oldestBackupStop } from "../../scripts/restore/range";
import { InputError } from "../../scripts/verify/errors";

const INFO = JSON.stringify([
    {
        name: "main",
        backup: [
            { label: "20261130-100000F", timestamp: { start: 1_796_032_800, stop: 1_796_032_810 } },
            {
                label: "20261130-100000F_20261130-160000D",
                timestamp: { start: 1_796_054_400, stop: 1_796_054_405 },
            },
        ],
        archive: [{ min: "000000010000000000000001", max: "000000010000000000000009" }],
    },
]);
const START = new Date(1_796_032_810_000);
const END = new Date("2026-11-30T17:00:00Z");

describe("the range a point-in-time restore can reach", () => {
    test("starts at the oldest backup's stop time; none without a backup", () => {
        expect(oldestBackupStop(INFO)).toEqual(START);
        expect(oldestBackupStop(JSON.stringify([{ name: "main", backup: [] }]))).toBeUndefined();
        expect(() => oldestBackupStop('{"not": "an array"}')).toThrow("JSON array");
    });

    test.each([
        [
            "before the oldest backup ended",
            new Date(START.getTime() - 1000),
            "is before the oldest backup ended",
        ],
        ["after the archive's end", new Date(END.getTime() + 1000), "is after the archive's end"],
    ])("a target %s is refused up front, naming the range", (_, target, why) => {
        expect(() => checkTargetTime(target, { start: START, end: END })).toThrow(InputError);
        expect(() => checkTargetTime(target, { start: START, end: END })).toThrow(
            `${why}: the available range is 2026-11-30T10:00:10Z (the oldest backup's end) to 2026-11-30T17:00:00Z (the archive's end, marked now)`,
        );
    });

    test("a target within the range, at either end, is accepted; without a backup nothing is", () => {
        for (const t of [START, END, new Date(END.getTime() - 60_000)])
            expect(() => checkTargetTime(t, { start: START, end: END })).not.toThrow();
        expect(() => checkTargetTime(END, {})).toThrow("there is no backup yet");
    });

    /** A scheduler container that answers psql, pgbackrest check and info as told. */
    function control(answers: { mark: [number, string]; check: [number, string] }) {
        const calls: string[][] = [];
        const c: Pick<ContainerControl, "exec"> = {
            async exec(_name, cmd, opts) {
                calls.push([opts?.user ?? "root", ...cmd]);
                if (cmd[0] === "psql") return { exitCode: answers.mark[0], output: answers.mark[1] };
                if (cmd.includes("check")) return { exitCode: answers.check[0], output: answers.check[1] };
                return { exitCode: 0, output: INFO };
            },
        };
        return { control: c as ContainerControl, calls };
    }

    test("marks the end on the primary with a committed transaction id, then waits for it to be archived", async () => {
        const { control: c, calls } = control({ mark: [0, "1796060400.5|7421\n"], check: [0, ""] });
        expect(await archivedRange(c, "pgha-dev-backup")).toEqual({
            start: START,
            end: new Date(1_796_060_400_500),
            endUnknownBecause: undefined,
        });
        expect(calls.map((c) => c.slice(0, 2).concat(c.slice(-1)))).toEqual([
            ["postgres", "psql", "SELECT extract(epoch FROM clock_timestamp()), pg_current_xact_id()"],
            ["postgres", "pgbackrest", "check"],
            ["postgres", "pgbackrest", "info"],
        ]);
    });

    test("a repository that cannot take the mark leaves the end unknown, with the reason", async () => {
        const { control: c } = control({
            mark: [0, "1796060400.5|7421\n"],
            check: [82, "ERROR: [082]: WAL segment was not archived before the 60000ms timeout"],
        });
        const r = await archivedRange(c, "pgha-dev-backup");
        expect(r.end).toBeUndefined();
        expect(r.endUnknownBecause).toContain("pgbackrest check failed: ERROR: [082]");
    });
});
