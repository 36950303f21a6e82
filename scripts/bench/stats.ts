/** Small, pure statistics for the benchmark: percentiles, medians, ratios. */

/**
 * The `p`-th percentile (0–100) of `values`, by linear interpolation between the closest ranks
 * (the method of numpy's default and of spreadsheets' PERCENTILE.INC): the 50th of [1, 2, 3, 4]
 * is 2.5, the 100th is the maximum.
 * @returns `undefined` for an empty list.
 * @throws RangeError when `p` is not a number from 0 to 100.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = (p / 100) * (sorted.length - 1);
    const low = Math.floor(rank);
    const high = Math.ceil(rank);
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** The median of `values` (`undefined` for an empty list). */
export function median(values: readonly number[]): number | undefined {
    return percentile(values, 50);
}

/** The median of the values that are defined, or `undefined` when none is. */
export function medianOf(values: readonly (number | undefined | null)[]): number | undefined {
    return median(values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)));
}

/** p50, p99 and maximum of a sample. */
export interface Distribution {
    /** Median. */
    p50: number;
    /** 99th percentile. */
    p99: number;
    /** Largest value seen. */
    max: number;
    /** How many values. */
    count: number;
}

/** {@link Distribution} of `values`, or `undefined` for an empty list. */
export function distribution(values: readonly number[]): Distribution | undefined {
    if (values.length === 0) return undefined;
    return {
        p50: percentile(values, 50)!,
        p99: percentile(values, 99)!,
        max: Math.max(...values),
        count: values.length,
    };
}

/** `numerator / denominator`, or `undefined` when either is missing or the denominator is 0. */
export function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
    if (numerator === undefined || denominator === undefined || denominator === 0) return undefined;
    return numerator / denominator;
}
