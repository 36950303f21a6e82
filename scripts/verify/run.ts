import { randomBytes } from "node:crypto";
import type { VerifyOptions } from "./args";
import {
    evaluateLag,
    evaluatePgbouncerRo,
    clusterNameOf,
    evaluatePgbouncerRw,
    evaluatePrimary,
    evaluateReadonly,
    evaluateSlots,
    evaluateStreaming,
    PRIMARY_NODE,
    type ReplayStatus,
    type ReplicationRow,
    type SlotRow,
} from "./checks";
import { describeError, isClientTimeout, sqlState, type Connect, type Db, type Target } from "./db";
import { formatMs } from "./format";
import { outputSecrets, type ClusterOutputs, type Endpoint, type ReplicaEndpoint } from "./outputs";
import { buildReport } from "./report";
import type { CheckId, CheckResult, Report } from "./types";

/** The options the checks use (a subset of {@link VerifyOptions}). */
export type CheckOptions = Pick<
    VerifyOptions,
    | "connectTimeoutMs"
    | "queryTimeoutMs"
    | "canaryTimeoutMs"
    | "lagWarnMs"
    | "lagFailMs"
    | "lagWarnBytes"
    | "lagFailBytes"
>;

type Conn = { ok: true; db: Db } | { ok: false; error: string };

/** The queries of the checks; `replication` and `slots` (on the primary) are shared with `npm run health`. */
export const SQL = {
    identity: `SELECT pg_is_in_recovery() AS in_recovery, coalesce(current_setting('pgha.node', true), current_setting('cluster_name')) AS cluster_name,
                      current_setting('server_version') AS server_version,
                      current_setting('synchronous_standby_names') AS synchronous_standby_names`,
    replication: `SELECT pid, coalesce(application_name, '') AS application_name, state, sync_state, host(client_addr) AS client_addr,
                         pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS replay_bytes,
                         extract(epoch FROM replay_lag)::float8 AS replay_lag_s
                    FROM pg_stat_replication ORDER BY application_name`,
    slots: `SELECT slot_name, slot_type, active, active_pid, wal_status,
                   CASE WHEN restart_lsn IS NULL THEN NULL
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 END AS retained_bytes
              FROM pg_replication_slots ORDER BY slot_name`,
    replay: `SELECT pg_is_wal_replay_paused() AS paused,
                    pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn() AS behind,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_last_replay_s`,
    canaryCleanup: `DELETE FROM pgha.canary WHERE written_at < now() - interval '10 minutes'`,
    canaryInsert: `INSERT INTO pgha.canary (token) VALUES ($1) RETURNING id::text AS id, coalesce(current_setting('pgha.node', true), current_setting('cluster_name')) AS cluster_name`,
    canarySeen: `SELECT 1 AS seen FROM pgha.canary WHERE token = $1`,
    backendPid: `SELECT pg_backend_pid() AS pid`,
    waitEvent: `SELECT wait_event FROM pg_stat_activity WHERE pid = $1`,
    cancel: `SELECT pg_cancel_backend($1)`,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs every check against the cluster the outputs describe and returns the report.
 * Never throws for a cluster problem: an unreachable endpoint or a failing query becomes a
 * FAIL result naming the node and the check. Every connection is closed before it returns.
 * @param connect opens connections; tests pass a fake.
 */
export async function runChecks(
    outputs: ClusterOutputs,
    options: CheckOptions,
    connect: Connect,
): Promise<Report> {
    const started = Date.now();
    const secrets = outputSecrets(outputs);
    const why = (err: unknown) => describeError(err, secrets, options);
    const results: CheckResult[] = [];
    const fail = (check: CheckId, node: string, detail: string): void => {
        results.push({ check, node, status: "FAIL", detail });
    };

    const target = (node: string, ep: Endpoint, database: string, viaPgBouncer: boolean): Target => ({
        node,
        host: ep.host,
        port: ep.port,
        database,
        user: outputs.monitorUser,
        password: outputs.monitorPassword,
        viaPgBouncer,
    });
    const bouncerHint = (err: unknown) =>
        isClientTimeout(err)
            ? "; PgBouncer accepted the login but no server answered: is the node behind this entry down?"
            : "";
    const open = async (t: Target): Promise<Conn> => {
        try {
            return { ok: true, db: await connect(t) };
        } catch (err) {
            return {
                ok: false,
                error: `cannot connect to ${t.host}:${t.port} (database ${t.database}): ${why(err)}`,
            };
        }
    };

    const replicas = outputs.replicaEndpoints;
    const [primary, rw, ro, ...replicaConns] = await Promise.all([
        open(target(PRIMARY_NODE, outputs.primaryEndpoint, outputs.databaseName, false)),
        open(target("pgbouncer-rw", outputs.pgbouncerEndpoint, outputs.databaseName, true)),
        open(target("pgbouncer-ro", outputs.pgbouncerEndpoint, outputs.readOnlyDatabaseName, true)),
        ...replicas.map((r) => open(target(r.name, r, outputs.databaseName, false))),
    ]);

    try {
        // Phase 1, one query stream per connection, all in parallel: who is who.
        let ssn = "";
        let primaryUsable = false;
        await Promise.all([
            (async () => {
                if (!primary.ok) return fail("primary", PRIMARY_NODE, primary.error);
                try {
                    const [row] = await primary.db.query<{
                        in_recovery: boolean;
                        cluster_name: string;
                        server_version: string;
                        synchronous_standby_names: string;
                    }>(SQL.identity);
                    ssn = row.synchronous_standby_names;
                    primaryUsable = !row.in_recovery;
                    results.push(evaluatePrimary(row, clusterNameOf(outputs.primaryNode)));
                } catch (err) {
                    fail("primary", PRIMARY_NODE, `query failed: ${why(err)}`);
                }
            })(),
            ...replicas.map(async (r, i) => {
                const c = replicaConns[i];
                if (!c.ok) return fail("replica-readonly", r.name, c.error);
                results.push(await probeReadonly(r, c.db, why));
            }),
            (async () => {
                if (!rw.ok) return fail("pgbouncer", "pgbouncer-rw", rw.error);
                try {
                    const [row] = await rw.db.tx((q) =>
                        q<{ cluster_name: string; in_recovery: boolean }>(SQL.identity),
                    );
                    results.push(
                        evaluatePgbouncerRw(outputs.databaseName, row, clusterNameOf(outputs.primaryNode)),
                    );
                } catch (err) {
                    fail(
                        "pgbouncer",
                        "pgbouncer-rw",
                        `query through the rw entry ${outputs.databaseName} failed: ${why(err)}${bouncerHint(err)}`,
                    );
                }
            })(),
            (async () => {
                if (!ro.ok) return fail("pgbouncer", "pgbouncer-ro", ro.error);
                try {
                    const [row] = await ro.db.tx((q) =>
                        q<{ cluster_name: string; in_recovery: boolean }>(SQL.identity),
                    );
                    results.push(evaluatePgbouncerRo(outputs.readOnlyDatabaseName, replicas, row));
                } catch (err) {
                    fail(
                        "pgbouncer",
                        "pgbouncer-ro",
                        `query through the ro entry ${outputs.readOnlyDatabaseName} failed: ${why(err)}${bouncerHint(err)}`,
                    );
                }
            })(),
        ]);

        // Phase 2: walsenders and slots on the primary, while the canary travels.
        let walsenders: ReplicationRow[] | undefined;
        const noPrimary = primary.ok
            ? "the primary is in recovery or did not answer (see check primary)"
            : "no connection to the primary (see check primary)";
        await Promise.all([
            (async () => {
                if (!primary.ok || !primaryUsable) {
                    for (const r of replicas) fail("streaming", r.name, `cannot check: ${noPrimary}`);
                    for (const r of replicas) fail("slots", r.name, `cannot check: ${noPrimary}`);
                    return;
                }
                try {
                    walsenders = await primary.db.query<ReplicationRow>(SQL.replication);
                    results.push(
                        ...evaluateStreaming(
                            replicas,
                            walsenders,
                            outputs.synchronousMode,
                            ssn,
                            outputs.synchronousStrict,
                        ),
                    );
                } catch (err) {
                    for (const r of replicas)
                        fail(
                            "streaming",
                            r.name,
                            `pg_stat_replication query failed on the primary: ${why(err)}`,
                        );
                }
                try {
                    const slots = await primary.db.query<SlotRow>(SQL.slots);
                    results.push(...evaluateSlots(replicas, slots, walsenders ?? []));
                } catch (err) {
                    for (const r of replicas)
                        fail(
                            "slots",
                            r.name,
                            `pg_replication_slots query failed on the primary: ${why(err)}`,
                        );
                }
            })(),
            runCanary(
                outputs,
                options,
                rw,
                primary.ok && primaryUsable ? primary : undefined,
                replicaConns,
                why,
            ).then((rs) => results.push(...rs)),
        ]);

        // Phase 3: lag, after the canary so that every healthy replica has just replayed a commit.
        let lagWalsenders = walsenders;
        if (primary.ok && primaryUsable) {
            try {
                lagWalsenders = await primary.db.query<ReplicationRow>(SQL.replication);
            } catch {
                // keep the earlier snapshot
            }
        }
        await Promise.all(
            replicas.map(async (r, i) => {
                const c = replicaConns[i];
                let replay: ReplayStatus | undefined;
                let replicaError: string | undefined = c.ok ? undefined : c.error;
                if (c.ok) {
                    try {
                        [replay] = await c.db.query<ReplayStatus>(SQL.replay);
                    } catch (err) {
                        replicaError = why(err);
                    }
                }
                const walsender = lagWalsenders?.find((w) => w.application_name === r.applicationName);
                results.push(
                    evaluateLag(
                        r,
                        { primaryKnown: lagWalsenders !== undefined, walsender, replay, replicaError },
                        {
                            warnMs: options.lagWarnMs,
                            failMs: options.lagFailMs,
                            warnBytes: options.lagWarnBytes,
                            failBytes: options.lagFailBytes,
                        },
                    ),
                );
            }),
        );
    } finally {
        await Promise.all([primary, rw, ro, ...replicaConns].map((c) => (c.ok ? c.db.end() : undefined)));
    }
    return buildReport(outputs.clusterName, results, Date.now() - started, [
        PRIMARY_NODE,
        "pgbouncer-rw",
        ...replicas.map((r) => r.name),
        "pgbouncer-ro",
    ]);
}

/** replica-readonly on one replica: identity, then an INSERT that must fail with 25006 (always rolled back). */
async function probeReadonly(
    r: ReplicaEndpoint,
    db: Db,
    why: (err: unknown) => string,
): Promise<CheckResult> {
    let identity: { in_recovery: boolean; cluster_name: string };
    try {
        [identity] = await db.query<{ in_recovery: boolean; cluster_name: string }>(SQL.identity);
    } catch (err) {
        return {
            check: "replica-readonly",
            node: r.name,
            status: "FAIL",
            detail: `query failed: ${why(err)}`,
        };
    }
    if (!identity.in_recovery) return evaluateReadonly(r, identity);
    let writeSqlState: string | null;
    let writeError: string | undefined;
    try {
        await db.tx((q) => q(`INSERT INTO pgha.canary (token) VALUES ($1)`, [`pgha-verify-readonly-probe`]), {
            rollback: true,
        });
        writeSqlState = null;
    } catch (err) {
        writeSqlState = sqlState(err) ?? "none";
        writeError = why(err);
    }
    return evaluateReadonly(r, { ...identity, writeSqlState, writeError });
}

/**
 * canary: writes a row with a unique token through PgBouncer's rw entry (deleting rows older
 * than 10 minutes in the same transaction), then polls every reachable replica until the
 * row is visible or --canary-timeout passes. When the rw entry fails, the canary is written
 * on the primary directly so that replication is still measured, and the rw failure is reported.
 */
async function runCanary(
    outputs: ClusterOutputs,
    options: CheckOptions,
    rw: Conn,
    primary: Conn | undefined,
    replicaConns: readonly Conn[],
    why: (err: unknown) => string,
): Promise<CheckResult[]> {
    const out: CheckResult[] = [];
    const token = `pgha-verify-${new Date().toISOString()}-${randomBytes(6).toString("hex")}`;
    const write = async (db: Db) => {
        const t0 = Date.now();
        let pid: number | undefined;
        try {
            const [row] = await db.tx(async (q) => {
                [{ pid }] = await q<{ pid: number }>(SQL.backendPid);
                await q(SQL.canaryCleanup);
                return q<{ id: string; cluster_name: string }>(SQL.canaryInsert, [token]);
            });
            return { row, committedAt: Date.now(), commitMs: Date.now() - t0 };
        } catch (err) {
            throw Object.assign(new Error("canary write failed"), { cause: err, pid });
        }
    };
    /**
     * After a client timeout, asks the primary what the canary's backend waits for; a commit
     * waiting for a synchronous standby ignores statement_timeout, so it is cancelled (the row
     * stays committed on the primary) rather than left holding a connection.
     */
    const diagnose = async (err: unknown): Promise<{ text: string; syncRep: boolean }> => {
        const { cause, pid } = err as { cause: unknown; pid?: number };
        const text = why(cause);
        if (!isClientTimeout(cause) || pid === undefined || !primary?.ok) return { text, syncRep: false };
        try {
            const [act] = await primary.db.query<{ wait_event: string | null }>(SQL.waitEvent, [pid]);
            if (act?.wait_event !== "SyncRep")
                return {
                    text: `${text} (backend ${pid} waits for ${act?.wait_event ?? "nothing"})`,
                    syncRep: false,
                };
            await primary.db.query(SQL.cancel, [pid]).catch(() => undefined);
            return {
                text: `${text}: the commit waits for a synchronous standby (synchronousMode ${outputs.synchronousMode}, wait_event SyncRep); cancelled, the row is committed on the primary only`,
                syncRep: true,
            };
        } catch {
            return { text, syncRep: false };
        }
    };

    let written: Awaited<ReturnType<typeof write>> | undefined;
    let via = "";
    let syncRepBlocked = false;
    if (rw.ok) {
        try {
            written = await write(rw.db);
            via = `through the rw entry ${outputs.databaseName}`;
            const onPrimary = written.row.cluster_name === clusterNameOf(outputs.primaryNode);
            out.push({
                check: "canary",
                node: "pgbouncer-rw",
                status: onPrimary ? "PASS" : "FAIL",
                detail:
                    `canary row ${written.row.id} committed ${via} on cluster_name=${written.row.cluster_name} in ${formatMs(written.commitMs)}` +
                    (onPrimary ? "" : ", expected the primary"),
                metrics: { commitMs: written.commitMs },
            });
        } catch (err) {
            const d = await diagnose(err);
            syncRepBlocked = d.syncRep;
            out.push({
                check: "canary",
                node: "pgbouncer-rw",
                status: "FAIL",
                detail: `cannot write the canary through the rw entry ${outputs.databaseName}: ${d.text}`,
            });
        }
    } else {
        out.push({
            check: "canary",
            node: "pgbouncer-rw",
            status: "FAIL",
            detail: `cannot write the canary: ${rw.error}`,
        });
    }
    // The rw path failed for a reason of its own: write on the primary directly to still measure replication.
    if (!written && !syncRepBlocked && primary?.ok) {
        try {
            written = await write(primary.db);
            via = "directly on the primary, the rw entry failed";
        } catch (err) {
            out.push({
                check: "canary",
                node: PRIMARY_NODE,
                status: "FAIL",
                detail: `cannot write the canary on the primary either: ${(await diagnose(err)).text}`,
            });
        }
    }

    const replicas = outputs.replicaEndpoints;
    if (!written) {
        for (const r of replicas)
            out.push({
                check: "canary",
                node: r.name,
                status: "FAIL",
                detail: "not checked: no canary row could be written",
            });
        return out;
    }
    const { committedAt } = written;
    const deadline = committedAt + options.canaryTimeoutMs;
    const viaNote = via.startsWith("directly") ? ` (written ${via})` : "";
    await Promise.all(
        replicas.map(async (r, i) => {
            const c = replicaConns[i];
            if (!c.ok) {
                out.push({
                    check: "canary",
                    node: r.name,
                    status: "FAIL",
                    detail: `not checked: replica unreachable (see replica-readonly)`,
                });
                return;
            }
            let delay = 2;
            let lastError: string | undefined;
            for (;;) {
                try {
                    const rows = await c.db.query(SQL.canarySeen, [token]);
                    if (rows.length > 0) {
                        const ms = Math.max(0, Date.now() - committedAt);
                        out.push({
                            check: "canary",
                            node: r.name,
                            status: "PASS",
                            detail: `canary visible after ${formatMs(ms)}${viaNote}`,
                            metrics: { visibleAfterMs: ms },
                        });
                        return;
                    }
                    lastError = undefined;
                } catch (err) {
                    lastError = why(err);
                }
                if (Date.now() + delay > deadline) break;
                await sleep(delay);
                delay = Math.min(Math.ceil(delay * 1.5), 50);
            }
            out.push({
                check: "canary",
                node: r.name,
                status: "FAIL",
                detail: `canary not visible within ${formatMs(options.canaryTimeoutMs)}${viaNote}${lastError ? `; last poll failed: ${lastError}` : ""}`,
                metrics: { visibleAfterMs: null },
            });
        }),
    );
    return out;
}
