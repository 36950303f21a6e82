/**
 * The dev stack as the e2e tests see it: deployed by the real program through the e2e engine
 * (test/e2e/harness), reached only through the ports it publishes on 127.0.0.1.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import {
    defaultPaths,
    REPO_ROOT,
    RunProgramOptions,
    runProgramProcess,
    RunProgramResult,
} from "../harness/client";

/** This machine has no registry: the node image builds on the local Debian image (PostgreSQL 15). */
export const E2E_CONFIG = {
    "pgha:baseImage": "pgha-base:bookworm",
    "pgha:postgresVersion": 15,
    "pgha:backupS3Image": "pgha-s3:local",
    // Each run starts from nothing: no volume of an earlier run is adopted.
    "pgha:keepDataOnDestroy": "false",
} as const;

export const PATHS = defaultPaths(REPO_ROOT, "dev");

/** Stack outputs of the dev stack, as `pulumi stack output --json --show-secrets` prints them. */
export interface DevOutputs {
    clusterName: string;
    primaryEndpoint: { host: string; port: number };
    replicaEndpoints: {
        name: string;
        host: string;
        port: number;
        slotName: string;
        applicationName: string;
    }[];
    pgbouncerEndpoint: { host: string; port: number };
    databaseName: string;
    readOnlyDatabaseName: string;
    synchronousMode: string;
    writeConnectionString: string;
    readConnectionString: string;
    monitorUser: string;
    monitorPassword: string;
}

/** Installs and starts Docker if needed and builds the local base image (idempotent). */
export function prepareMachine(): void {
    execFileSync("bash", [path.join(REPO_ROOT, "scripts/e2e/prepare.sh")], { stdio: "inherit" });
}

/**
 * One `pulumi up` of `stack` with the e2e config plus `config`; throws with stderr on failure.
 * Stacks other than dev share the engine: give them their own ports (pgha:primaryPort, ...).
 */
export async function deployStack(
    stack: string,
    config: Record<string, string | number> = {},
    extra: Partial<RunProgramOptions> = {},
): Promise<RunProgramResult & { outputs: DevOutputs }> {
    const run = await runProgramProcess({ stack, config: { ...E2E_CONFIG, ...config }, ...extra });
    if (run.code !== 0 || !run.outputs) {
        throw new Error(
            `deploying the ${stack} stack failed (exit ${run.code}):\n${run.stderr.slice(-4000)}`,
        );
    }
    return run as RunProgramResult & { outputs: DevOutputs };
}

/** `pulumi destroy` of `stack`. */
export async function destroyStack(stack: string): Promise<void> {
    const run = await runProgramProcess({ stack, destroy: true });
    if (run.code !== 0) {
        throw new Error(
            `destroying the ${stack} stack failed (exit ${run.code}):\n${run.stderr.slice(-4000)}`,
        );
    }
}

/**
 * The dev stack's own e2e config: its backups copy data files from a replica (the other stacks'
 * from the primary); WAL kept for an unreachable repository is bounded at 128 MB (8 segments), so
 * the S3 outage test (cluster/backup.test.ts) passes the bound in seconds.
 */
export const DEV_E2E_CONFIG = { "pgha:backupFromReplica": "true", "pgha:archiveQueueMaxMb": 128 } as const;

/** One `pulumi up` of the dev stack with the e2e config, DEV_E2E_CONFIG and `config`. */
export function deployDev(
    config: Record<string, string | number> = {},
    extra: Partial<RunProgramOptions> = {},
): Promise<RunProgramResult & { outputs: DevOutputs }> {
    return deployStack("dev", { ...DEV_E2E_CONFIG, ...config }, extra);
}

/** `pulumi destroy` of the dev stack. */
export function destroyDev(): Promise<void> {
    return destroyStack("dev");
}

/** The outputs file of `stack` (written by each deploy). */
export function stackOutputsPath(stack: string): string {
    return defaultPaths(REPO_ROOT, stack).outputsPath;
}

/** The outputs of the deployed dev stack. */
export function readOutputs(): DevOutputs {
    return JSON.parse(fs.readFileSync(PATHS.outputsPath, "utf8"));
}

/**
 * A connected client; the caller ends it. Bounded on the client side (5 s to connect, 15 s per
 * query): PgBouncer refuses a statement_timeout startup parameter.
 */
export async function connect(config: ClientConfig): Promise<Client> {
    const client = new Client({ connectionTimeoutMillis: 5000, query_timeout: 15000, ...config });
    await client.connect();
    return client;
}

/** Connects as the monitoring role to a node's published port, or to PgBouncer with `database`. */
export function connectAsMonitor(
    outputs: DevOutputs,
    endpoint: { host: string; port: number },
    database = outputs.databaseName,
): Promise<Client> {
    return connect({
        host: endpoint.host,
        port: endpoint.port,
        user: outputs.monitorUser,
        password: outputs.monitorPassword,
        database,
    });
}

/** Runs `fn` with a client and always ends it. */
export async function withClient<T>(client: Promise<Client>, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await client;
    try {
        return await fn(c);
    } finally {
        await c.end().catch(() => undefined);
    }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 30000,
    intervalMs = 200,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`,
            );
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/** Streaming replicas as the primary sees them: application_name → { state, slot }. */
export async function streamingReplicas(
    outputs: DevOutputs,
): Promise<Record<string, { state: string; slot: string | null }>> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            `SELECT r.application_name, r.state, s.slot_name
               FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid`,
        );
        return Object.fromEntries(
            rows.map((r) => [r.application_name, { state: r.state, slot: r.slot_name }]),
        );
    });
}

/** The primary's replication slots: name → active. */
export async function replicationSlots(outputs: DevOutputs): Promise<Record<string, boolean>> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            "SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name",
        );
        return Object.fromEntries(rows.map((r) => [r.slot_name, r.active]));
    });
}

/** Waits until exactly the replicas of `outputs` stream, each from its own slot. */
export async function waitUntilAllStream(outputs: DevOutputs, timeoutMs = 60000): Promise<void> {
    await waitFor(
        `replicas ${outputs.replicaEndpoints.map((r) => r.applicationName).join(", ")} streaming from their slots`,
        async () => {
            const seen = await streamingReplicas(outputs);
            const ok =
                Object.keys(seen).length === outputs.replicaEndpoints.length &&
                outputs.replicaEndpoints.every(
                    (r) =>
                        seen[r.applicationName]?.state === "streaming" &&
                        seen[r.applicationName]?.slot === r.slotName,
                );
            return ok ? true : undefined;
        },
        timeoutMs,
    );
}
