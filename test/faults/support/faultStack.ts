/**
 * The `faults` stack: a cluster of its own (2 replicas, its own ports), deployed once by the fault
 * suite's global setup with the real program through the e2e engine, beside any dev cluster.
 * Tests read it only through the ports published on 127.0.0.1; Docker is used to inject faults.
 *
 * Its committed-row ledger: each fault writes rows to `faults_ledger` (tagged with the fault) as
 * the application, before, during and after the fault, keeps the ids the server acknowledged, and
 * checks that every acknowledged id is on the primary and that each replica has exactly the
 * primary's rows (count and checksum).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { REPO_ROOT } from "../../e2e/harness/client";
import {
    connect,
    connectAsMonitor,
    DevOutputs,
    stackOutputsPath,
    waitFor,
    waitUntilAllStream,
    withClient,
} from "../../e2e/support/devCluster";

/** The stack's name: containers, volumes and the network are `pgha-faults-*`. */
export const FAULTS_STACK = "faults";

/** The cluster name the program derives from the stack. */
export const FAULTS_CLUSTER = `pgha-${FAULTS_STACK}`;

/**
 * The stack's config, beside E2E_CONFIG: its own ports; the smallest slot bound the config allows
 * (`maxSlotWalKeepSizeMb` 64, with `walKeepSizeMb` 0 so only the slot keeps WAL for a replica),
 * so a cut-off replica loses its slot after ~64 MB of writes; backups off, because an archiver
 * also holds WAL back and the faults here are about replication; a 60-character database and a
 * 63-character application role, the longest the config accepts.
 */
export const FAULTS_CONFIG = {
    "pgha:primaryPort": 25432,
    "pgha:replicaBasePort": 25433,
    "pgha:pgbouncerPort": 26432,
    "pgha:replicas": 2,
    "pgha:maxSlotWalKeepSizeMb": 64,
    "pgha:walKeepSizeMb": 0,
    "pgha:backupEnabled": "false",
    // The longest names the config accepts (issue 18): PgBouncer's `<database>_ro` entry is 63 bytes.
    "pgha:databaseName": `faults_${"n".repeat(53)}`,
    "pgha:appUser": `faults_app_${"u".repeat(52)}`,
} as const;

/** The replica whose data volume is a small file system (see smallDisk.ts), for the full-disk fault. */
export const SMALL_DISK_REPLICA = "replica-2";

/** Size of that file system: room for a clone and the suite's WAL, small enough to fill in a second. */
export const SMALL_DISK_MB = 640;

/** The image the disk helper container runs (present on every machine that runs the e2e tests). */
export const HELPER_IMAGE = "pgha-base:bookworm";

/** Docker names of the stack's objects. */
export const names = {
    container: (node: string) => `${FAULTS_CLUSTER}-${node}`,
    dataVolume: (node: string) => `${FAULTS_CLUSTER}-${node}-data`,
    network: `${FAULTS_CLUSTER}-net`,
};

/** The outputs file of the faults stack (what `npm run verify -- --outputs` reads). */
export const OUTPUTS_PATH = stackOutputsPath(FAULTS_STACK);

/** The deployed stack's outputs. */
export function faultsOutputs(): DevOutputs {
    return JSON.parse(fs.readFileSync(OUTPUTS_PATH, "utf8")) as DevOutputs;
}

/** A node's published endpoint by name (`primary`, `replica-1`, ...). */
export function endpointOf(outputs: DevOutputs, node: string): { host: string; port: number } {
    if (node === "primary") return outputs.primaryEndpoint;
    const replica = outputs.replicaEndpoints.find((r) => r.name === node);
    if (!replica) throw new Error(`no node ${node} in the outputs`);
    return replica;
}

/** Connects as the application to a node's published port, or to PgBouncer's entry `database`. */
export function connectAsApp(
    outputs: DevOutputs,
    endpoint: { host: string; port: number },
    database = outputs.databaseName,
): Promise<Client> {
    const url = new URL(outputs.writeConnectionString);
    return connect({
        host: endpoint.host,
        port: endpoint.port,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database,
    });
}

/** Count and checksum of a fault's rows on one node. */
export interface LedgerSummary {
    rows: number;
    checksum: string;
}

/** Creates the ledger table if needed (on the primary, as the application). */
export async function ensureLedger(outputs: DevOutputs): Promise<void> {
    await withClient(connectAsApp(outputs, outputs.primaryEndpoint), (c) =>
        c.query(
            "CREATE TABLE IF NOT EXISTS faults_ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, fault text NOT NULL, payload text NOT NULL)",
        ),
    );
}

/** Inserts `count` rows for `fault` in one transaction; resolves with their ids once committed. */
export async function writeRows(
    client: Client,
    fault: string,
    phase: string,
    count: number,
): Promise<number[]> {
    const { rows } = await client.query(
        "INSERT INTO faults_ledger (fault, payload) SELECT $1, $2 || '-' || g || '-' || md5(random()::text) FROM generate_series(1, $3) g RETURNING id",
        [fault, phase, count],
    );
    return rows.map((r) => Number(r.id));
}

/** {@link writeRows} on a new connection to the primary's published port. */
export function writeRowsOnPrimary(
    outputs: DevOutputs,
    fault: string,
    phase: string,
    count: number,
): Promise<number[]> {
    return withClient(connectAsApp(outputs, outputs.primaryEndpoint), (c) =>
        writeRows(c, fault, phase, count),
    );
}

/** Count and checksum of `fault`'s rows on the node at `endpoint`. */
export function ledgerSummary(
    outputs: DevOutputs,
    endpoint: { host: string; port: number },
    fault: string,
): Promise<LedgerSummary> {
    return withClient(connectAsApp(outputs, endpoint), async (c) => {
        const { rows } = await c.query(
            "SELECT count(*)::int AS rows, coalesce(md5(string_agg(id || ':' || payload, ',' ORDER BY id)), '') AS checksum FROM faults_ledger WHERE fault = $1",
            [fault],
        );
        return rows[0] as LedgerSummary;
    });
}

/** The acknowledged ids that the node at `endpoint` does not have (none, if no committed row was lost). */
export function missingIds(
    outputs: DevOutputs,
    endpoint: { host: string; port: number },
    ids: number[],
): Promise<number[]> {
    return withClient(connectAsApp(outputs, endpoint), async (c) => {
        const { rows } = await c.query(
            "SELECT a.id FROM unnest($1::bigint[]) AS a(id) WHERE NOT EXISTS (SELECT FROM faults_ledger l WHERE l.id = a.id) ORDER BY 1",
            [ids],
        );
        return rows.map((r) => Number(r.id));
    });
}

/**
 * Waits until each of `replicas` has exactly the primary's rows of `fault` (same count and
 * checksum), and returns the primary's summary.
 */
export async function waitForSameRows(
    outputs: DevOutputs,
    fault: string,
    replicas: string[],
    timeoutMs = 120_000,
): Promise<LedgerSummary> {
    const primary = await ledgerSummary(outputs, outputs.primaryEndpoint, fault);
    for (const replica of replicas) {
        await waitFor(
            `${replica} to have the primary's ${primary.rows} rows of ${fault}`,
            async () => {
                const seen = await ledgerSummary(outputs, endpointOf(outputs, replica), fault);
                return seen.rows === primary.rows && seen.checksum === primary.checksum ? true : undefined;
            },
            timeoutMs,
            500,
        );
    }
    return primary;
}

/** Replay state of one replica as the primary sees it (pg_stat_replication), or undefined when it is not connected. */
export function replicationState(
    outputs: DevOutputs,
    applicationName: string,
): Promise<{ state: string; replayLagBytes: number } | undefined> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            "SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag FROM pg_stat_replication WHERE application_name = $1",
            [applicationName],
        );
        return rows[0] ? { state: rows[0].state as string, replayLagBytes: Number(rows[0].lag) } : undefined;
    });
}

/** What a CLI tool printed and how it exited. */
export interface ToolRun {
    code: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

/**
 * Runs `scripts/<script>` with tsx, as `npm run <tool> -- args` does; never rejects on a non-zero
 * exit. A missing script fails the run with a clear message rather than a stack trace.
 */
export function runTool(script: string, args: string[], timeoutMs = 300_000): Promise<ToolRun> {
    const file = path.join(REPO_ROOT, "scripts", script);
    if (!fs.existsSync(file)) {
        return Promise.reject(new Error(`scripts/${script} does not exist (yet): this step cannot run`));
    }
    const started = Date.now();
    return new Promise((resolve) => {
        execFile(
            path.join(REPO_ROOT, "node_modules/.bin/tsx"),
            [file, ...args],
            { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => {
                const code = err
                    ? typeof (err as { code?: unknown }).code === "number"
                        ? (err as { code: number }).code
                        : -1
                    : 0;
                resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
            },
        );
    });
}

/** One check of `npm run verify -- --json`. */
export interface VerifyCheck {
    check: string;
    node: string;
    status: "PASS" | "WARN" | "FAIL";
    detail: string;
}

/** `npm run verify -- --outputs <faults outputs> --json` with short timeouts; its exit code and checks. */
export async function verifyFaults(): Promise<{ code: number; checks: VerifyCheck[]; stderr: string }> {
    const run = await runTool(
        "verify-replication.ts",
        [
            "--outputs",
            OUTPUTS_PATH,
            "--json",
            "--connect-timeout",
            "3",
            "--query-timeout",
            "5",
            "--canary-timeout",
            "5",
        ],
        120_000,
    );
    let checks: VerifyCheck[] = [];
    try {
        checks = (JSON.parse(run.stdout) as { checks: VerifyCheck[] }).checks;
    } catch {
        throw new Error(`verify printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    return { code: run.code, checks, stderr: run.stderr };
}

/** The failing checks of a verify run, as `check/node: detail`. */
export function failures(checks: VerifyCheck[]): string[] {
    return checks.filter((c) => c.status === "FAIL").map((c) => `${c.check}/${c.node}: ${c.detail}`);
}

/**
 * Writes at least `bytes` of WAL on the primary as the application, without keeping the data:
 * ~17 MB chunks of 1 kB rows into a scratch table, truncated after each chunk. Returns the WAL
 * bytes written.
 */
export async function generateWal(outputs: DevOutputs, bytes: number): Promise<number> {
    return withClient(connectAsApp(outputs, outputs.primaryEndpoint), async (c) => {
        await c.query("CREATE TABLE IF NOT EXISTS faults_wal_filler (id int, v text)");
        const start = (await c.query("SELECT pg_current_wal_lsn() AS lsn")).rows[0].lsn as string;
        for (;;) {
            const { rows } = await c.query(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS written",
                [start],
            );
            const written = Number(rows[0].written);
            if (written >= bytes) return written;
            await c.query(
                "INSERT INTO faults_wal_filler SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 16000) g",
            );
            await c.query("TRUNCATE faults_wal_filler");
        }
    });
}

/** Where a fault starts: the stack's outputs, its replicas' names, and the rows written before the fault. */
export interface FaultStart {
    outputs: DevOutputs;
    allReplicas: string[];
    before: number[];
}

/**
 * The start of every fault: waits until both replicas stream, writes `count` rows for `fault` on
 * the primary, and waits until every replica has them.
 */
export async function startFault(fault: string, count = 200): Promise<FaultStart> {
    const outputs = faultsOutputs();
    await waitUntilAllStream(outputs, 120_000);
    const allReplicas = outputs.replicaEndpoints.map((r) => r.name);
    const before = await writeRowsOnPrimary(outputs, fault, "before", count);
    await waitForSameRows(outputs, fault, allReplicas);
    return { outputs, allReplicas, before };
}

/** Asserts that the primary and every replica have each acknowledged id (no committed row lost). */
export async function expectNoRowLost(outputs: DevOutputs, acknowledged: number[]): Promise<void> {
    for (const node of ["primary", ...outputs.replicaEndpoints.map((r) => r.name)]) {
        expect({ node, missing: await missingIds(outputs, endpointOf(outputs, node), acknowledged) }).toEqual(
            { node, missing: [] },
        );
    }
}
