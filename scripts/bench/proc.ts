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
export function runCommand(command: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
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
export function runNpmScript(script: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
    return runCommand("npm", ["run", "--silent", script, "--", ...args], timeoutMs);
}

/** The last line of `text` that parses as a JSON object, or `undefined`. */
export function lastJsonLine(text: string): Record<string, unknown> | undefined {
    for (const line of text.trim().split("\n").reverse()) {
        const trimmed = line.trim();
        if (!trimmed.startsWith("{")) continue;
        try {
            const value = JSON.parse(trimmed);
            if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
        } catch {
            // not JSON: keep looking
        }
    }
    return undefined;
}
