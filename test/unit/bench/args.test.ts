import * as path from "node:path";
import { parseBenchArgs, USAGE } from "../../../scripts/bench/args";
import { benchPlan, rateLabel, SECTIONS } from "../../../scripts/bench/plan";
import { InputError } from "../../../scripts/verify/errors";

const ROOT = "/repo";

describe("parseBenchArgs", () => {
    test("no flags: the full run of every section, written to bench/", () => {
        expect(parseBenchArgs([], ROOT)).toEqual({
            help: false,
            options: { quick: false, sections: [...SECTIONS], outDir: path.join(ROOT, "bench") },
        });
    });

    test("--quick writes elsewhere, so published figures are never overwritten by a development run", () => {
        expect(parseBenchArgs(["--quick"], ROOT)).toEqual({
            help: false,
            options: { quick: true, sections: [...SECTIONS], outDir: path.join(ROOT, ".e2e/bench-quick") },
        });
    });

    test("--only keeps the sections in run order, whatever order they are given in", () => {
        const parsed = parseBenchArgs(["--only", "failover, lag"], ROOT);
        expect(parsed.help === false && parsed.options.sections).toEqual(["lag", "failover"]);
    });

    test("--out-dir resolves against the repository root; an absolute one stays", () => {
        const rel = parseBenchArgs(["--out-dir", "tmp/b"], ROOT);
        const abs = parseBenchArgs(["--out-dir", "/x/y"], ROOT);
        expect(rel.help === false && rel.options.outDir).toBe(path.join(ROOT, "tmp/b"));
        expect(abs.help === false && abs.options.outDir).toBe("/x/y");
    });

    test("--help and -h ask for the usage text", () => {
        expect(parseBenchArgs(["--help"], ROOT)).toEqual({ help: true });
        expect(parseBenchArgs(["-h"], ROOT)).toEqual({ help: true });
        expect(USAGE).toContain("--quick");
    });

    test.each([
        [["--fast"], /Unknown option '--fast'/],
        [["stack"], /Unexpected argument 'stack'/],
        [
            ["--only", "lag,speed"],
            /--only takes a comma-separated list of deploy, lag, pooling, backup, failover; got "lag,speed"/,
        ],
        [["--only", ","], /--only takes/],
        [["--out-dir", ""], /--out-dir must not be empty/],
        [["--quick=yes"], /--quick/],
    ])("rejects %j", (argv, message) => {
        expect(() => parseBenchArgs(argv, ROOT)).toThrow(InputError);
        expect(() => parseBenchArgs(argv, ROOT)).toThrow(message);
    });
});

describe("benchPlan", () => {
    test("the full plan repeats each measurement 3 times, the quick one once", () => {
        expect(benchPlan(false, 2)).toMatchObject({
            mode: "full",
            runs: 3,
            deployRuns: 3,
            failoverRuns: 3,
            lagRates: [100, 500, 1000, null],
            sampleIntervalMs: 100,
        });
        expect(benchPlan(true, 2)).toMatchObject({ mode: "quick", runs: 1, deployRuns: 1, failoverRuns: 1 });
    });

    test("the full plan's pgbench time fits the 20-minute budget with room for deploys, backups and failovers", () => {
        const p = benchPlan(false, 2);
        const lag = 2 * p.runs * p.lagRates.length * p.lagSeconds;
        const pooling = p.runs * 4 * 2 * p.poolingSeconds;
        expect(lag + pooling).toBeLessThanOrEqual(8 * 60);
    });

    test("pgbench threads follow the cores, 1 to 4", () => {
        expect(benchPlan(false, 1).threads).toBe(1);
        expect(benchPlan(false, 2).threads).toBe(2);
        expect(benchPlan(false, 64).threads).toBe(4);
    });

    test("rate labels", () => {
        expect(rateLabel(500)).toBe("500 TPS");
        expect(rateLabel(null)).toBe("unthrottled");
    });
});
