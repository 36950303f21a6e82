/**
 * Evidence the fault tests read: WAL positions through the published ports, and what the
 * primary's log (log_replication_commands = on) says a replica asked for.
 */
import { connectAsMonitor, DevOutputs, withClient } from "../../e2e/support/devCluster";

/** A PostgreSQL LSN (`16/B374D848`) as a number of bytes. */
export function lsnToBigInt(lsn: string): bigint {
    const [hi, lo] = lsn.split("/");
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** The primary's current WAL position. */
export function currentLsn(outputs: DevOutputs): Promise<string> {
    return withClient(
        connectAsMonitor(outputs, outputs.primaryEndpoint),
        async (c) => (await c.query("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0].lsn as string,
    );
}

/**
 * The LSNs a slot's replica asked to stream from (`START_REPLICATION SLOT "<slot>" <lsn>`), in
 * the order of the primary's log.
 */
export function startReplicationLsns(primaryLog: string, slotName: string): string[] {
    const re = new RegExp(`START_REPLICATION SLOT "?${slotName}"? ([0-9A-F]+/[0-9A-F]+)`, "g");
    return [...primaryLog.matchAll(re)].map((m) => m[1]);
}

/** The slot as the primary sees it: wal_status, and how much WAL it holds back (null once lost). */
export interface SlotWal {
    active: boolean;
    walStatus: string | null;
    retainedBytes: number | null;
}

/** {@link SlotWal} of one slot, or undefined when it does not exist. */
export function slotWal(outputs: DevOutputs, slotName: string): Promise<SlotWal | undefined> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            `SELECT active, wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
               FROM pg_replication_slots WHERE slot_name = $1`,
            [slotName],
        );
        if (!rows[0]) return undefined;
        return {
            active: rows[0].active,
            walStatus: rows[0].wal_status,
            retainedBytes: rows[0].retained === null ? null : Number(rows[0].retained),
        };
    });
}

/**
 * How far back the primary's pg_wal reaches: bytes from the start of its oldest WAL segment to the
 * current position (recycled segments carry future names, so the oldest name is the oldest WAL kept).
 */
export function walKeptBytes(outputs: DevOutputs): Promise<number> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            `SELECT min(name) AS oldest, pg_current_wal_lsn()::text AS now,
                    (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS seg
               FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'`,
        );
        const { oldest, now, seg } = rows[0] as { oldest: string; now: string; seg: string };
        const segmentsPerId = 0x100000000n / BigInt(seg);
        const segno =
            BigInt(`0x${oldest.slice(8, 16)}`) * segmentsPerId + BigInt(`0x${oldest.slice(16, 24)}`);
        return Number(lsnToBigInt(now) - segno * BigInt(seg));
    });
}

/** A replica's replay position as the primary sees it (pg_stat_replication), or undefined. */
export function replayLsn(
    outputs: DevOutputs,
    replica: { applicationName: string },
): Promise<string | undefined> {
    return withClient(connectAsMonitor(outputs, outputs.primaryEndpoint), async (c) => {
        const { rows } = await c.query(
            "SELECT replay_lsn::text AS lsn FROM pg_stat_replication WHERE application_name = $1",
            [replica.applicationName],
        );
        return rows[0]?.lsn as string | undefined;
    });
}
