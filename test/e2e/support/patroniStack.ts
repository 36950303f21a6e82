/**
 * What the suites of `pgha:failover automatic` stacks share (autoFailover, autoOneReplica): the
 * stack config, the app's credentials, Patroni's REST API asked inside a node, and
 * `npm run verify -- --json` on a stack's outputs.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../harness/client";
import { DevOutputs, waitFor } from "./devCluster";
import { execIn } from "./docker";

/** Config of a Patroni stack on the Debian 13 base (PostgreSQL 17), quorum commit, no backups. */
export const AUTOMATIC_CONFIG = {
    "pgha:baseImage": "pgha-base:trixie",
    "pgha:postgresVersion": 17,
    "pgha:failover": "automatic",
    "pgha:synchronousMode": "any1",
    "pgha:backupEnabled": "false",
} as const;

export const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

/** Runs `file` from the repository: exit code (-1 when killed) and what it printed. */
export function runTool(
    file: string,
    args: string[],
    timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(file, args, { cwd: REPO_ROOT, timeout }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
        );
    });
}

/** The app user's name and password, from the read-write connection string. */
export function appCredentials(o: DevOutputs): { user: string; password: string } {
    const url = new URL(o.writeConnectionString);
    return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/** One line of `npm run verify -- --json`. */
export interface VerifyCheck {
    check: string;
    node: string;
    status: string;
    detail: string;
}

/** `npm run verify -- --json` on the outputs file `outputsPath`: exit code and checks. */
export async function verifyJson(outputsPath: string): Promise<{ code: number; checks: VerifyCheck[] }> {
    const r = await runTool(TSX, [
        path.join(REPO_ROOT, "scripts/verify-replication.ts"),
        "--outputs",
        outputsPath,
        "--json",
    ]);
    try {
        return { code: r.code, checks: JSON.parse(r.stdout).checks };
    } catch (e) {
        throw new Error(`verify printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr} (${e})`);
    }
}

/** GET `endpoint` (`cluster`, `config`, ...) of the Patroni REST API inside `container`, as JSON. */
export async function patroniGet(container: string, endpoint: string): Promise<any> {
    const r = await execIn(container, ["curl", "-sf", "-m", "3", `http://127.0.0.1:8008/${endpoint}`]);
    return JSON.parse(r.stdout);
}

/**
 * Waits until Patroni's dynamic configuration (GET /config on the container `ask()` names) passes
 * `accept`, as after a redeploy the leader writes it into the DCS; returns it.
 */
export function waitForDynamicConfig(
    what: string,
    ask: () => Promise<string>,
    accept: (config: any) => boolean,
): Promise<any> {
    return waitFor(
        `${what} in Patroni's dynamic configuration`,
        async () => {
            const config = await patroniGet(await ask(), "config");
            return accept(config) ? config : undefined;
        },
        120_000,
        1000,
    );
}
