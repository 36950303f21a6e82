/**
 * PgBouncer's PAUSE around a planned switchover, on its admin console inside its container (as its
 * auth user, with the password file there: no credential leaves the container). PAUSE lets the
 * transactions under way finish, then holds new queries of that database in PgBouncer instead of
 * sending them to a leader that is shutting down; RESUME sends them on to the new one.
 */
import type { PatroniOps as PauseOps } from "./patroni";

/** The read-write entry of a cluster's PgBouncer. */
export interface PoolEntry {
    /** PgBouncer's container (`<cluster>-pgbouncer`). */
    readonly container: string;
    /** The read-write database of PgBouncer (`pgha:databaseName`, a validated lower-case identifier). */
    readonly database: string;
}

/** How long PAUSE may wait for the transactions under way before the switchover goes on unpaused. */
export const PAUSE_WAIT_SECONDS = 10;
/**
 * After this many seconds PgBouncer resumes whatever happened to this command (a process left in
 * PgBouncer's container): a command killed mid-switchover never leaves the app's entry paused.
 */
export const RESUME_WATCHDOG_SECONDS = 60;

const AS_ADMIN = "PGPASSFILE=/run/pgha/admin.pgpass";
const PSQL = "psql -X -q -tA -h 127.0.0.1 -p 6432 -U pgbouncer_auth -d pgbouncer";
const CONSOLE = `${AS_ADMIN} ${PSQL}`;
const WATCHDOG_PID = "/run/pgha/resume-watchdog.pid";

async function sh(ops: PauseOps, pool: PoolEntry, script: string) {
    return ops.containers.exec(pool.container, ["bash", "-c", script]);
}

/**
 * Starts the RESUME watchdog, then PAUSEs the entry. Returns false (and resumes) when PAUSE did not
 * complete within PAUSE_WAIT_SECONDS, e.g. behind a long transaction: the switchover then goes on
 * as without PgBouncer's help.
 */
export async function pauseEntry(ops: PauseOps, pool: PoolEntry): Promise<boolean> {
    await sh(
        ops,
        pool,
        `nohup bash -c 'sleep ${RESUME_WATCHDOG_SECONDS}; ${CONSOLE} -c "RESUME ${pool.database}"' >/dev/null 2>&1 & echo $! >${WATCHDOG_PID}`,
    );
    const r = await sh(
        ops,
        pool,
        `${AS_ADMIN} timeout ${PAUSE_WAIT_SECONDS} ${PSQL} -c "PAUSE ${pool.database}"`,
    );
    if (r.exitCode === 0) {
        ops.log(`PgBouncer paused ${pool.database}: new queries wait in PgBouncer`);
        return true;
    }
    ops.log(
        `PgBouncer could not pause ${pool.database} within ${PAUSE_WAIT_SECONDS} s (${r.output.trim()}); switching over without it`,
    );
    await resumeEntry(ops, pool);
    return false;
}

/** The host PgBouncer sends the entry to now (SHOW DATABASES), or undefined if it cannot say. */
export async function entryHost(ops: PauseOps, pool: PoolEntry): Promise<string | undefined> {
    const r = await sh(ops, pool, `${CONSOLE} -F '|' -c 'SHOW DATABASES'`).catch(() => undefined);
    if (r?.exitCode !== 0) return undefined;
    const row = r.output.split("\n").find((line) => line.split("|")[0] === pool.database);
    return row?.split("|")[1];
}

/** Waits (at most `timeoutMs`) until PgBouncer sends the entry to `host`. */
export async function waitUntilRoutedTo(
    ops: PauseOps,
    pool: PoolEntry,
    host: string,
    timeoutMs: number,
): Promise<boolean> {
    const started = ops.now();
    while (ops.now() - started <= timeoutMs) {
        if ((await entryHost(ops, pool)) === host) return true;
        await ops.sleep(250);
    }
    return false;
}

/** RESUMEs the entry and stops the watchdog. */
export async function resumeEntry(ops: PauseOps, pool: PoolEntry): Promise<void> {
    const r = await sh(
        ops,
        pool,
        `${CONSOLE} -c "RESUME ${pool.database}"; s=$?; kill "$(cat ${WATCHDOG_PID})" 2>/dev/null; rm -f ${WATCHDOG_PID}; exit $s`,
    );
    if (r.exitCode === 0) ops.log(`PgBouncer resumed ${pool.database}`);
    else ops.log(`PgBouncer RESUME ${pool.database} failed (${r.output.trim()}); its watchdog resumes it`);
}
