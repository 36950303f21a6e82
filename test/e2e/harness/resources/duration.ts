/** Go's time.Duration, as terraform-provider-docker parses and prints health check durations. */

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration string ("1m30s", "500ms") into nanoseconds (time.ParseDuration). */
export function parseGoDuration(s: string): number {
    if (s === "0") return 0;
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
    let total = 0;
    let match: RegExpExecArray | null;
    while (re.lastIndex < s.length && (match = re.exec(s)) !== null) {
        total += parseFloat(match[1]) * UNITS[match[2]];
    }
    if (re.lastIndex !== s.length || s.length === 0) throw new Error(`invalid duration ${JSON.stringify(s)}`);
    return Math.round(total);
}

/** Digits of `value / 10^decimals`, without trailing zeros in the fraction ("1.5", "300"). */
function fixed(value: number, decimals: number): string {
    const unit = 10 ** decimals;
    const whole = Math.floor(value / unit);
    const frac = String(value % unit)
        .padStart(decimals, "0")
        .replace(/0+$/, "");
    return frac ? `${whole}.${frac}` : String(whole);
}

/**
 * Prints nanoseconds as Go's Duration.String() does: "0s", "300ms", "2s", "1m30s", "5m0s",
 * "1h0m0s". terraform-provider-docker reads health check durations back in this form.
 */
export function formatGoDuration(ns: number): string {
    if (ns === 0) return "0s";
    const sign = ns < 0 ? "-" : "";
    let u = Math.abs(Math.round(ns));
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${fixed(u, 3)}µs`;
    if (u < 1e9) return `${sign}${fixed(u, 6)}ms`;
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    return `${sign}${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${fixed(u, 9)}s`;
}
