import { classify, classifyLag, worst, type LagThresholds } from "../../../scripts/verify/thresholds";
import type { Status } from "../../../scripts/verify/types";

describe("classify", () => {
    test.each<[number | null | undefined, number | undefined, number | undefined, Status]>([
        [0, 30, 60, "PASS"],
        [29.999, 30, 60, "PASS"],
        [30, 30, 60, "WARN"],
        [59, 30, 60, "WARN"],
        [60, 30, 60, "FAIL"],
        [1e9, 30, 60, "FAIL"],
        [10, 10, 10, "FAIL"],
        [null, 30, 60, "PASS"],
        [undefined, 30, 60, "PASS"],
        [Number.NaN, 30, 60, "PASS"],
        [100, undefined, undefined, "PASS"],
        [100, 50, undefined, "WARN"],
        [100, undefined, 50, "FAIL"],
    ])("value %p with warn %p and fail %p is %s", (value, warn, fail, status) => {
        expect(classify(value, warn, fail)).toBe(status);
    });
});

describe("worst", () => {
    test.each<[Status[], Status]>([
        [[], "PASS"],
        [["PASS"], "PASS"],
        [["PASS", "WARN"], "WARN"],
        [["WARN", "PASS"], "WARN"],
        [["FAIL", "WARN", "PASS"], "FAIL"],
        [["PASS", "FAIL"], "FAIL"],
    ])("worst of %j is %s", (statuses, status) => {
        expect(worst(...statuses)).toBe(status);
    });
});

describe("classifyLag", () => {
    const t: LagThresholds = { warnMs: 30_000, failMs: 60_000 };
    const tb: LagThresholds = { ...t, warnBytes: 16 * 1024 ** 2, failBytes: 1024 ** 3 };
    test.each<[string, { ms?: number | null; bytes?: number | null }, LagThresholds, Status, RegExp | null]>([
        ["caught up", { ms: 0, bytes: 0 }, t, "PASS", null],
        ["just below warn", { ms: 29_999, bytes: 0 }, t, "PASS", null],
        ["at warn", { ms: 30_000, bytes: 0 }, t, "WARN", /lag 30\.0 s >= --lag-warn 30\.0 s/],
        ["between", { ms: 45_000, bytes: 0 }, t, "WARN", /--lag-warn/],
        ["at fail", { ms: 60_000, bytes: 0 }, t, "FAIL", /lag 1 min 0 s >= --lag-fail 1 min 0 s/],
        ["bytes ignored without byte thresholds", { ms: 0, bytes: 1e12 }, t, "PASS", null],
        [
            "bytes warn",
            { ms: 0, bytes: 32 * 1024 ** 2 },
            tb,
            "WARN",
            /lag 32\.0 MB >= --lag-warn-bytes 16\.0 MB/,
        ],
        [
            "bytes fail",
            { ms: 0, bytes: 2 * 1024 ** 3 },
            tb,
            "FAIL",
            /lag 2\.0 GB >= --lag-fail-bytes 1\.0 GB/,
        ],
        [
            "time warn, bytes fail",
            { ms: 31_000, bytes: 2 * 1024 ** 3 },
            tb,
            "FAIL",
            /--lag-warn .*; |--lag-fail-bytes/,
        ],
        ["time fail, bytes fine", { ms: 61_000, bytes: 10 }, tb, "FAIL", /--lag-fail 1 min/],
        ["only bytes known", { ms: null, bytes: 20 * 1024 ** 2 }, tb, "WARN", /--lag-warn-bytes/],
        ["only time known", { ms: 500, bytes: null }, tb, "PASS", null],
        [
            "only a fail byte threshold",
            { ms: 0, bytes: 10 },
            { ...t, failBytes: 5 },
            "FAIL",
            /--lag-fail-bytes 5 B/,
        ],
    ])("%s", (_name, lag, thresholds, status, reason) => {
        const got = classifyLag(lag, thresholds);
        expect(got.status).toBe(status);
        if (reason) expect(got.reasons.join("; ")).toMatch(reason);
        else expect(got.reasons).toEqual([]);
    });
});
