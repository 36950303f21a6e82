import { lagChart } from "../../../scripts/bench/chart";
import { lagMode } from "./fixtures";

describe("lagChart", () => {
    const { data, script } = lagChart(
        [lagMode("async", 1), lagMode("sync", 0.5)],
        "/tmp/x/lag.dat",
        "/out/lag.png",
    );

    test("one data block per mode, the rates one after the other in time, one column per replica", () => {
        const blocks = data.trim().split("\n\n\n");
        expect(blocks).toHaveLength(2);
        expect(blocks[0].split("\n")).toEqual([
            "# async: seconds replica_1 replica_2",
            "0.000 1.500 1.500",
            "0.100 2.500 3.500",
            "0.200 3.500 5.500",
            "0.700 12.000 12.000",
            "0.800 13.000 14.000",
            "0.900 14.000 16.000",
        ]);
    });

    test("a panel per mode, a dashed boundary and label per rate, a line per replica", () => {
        expect(script).toContain("set output '/out/lag.png'");
        expect(script).toContain("set multiplot layout 2,1");
        expect(script).toContain("set title 'asynchronous (synchronousMode=off)'");
        expect(script).toContain("set title 'synchronous (synchronousMode=any1)'");
        expect(script).toContain("set label 'unthrottled' at 0.90, graph 0.94");
        expect(script).toContain("set arrow from 0.70, graph 0 to 0.70, graph 1 nohead");
        expect(script).toContain(
            "'/tmp/x/lag.dat' index 1 using 1:3 with lines linewidth 1.5 title 'replica_2'",
        );
        expect(script).toContain("set termoption noenhanced");
    });

    test("a replica missing from a sample is NaN (a gap), not 0", () => {
        const mode = lagMode("async", 1);
        mode.rates[0].series[1].replicas = { replica_1: { replayMs: 7, bytes: 0 } };
        expect(lagChart([mode], "d", "p").data).toContain("0.100 7.000 NaN");
    });

    test("paths with quotes are escaped for gnuplot", () => {
        expect(lagChart([lagMode("async", 1)], "d", "/it's/lag.png").script).toContain(
            "set output '/it''s/lag.png'",
        );
    });

    test("nothing to draw is an error", () => {
        const empty = lagMode("async", 1);
        empty.rates.forEach((r) => (r.series = []));
        expect(() => lagChart([empty], "d", "p")).toThrow("no lag samples to draw");
    });
});
