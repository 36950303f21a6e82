/** `1536` → `1.5 kB`; 1024-based like PostgreSQL's pg_size_pretty. */
export function formatBytes(bytes: number): string {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** `850` → `850 ms`, `12345` → `12.3 s`, `125000` → `2 min 5 s`, `5400000` → `1 h 30 min`, `93600000` → `1 d 2 h`. */
export function formatMs(ms: number): string {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
    if (ms < 3_600_000) {
        const s = Math.round(ms / 1000);
        return `${Math.floor(s / 60)} min ${s % 60} s`;
    }
    const min = Math.round(ms / 60_000);
    if (min < 24 * 60) return `${Math.floor(min / 60)} h ${min % 60} min`;
    const h = Math.round(ms / 3_600_000);
    return `${Math.floor(h / 24)} d ${h % 24} h`;
}
