import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline/promises";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import type { PromoteDeps } from "./pipeline";

/**
 * Runs `npm run verify -- --stack <name>` in `workDir` (through the SSM tunnel, `npx tsx
 * scripts/prod-tunnel.ts --stack <name> --verify`, when `throughTunnel`), its output on this
 * terminal, and resolves with its exit code. verify-replication reads the stack's outputs itself
 * (with --show-secrets) and never prints a password; running it as a child keeps its exit-code
 * contract the seam.
 */
export function verifyWithNpm(workDir: string): PromoteDeps["verify"] {
    return (stackName, throughTunnel) =>
        new Promise((resolve) => {
            const win = process.platform === "win32";
            const [command, args] = throughTunnel
                ? [
                      win ? "npx.cmd" : "npx",
                      ["tsx", "scripts/prod-tunnel.ts", "--stack", stackName, "--verify"],
                  ]
                : [win ? "npm.cmd" : "npm", ["run", "--silent", "verify", "--", "--stack", stackName]];
            const child = spawn(command, args, { cwd: workDir, stdio: "inherit", env: process.env });
            child.once("error", (err) => {
                process.stderr.write(`promote: could not run npm run verify: ${err.message}\n`);
                resolve(2);
            });
            child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 2)));
        });
}

/** Asks on the terminal; only "yes" (or "y") counts. */
async function confirmOnTerminal(question: string): Promise<boolean> {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
        const answer = (await rl.question(question)).trim().toLowerCase();
        return answer === "yes" || answer === "y";
    } finally {
        rl.close();
    }
}

/**
 * The real dependencies: stacks of the project in `workDir` through the Automation API (the
 * `pulumi` CLI on PATH), verify-replication through npm, the terminal, and the repository's
 * policy pack (`policy/`, whose dependencies `npm ci --prefix policy` installs).
 */
export function realDeps(workDir: string): PromoteDeps {
    const policyDir = path.join(workDir, "policy");
    return {
        selectStack: (stackName) => LocalWorkspace.selectStack({ stackName, workDir }),
        verify: verifyWithNpm(workDir),
        confirm: confirmOnTerminal,
        interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
        policyPacks: [policyDir],
        policyPackProblem: () =>
            existsSync(path.join(policyDir, "node_modules", "@pulumi", "policy"))
                ? undefined
                : `the policy pack's dependencies are not installed: run \`npm ci --prefix policy\` (pulumi loads ${policyDir} with its own node_modules)`,
        log: (line) => void process.stdout.write(`${line}\n`),
        error: (line) => void process.stderr.write(`${line}\n`),
        stream: (chunk) => void process.stdout.write(chunk),
    };
}
