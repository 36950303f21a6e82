import { distribution, median, medianOf, percentile, ratio } from "../../../scripts/bench/stats";

describe("percentile", () => {
    test.each([
        [[1, 2, 3, 4], 50, 2.5],
        [[1, 2, 3, 4], 0, 1],
        [[1, 2, 3, 4], 100, 4],
        [[4, 1, 3, 2], 50, 2.5],
        [[10], 99, 10],
        [[0, 10], 99, 9.9],
        [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9.1],
    ])("of %j at p%d is %d", (values, p, expected) => {
        expect(percentile(values, p)).toBeCloseTo(expected, 10);
    });

    test("does not reorder its input", () => {
        const values = [3, 1, 2];
        percentile(values, 50);
        expect(values).toEqual([3, 1, 2]);
    });

    test("of an empty list is undefined", () => {
        expect(percentile([], 50)).toBeUndefined();
    });

    test.each([-1, 101, Number.NaN])("rejects p = %d", (p) => {
        expect(() => percentile([1], p)).toThrow(RangeError);
    });
});

describe("median and friends", () => {
    test("median of an odd and an even count", () => {
        expect(median([5, 1, 3])).toBe(3);
        expect(median([5, 1, 3, 7])).toBe(4);
    });

    test("medianOf skips missing values, and is undefined when none is left", () => {
        expect(medianOf([undefined, 2, null, 4, Number.NaN])).toBe(3);
        expect(medianOf([undefined, null])).toBeUndefined();
    });

    test("distribution gives p50, p99, max and count", () => {
        const values = Array.from({ length: 101 }, (_, i) => i);
        expect(distribution(values)).toEqual({ p50: 50, p99: 99, max: 100, count: 101 });
        expect(distribution([])).toBeUndefined();
    });

    test("ratio is undefined without both numbers or with a zero denominator", () => {
        expect(ratio(3, 4)).toBe(0.75);
        expect(ratio(undefined, 4)).toBeUndefined();
        expect(ratio(3, undefined)).toBeUndefined();
        expect(ratio(3, 0)).toBeUndefined();
    });
});
