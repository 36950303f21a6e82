/**
 * bench/lag.png: replay lag per replica over time, one panel per replication mode, the rates one
 * after the other on the time axis. Drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal):
 * a plain data file and a short script, no browser or native npm module.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { rateLabel } from "./plan";
import type { LagModeResult } from "./types";

/** The data file and the gnuplot script of the chart. */
export interface ChartInput {
    /** One gnuplot data block per mode: `seconds lag_ms(replica 1) lag_ms(replica 2) ...`, NaN where a replica was missing. */
    data: string;
    script: string;
}

const MODE_TITLE = {
    async: "asynchronous (synchronousMode=off)",
    sync: "synchronous (synchronousMode=any1)",
} as const;

/** gnuplot string literal: single quotes, doubled inside. */
function quote(text: string): string {
    return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Builds the chart from the first run of each rate of each mode given (those with samples).
 * Each rate's samples are shifted to follow the previous rate's, with a dashed line and the
 * rate's name at the boundary. The y axis is linear from 0: a caught-up replica shows 0 ms, which
 * a logarithmic axis could not draw.
 * @throws Error when no mode has any sample.
 */
export function lagChart(modes: readonly LagModeResult[], dataPath: string, pngPath: string): ChartInput {
    const drawn = modes.filter((m) => m.rates.some((r) => r.series.length > 0));
    if (drawn.length === 0) throw new Error("no lag samples to draw");
    const replicas = [
        ...new Set(
            drawn.flatMap((m) => m.rates.flatMap((r) => r.series.flatMap((s) => Object.keys(s.replicas)))),
        ),
    ].sort();
    const blocks: string[] = [];
    const panels: string[] = [];
    drawn.forEach((mode, index) => {
        const rows: string[] = [`# ${mode.mode}: seconds ${replicas.join(" ")}`];
        const marks: string[] = [];
        let offset = 0;
        for (const rate of mode.rates) {
            if (rate.series.length === 0) continue;
            marks.push(
                `set arrow from ${offset.toFixed(2)}, graph 0 to ${offset.toFixed(2)}, graph 1 nohead dashtype 2 linecolor rgb 'gray50'`,
            );
            marks.push(
                `set label ${quote(rateLabel(rate.rate))} at ${(offset + 0.2).toFixed(2)}, graph 0.94 font ',9'`,
            );
            for (const sample of rate.series) {
                const values = replicas.map((r) =>
                    sample.replicas[r] ? sample.replicas[r].replayMs.toFixed(3) : "NaN",
                );
                rows.push(`${(offset + sample.t / 1000).toFixed(3)} ${values.join(" ")}`);
            }
            offset += rate.series[rate.series.length - 1].t / 1000 + 0.5;
        }
        blocks.push(rows.join("\n"));
        const plots = replicas.map(
            (r, i) =>
                `${quote(dataPath)} index ${index} using 1:${i + 2} with lines linewidth 1.5 title ${quote(r)}`,
        );
        panels.push(
            [
                `set title ${quote(MODE_TITLE[mode.mode])}`,
                ...marks,
                `plot ${plots.join(", \\\n     ")}`,
                "unset arrow",
                "unset label",
            ].join("\n"),
        );
    });
    const script = [
        `set terminal pngcairo size 1200,${380 * drawn.length + 60} font 'sans,10'`,
        `set output ${quote(pngPath)}`,
        "set datafile missing 'NaN'",
        `set multiplot layout ${drawn.length},1 title 'Replay lag per replica under pgbench write load (first run of each rate), sampled every 100 ms'`,
        "set xlabel 'seconds since the first rate started'",
        "set ylabel 'replay lag (ms)'",
        "set yrange [0:*]",
        // Names such as replica_1 are shown as they are, not with _ as a subscript.
        "set termoption noenhanced",
        "set grid",
        "set key top right",
        ...panels,
        "unset multiplot",
        "",
    ].join("\n");
    return { data: `${blocks.join("\n\n\n")}\n`, script };
}

/** Writes the data and script to a temporary directory and runs gnuplot to draw `pngPath`. */
export async function drawLagChart(modes: readonly LagModeResult[], pngPath: string): Promise<void> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "pgha-bench-chart-"));
    try {
        const dataPath = path.join(dir, "lag.dat");
        const { data, script } = lagChart(modes, dataPath, pngPath);
        await fs.writeFile(dataPath, data);
        await fs.writeFile(path.join(dir, "lag.gp"), script);
        await new Promise<void>((resolve, reject) =>
            execFile("gnuplot", [path.join(dir, "lag.gp")], { timeout: 60_000 }, (err, _stdout, stderr) =>
                err
                    ? reject(
                          new Error(
                              `gnuplot failed: ${stderr.trim() || err.message} (run scripts/bench/prepare.sh)`,
                          ),
                      )
                    : resolve(),
            ),
        );
    } finally {
        await fs.rm(dir, { recursive: true, force: true });
    }
}
