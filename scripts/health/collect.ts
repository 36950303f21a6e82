import type { ReplicationRow, SlotRow } from "../verify/checks";
import { describeError, type Connect, type Db } from "../verify/db";
import type { ClusterOutputs } from "../verify/outputs";
import { SQL as VERIFY_SQL } from "../verify/run";
import type { HealthOptions } from "./args";
import type { ArchiveFacts, BackupFacts, BackupRun, PrimaryFacts, Sample } from "./evaluate";

/** The node name health connects as, in pg_stat_activity. */
export const HEALTH_APPLICATION_NAME = "pgha-health";

/** What health reads on the primary; walsenders and slots are verify's queries. */
export const HEALTH_SQL = {
    replication: VERIFY_SQL.replication,
    slots: VERIFY_SQL.slots,
    primary: `SELECT pg_is_in_recovery() AS in_recovery, current_setting('server_version') AS server_version,
                     (SELECT CASE WHEN setting::bigint < 0 THEN NULL ELSE pg_size_bytes(setting || coalesce(unit, ''))::float8 END
                        FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_slot_wal_keep_bytes,
                     current_setting('archive_mode') AS archive_mode,
                     (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout') AS archive_timeout_s,
                     pg_size_bytes(current_setting('wal_segment_size'))::float8 AS wal_segment_bytes,
                     pg_size_bytes(nullif(current_setting('pgha.archive_queue_max_mb', true), '') || 'MB')::float8 AS archive_queue_max_bytes`,
    archiver: `SELECT archived_count::float8 AS archived_count, last_archived_wal,
                      extract(epoch FROM now() - last_archived_time)::float8 AS last_archived_age_s,
                      failed_count::float8 AS failed_count, last_failed_wal,
                      extract(epoch FROM now() - last_failed_time)::float8 AS last_failed_age_s,
                      (last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)) AS failing
                 FROM pg_stat_archiver`,
    // pg_monitor may read archive_status: a .ready file is a completed segment not archived yet,
    // its modification time when it completed.
    ready: `SELECT count(*)::int AS ready_count, extract(epoch FROM now() - min(modification))::float8 AS oldest_ready_age_s
              FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`,
    backups: `SELECT (SELECT row_to_json(b) FROM (SELECT backup_type, label, finished_at, extract(epoch FROM now() - finished_at)::float8 AS age_s
                                                    FROM pgha.backup_runs WHERE ok ORDER BY finished_at DESC LIMIT 1) b) AS last_ok,
                     (SELECT row_to_json(f) FROM (SELECT backup_type, label, finished_at, extract(epoch FROM now() - finished_at)::float8 AS age_s, detail
                                                    FROM pgha.backup_runs WHERE NOT ok ORDER BY finished_at DESC LIMIT 1) f) AS last_failed,
                     (SELECT count(*)::int FROM pgha.backup_runs
                       WHERE NOT ok AND finished_at > coalesce((SELECT max(finished_at) FROM pgha.backup_runs WHERE ok), '-infinity')) AS failed_since_ok`,
} as const;

/** What {@link collectSamples} needs besides the outputs; tests replace `sleep` and `now`. */
export interface CollectDeps {
    readonly connect: Connect;
    readonly sleep: (ms: number) => Promise<void>;
    readonly now: () => number;
}

/** One read of the primary on an open connection, recorded as taken `at`; throws when a required query fails. */
export async function readSample(db: Db, why: (err: unknown) => string, at: number): Promise<Sample> {
    const [primary] = await db.query<PrimaryFacts>(HEALTH_SQL.primary);
    const walsenders = await db.query<ReplicationRow>(HEALTH_SQL.replication);
    const slots = await db.query<SlotRow>(HEALTH_SQL.slots);
    const [archiver] = await db.query<Omit<ArchiveFacts, "ready_count" | "oldest_ready_age_s">>(
        HEALTH_SQL.archiver,
    );
    let ready: Pick<ArchiveFacts, "ready_count" | "oldest_ready_age_s"> = {
        ready_count: null,
        oldest_ready_age_s: null,
    };
    try {
        [ready] = await db.query<typeof ready>(HEALTH_SQL.ready);
    } catch {
        // not readable (an older server, or a role without pg_monitor): the evaluation says so
    }
    let backup: BackupFacts;
    try {
        const [row] = await db.query<{
            last_ok: BackupRun | null;
            last_failed: BackupRun | null;
            failed_since_ok: number;
        }>(HEALTH_SQL.backups);
        backup = {
            ok: true,
            lastOk: row.last_ok,
            lastFailed: row.last_failed,
            failedSinceOk: row.failed_since_ok,
        };
    } catch (err) {
        backup = { ok: false, error: why(err) };
    }
    return { ok: true, at, primary, walsenders, slots, archive: { ...archiver, ...ready }, backup };
}

/**
 * Reads the primary `options.samples` times, `options.intervalMs` apart (from start to start), on
 * one connection as the monitor role, reconnecting after an error. Never throws for a cluster
 * problem: a failed read is a sample with its error (no password in it). Closes the connection.
 */
export async function collectSamples(
    outputs: ClusterOutputs,
    options: Pick<HealthOptions, "samples" | "intervalMs" | "connectTimeoutMs" | "queryTimeoutMs">,
    secrets: readonly string[],
    deps: CollectDeps,
): Promise<Sample[]> {
    const why = (err: unknown) => describeError(err, secrets, options);
    const { host, port } = outputs.primaryEndpoint;
    const target = {
        node: "primary",
        host,
        port,
        database: outputs.databaseName,
        user: outputs.monitorUser,
        password: outputs.monitorPassword,
        viaPgBouncer: false,
    };
    const samples: Sample[] = [];
    let db: Db | undefined;
    const readOnce = async (at: number): Promise<Sample> => {
        if (!db) {
            try {
                db = await deps.connect(target);
            } catch (err) {
                return {
                    ok: false,
                    at,
                    error: `cannot connect to ${host}:${port} (database ${outputs.databaseName}): ${why(err)}`,
                };
            }
        }
        try {
            return await readSample(db, why, at);
        } catch (err) {
            await db.end();
            db = undefined;
            return { ok: false, at, error: `query failed: ${why(err)}` };
        }
    };
    try {
        for (let i = 0; i < options.samples; i++) {
            const started = deps.now();
            samples.push(await readOnce(started));
            if (i < options.samples - 1)
                await deps.sleep(Math.max(0, started + options.intervalMs - deps.now()));
        }
    } finally {
        await db?.end();
    }
    return samples;
}
