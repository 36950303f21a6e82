import * as path from "node:path";
import { parseArgs } from "node:util";
import { InputError } from "../verify/errors";
import { Section, SECTIONS } from "./plan";

/** The command line of `npm run bench`, after defaults and validation. */
export interface BenchOptions {
    /** `--quick`: short durations and one run each, for development. */
    readonly quick: boolean;
    /** `--only a,b`: the sections to run (default: all, in {@link SECTIONS} order). */
    readonly sections: readonly Section[];
    /**
     * `--out-dir`: where results.json, report.md and lag.png go. Default `bench/` for a full run,
     * `.e2e/bench-quick/` for `--quick`, so a development run never overwrites published figures.
     */
    readonly outDir: string;
}

/** Parsing gives options to run with, or a request for the usage text. */
export type ParsedBenchArgs = { help: true } | { help: false; options: BenchOptions };

/** The text `--help` prints. */
export const USAGE = `Usage: npm run bench -- [--quick] [--only ${SECTIONS.join(",")}] [--out-dir <dir>]

Deploys its own stack "bench" (ports 15432, 15433-15434, 16432) on the local Docker engine,
measures deploy time, replica lag under pgbench load (async and synchronous), PgBouncer against
direct connections, failover and backup/restore, writes results.json, report.md and lag.png,
and destroys the stack. It prints figures; it asserts no timings.

  --quick            short runs, one of each (about 4 minutes); writes to .e2e/bench-quick/
  --only <list>      run only these sections (comma-separated): ${SECTIONS.join(", ")}
  --out-dir <dir>    where to write the results (default bench/, or .e2e/bench-quick/ with --quick)
  -h, --help         print this text

Exit codes: 0 every section measured, 1 a section failed (its error is in the results), 2 bad flags.
`;

/**
 * Parses the arguments of `npm run bench`; relative paths resolve against `repoRoot`.
 * @throws InputError on an unknown flag, a positional argument or an unknown section.
 */
export function parseBenchArgs(argv: readonly string[], repoRoot: string): ParsedBenchArgs {
    let values: { quick?: boolean; only?: string; "out-dir"?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                quick: { type: "boolean" },
                only: { type: "string" },
                "out-dir": { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (err) {
        throw new InputError((err as Error).message);
    }
    if (values.help) return { help: true };
    const quick = values.quick ?? false;
    let sections: Section[] = [...SECTIONS];
    if (values.only !== undefined) {
        const asked = values.only
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "");
        const unknown = asked.filter((s) => !(SECTIONS as readonly string[]).includes(s));
        if (asked.length === 0 || unknown.length > 0) {
            throw new InputError(
                `--only takes a comma-separated list of ${SECTIONS.join(", ")}; got ${JSON.stringify(values.only)}`,
            );
        }
        sections = SECTIONS.filter((s) => asked.includes(s));
    }
    if (values["out-dir"] === "") throw new InputError("--out-dir must not be empty");
    const outDir = path.resolve(repoRoot, values["out-dir"] ?? (quick ? ".e2e/bench-quick" : "bench"));
    return { help: false, options: { quick, sections, outDir } };
}
