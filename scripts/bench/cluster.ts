/**
 * The benchmark's own stack, `bench`, deployed by the real program through the e2e engine
 * (test/e2e/harness) on the local Docker engine, with its own ports so it never collides with
 * the dev stack or another suite's. Everything here touches only `pgha-bench-*` objects.
 */
import Docker from "dockerode";
import { Client } from "pg";
import {
    deployStack,
    destroyStack,
    stackOutputsPath,
    waitUntilAllStream,
} from "../../test/e2e/support/devCluster";
import { ClusterOutputs, Endpoint, outputSecrets, parseClusterOutputs } from "../verify/outputs";
import type { PgTarget } from "./pgbench";
import { jsonOutput, runCommand, TSX } from "./proc";

/** The stack name, hence the container prefix `pgha-bench-`. */
export const BENCH_STACK = "bench";
/** Prefix of every Docker object of the bench stack (and of its restore containers). */
export const BENCH_PREFIX = "pgha-bench-";
/** The bench stack's config on top of the e2e config (local base and S3 images, PostgreSQL 15). */
export const BENCH_CONFIG = {
    "pgha:primaryPort": 15432,
    "pgha:replicaBasePort": 15433,
    "pgha:pgbouncerPort": 16432,
    "pgha:replicas": 2,
} as const;
/** Where each deploy writes the stack outputs (mode 0600; secrets inside). */
export const BENCH_OUTPUTS = stackOutputsPath(BENCH_STACK);

/** Replication mode of a deploy: `off` (asynchronous) or `any1` (synchronous, any one replica). */
export type SyncMode = "off" | "any1";

/** A deployed bench cluster. */
export interface DeployedCluster {
    outputs: ClusterOutputs;
    /** Seconds of the `pulumi up` (the e2e engine run, a process of its own). */
    upSeconds: number;
}

/** One `pulumi up` of the bench stack; throws when it fails. */
export async function deployBench(mode: SyncMode): Promise<DeployedCluster> {
    const started = Date.now();
    const run = await deployStack(BENCH_STACK, { ...BENCH_CONFIG, "pgha:synchronousMode": mode });
    return {
        outputs: parseClusterOutputs(run.outputs, "bench stack outputs"),
        upSeconds: (Date.now() - started) / 1000,
    };
}

/**
 * `pulumi destroy` of the bench stack, then removal of any `pgha-bench-*` container, volume or
 * network left (restores, a failed run). The containers are killed first: the destroy stops each
 * container with its stop signal and waits up to its 60 s stop timeout, and the backup scheduler
 * does not end on SIGINT, so every destroy would wait a minute for it; the data goes anyway.
 */
export async function destroyBench(docker = new Docker()): Promise<void> {
    for (const c of await docker.listContainers()) {
        if (c.Names.some((n) => n.replace(/^\//, "").startsWith(BENCH_PREFIX)))
            await docker
                .getContainer(c.Id)
                .kill()
                .catch(() => undefined);
    }
    await destroyStack(BENCH_STACK);
    await removeBenchLeftovers(docker);
}

/** Removes containers, then volumes, then networks whose names start with `pgha-bench-`; nothing else. */
export async function removeBenchLeftovers(docker = new Docker()): Promise<string[]> {
    const removed: string[] = [];
    const ours = (name: string | undefined) =>
        name !== undefined && name.replace(/^\//, "").startsWith(BENCH_PREFIX);
    for (const c of await docker.listContainers({ all: true })) {
        const name = c.Names.find(ours);
        if (!name) continue;
        await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
        removed.push(name.replace(/^\//, ""));
    }
    for (const v of (await docker.listVolumes()).Volumes ?? []) {
        if (!ours(v.Name)) continue;
        await docker
            .getVolume(v.Name)
            .remove()
            .catch(() => undefined);
        removed.push(v.Name);
    }
    for (const n of await docker.listNetworks()) {
        if (!ours(n.Name)) continue;
        await docker
            .getNetwork(n.Id)
            .remove()
            .catch(() => undefined);
        removed.push(n.Name);
    }
    return removed;
}

/** Names of running containers that are not the bench stack's: if any, the machine is shared and figures are noisy. */
export async function otherContainers(docker = new Docker()): Promise<string[]> {
    const names = (await docker.listContainers()).map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ""));
    return names.filter((n) => !n.startsWith(BENCH_PREFIX)).sort();
}

/** What `npm run verify` said about the cluster. */
export interface VerifyRun {
    /** Exit code 0: every check passed. */
    ok: boolean;
    /** Seconds of the whole process. */
    seconds: number;
    /** Names of the checks that did not pass (`check/node`). */
    failed: string[];
}

/** Runs the real post-deploy check, `scripts/verify-replication.ts --outputs <bench outputs> --json`. */
export async function verifyBench(): Promise<VerifyRun> {
    const run = await runCommand(
        TSX,
        ["scripts/verify-replication.ts", "--outputs", BENCH_OUTPUTS, "--json"],
        120_000,
    );
    const report = jsonOutput(run.stdout) as
        { checks?: { check: string; node: string; status: string }[] } | undefined;
    const failed = (report?.checks ?? [])
        .filter((c) => c.status === "FAIL")
        .map((c) => `${c.check}/${c.node}`);
    return {
        ok: run.code === 0,
        seconds: run.seconds,
        failed: run.code === 0 ? [] : failed.length > 0 ? failed : [`exit ${run.code}`],
    };
}

/** Waits until both replicas stream from their slots (after a deploy or a redeploy). */
export function waitForStreaming(outputs: ClusterOutputs): Promise<void> {
    return waitUntilAllStream(outputs as Parameters<typeof waitUntilAllStream>[0], 60_000);
}

/** The application role at `endpoint` (the primary's port, or PgBouncer's), from `writeConnectionString`. */
export function appTarget(outputs: ClusterOutputs, endpoint: Endpoint): PgTarget {
    const url = new URL(outputs.writeConnectionString);
    return {
        host: endpoint.host,
        port: endpoint.port,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(url.pathname.replace(/^\//, "")) || outputs.databaseName,
    };
}

/**
 * A pg client bounded on the client side (connect and each query). It listens for `error`: the
 * bench kills containers (the primary in the failover, all of them before a destroy), and a
 * connection dropped while idle must fail its next query, not end the process.
 */
export function pgClient(target: PgTarget, timeoutMs = 5000, applicationName = "pgha-bench"): Client {
    const client = new Client({
        ...target,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: applicationName,
    });
    client.on("error", () => undefined);
    return client;
}

/** The monitoring role at `endpoint`. */
export function monitorTarget(outputs: ClusterOutputs, endpoint: Endpoint): PgTarget {
    return {
        host: endpoint.host,
        port: endpoint.port,
        user: outputs.monitorUser,
        password: outputs.monitorPassword,
        database: outputs.databaseName,
    };
}

/** Every secret of the outputs, to redact from anything the bench stores or prints. */
export function benchSecrets(outputs: ClusterOutputs): string[] {
    return outputSecrets(outputs);
}
