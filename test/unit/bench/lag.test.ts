import { summarizeLag } from "../../../scripts/bench/lagSampler";
import { lagMedians, syncTpsRatios } from "../../../scripts/bench/sections/lag";
import type { LagRun } from "../../../scripts/bench/types";
import { lagMode } from "./fixtures";

describe("summarizeLag", () => {
    const samples = [0, 1, 2, 3].map((i) => ({
        t: i * 100,
        replicas: { replica_1: { replayMs: i * 10, bytes: i * 1000 } },
    }));

    test("per replica: p50, p99, max of replay lag, largest byte lag, samples where it was missing", () => {
        const summary = summarizeLag(samples, ["replica_1", "replica_2"]);
        expect(summary.replica_1).toEqual({
            replayMs: { p50: 15, p99: expect.closeTo(29.7, 9), max: 30, count: 4 },
            maxBytes: 3000,
            missingSamples: 0,
        });
        expect(summary.replica_2).toEqual({ replayMs: undefined, maxBytes: undefined, missingSamples: 4 });
    });
});

describe("lagMedians", () => {
    test("medians over runs of each figure", () => {
        const run = (p50: number, max: number): LagRun => ({
            pgbench: { tps: 1, transactions: 1, failed: 0 },
            samples: 10,
            sampleErrors: 0,
            replicas: {
                replica_1: {
                    replayMs: { p50, p99: p50 * 2, max, count: 10 },
                    maxBytes: max * 100,
                    missingSamples: 0,
                },
            },
        });
        expect(lagMedians([run(1, 10), run(3, 50), run(2, 20)], ["replica_1"])).toEqual({
            replica_1: { p50Ms: 2, p99Ms: 4, maxMs: 20, maxBytes: 2000 },
        });
    });
});

describe("syncTpsRatios", () => {
    test("sync TPS over async TPS per rate", () => {
        expect(syncTpsRatios(lagMode("async", 1), lagMode("sync", 0.5))).toEqual([
            { rate: 100, ratio: 0.5 },
            { rate: null, ratio: 0.5 },
        ]);
    });

    test("no ratio without both modes", () => {
        expect(syncTpsRatios(lagMode("async", 1), undefined)).toEqual([]);
    });
});
