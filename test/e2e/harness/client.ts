/**
 * Runs the e2e harness CLI (`runProgram.ts`) in its own process, the way `pulumi up` runs a
 * program once per process, and collects its summary and stack outputs. Kept free of Pulumi and
 * Docker imports so jest tests stay light.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { EngineSummary } from "./dockerEngine";

/** The repository root (this file lives in test/e2e/harness). */
export const REPO_ROOT = path.resolve(__dirname, "../../..");
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");
const CLI = path.join(__dirname, "runProgram.ts");

/** Default state and outputs paths of a stack: `<projectRoot>/.e2e/<stack>-state.json` and `-outputs.json`. */
export function defaultPaths(projectRoot: string, stack: string): { statePath: string; outputsPath: string } {
    const dir = path.join(projectRoot, ".e2e");
    return {
        statePath: path.join(dir, `${stack}-state.json`),
        outputsPath: path.join(dir, `${stack}-outputs.json`),
    };
}

/** Options of {@link runProgramProcess}; they mirror the CLI flags. */
export interface RunProgramOptions {
    stack: string;
    /** Directory holding Pulumi.yaml; default: the repository root. */
    projectRoot?: string;
    /** Program file; default: `main` from Pulumi.yaml, else `<projectRoot>/index.ts`. */
    program?: string;
    statePath?: string;
    outputsPath?: string;
    /** `--config` values, with namespaced keys (`pgha:replicas`). */
    config?: Record<string, string | number | boolean>;
    /** `--secret` values: config marked secret, as `pulumi config set --secret` does. */
    secrets?: Record<string, string>;
    /** Delete everything in the state instead of running the program. */
    destroy?: boolean;
    /** Read every object back first, like `pulumi up --refresh`. */
    refresh?: boolean;
    /** Extra environment for the process. */
    env?: NodeJS.ProcessEnv;
    /** Kill the process after this long; default 10 minutes. */
    timeoutMs?: number;
}

/** What one CLI run produced. */
export interface RunProgramResult {
    /** The `{"summary": ...}` line, if the process printed one. */
    summary?: EngineSummary;
    /** Stack outputs (like `pulumi stack output --json --show-secrets`), on success only. */
    outputs?: Record<string, unknown>;
    stdout: string;
    stderr: string;
    /** Exit code; null if killed. */
    code: number | null;
}

/** Builds the CLI arguments for `runProgram.ts`. */
export function runProgramArgs(opts: RunProgramOptions): string[] {
    const projectRoot = path.resolve(opts.projectRoot ?? REPO_ROOT);
    const paths = defaultPaths(projectRoot, opts.stack);
    const args = ["--stack", opts.stack, "--project-root", projectRoot];
    args.push("--state", path.resolve(opts.statePath ?? paths.statePath));
    args.push("--outputs", path.resolve(opts.outputsPath ?? paths.outputsPath));
    if (opts.program) args.push("--program", path.resolve(projectRoot, opts.program));
    for (const [k, v] of Object.entries(opts.config ?? {})) args.push("--config", `${k}=${v}`);
    for (const [k, v] of Object.entries(opts.secrets ?? {})) args.push("--secret", `${k}=${v}`);
    if (opts.destroy) args.push("--destroy");
    if (opts.refresh) args.push("--refresh");
    return args;
}

/** Spawns `tsx test/e2e/harness/runProgram.ts ...` and resolves when it exits (never rejects on a failed run). */
export function runProgramProcess(opts: RunProgramOptions): Promise<RunProgramResult> {
    const args = runProgramArgs(opts);
    const outputsPath = args[args.indexOf("--outputs") + 1];
    return new Promise((resolve, reject) => {
        const child = spawn(TSX, [CLI, ...args], {
            cwd: REPO_ROOT,
            env: { ...process.env, ...opts.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 600_000);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            const line = stdout
                .split("\n")
                .reverse()
                .find((l) => l.startsWith('{"summary"'));
            const summary = line ? (JSON.parse(line).summary as EngineSummary) : undefined;
            const outputs =
                code === 0 && fs.existsSync(outputsPath)
                    ? JSON.parse(fs.readFileSync(outputsPath, "utf8"))
                    : undefined;
            resolve({ summary, outputs, stdout, stderr, code });
        });
    });
}
