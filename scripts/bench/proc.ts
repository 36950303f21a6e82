/** Runs the project's own CLI tools (verify, backup, restore, failover) as separate processes. */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../../test/e2e/harness/client";

/** What a finished command returned. */
export interface CommandResult {
    /** Exit code; `null` when it was killed (timeout). */
    code: number | null;
    stdout: string;
    stderr: string;
    /** Wall-clock seconds from spawn to exit. */
    seconds: number;
}

/** The tsx binary of the repository, which runs the TypeScript tools without a build. */
export const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

/** Runs `command args` in the repository root; never rejects on a non-zero exit. */
export function runCommand(
    command: string,
    args: readonly string[],
    timeoutMs: number,
): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(command, [...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
        });
    });
}

/** `npm run --silent <script> -- args`, as a person runs the project's tools. */
export function runNpmScript(
    script: string,
    args: readonly string[],
    timeoutMs: number,
): Promise<CommandResult> {
    return runCommand("npm", ["run", "--silent", script, "--", ...args], timeoutMs);
}

/**
 * The JSON object a tool printed with `--json`: the whole output, or else the last part of it
 * that starts at a line beginning with `{` (one-line or pretty-printed), or `undefined`.
 */
export function jsonOutput(text: string): Record<string, unknown> | undefined {
    const lines = text.trim().split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
        if (!lines[i].trimStart().startsWith("{")) continue;
        try {
            const value = JSON.parse(lines.slice(i).join("\n"));
            if (value && typeof value === "object" && !Array.isArray(value))
                return value as Record<string, unknown>;
        } catch {
            // not a whole JSON object from here: look further up
        }
    }
    return undefined;
}
