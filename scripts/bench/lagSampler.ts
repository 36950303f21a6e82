/** Samples each replica's replay lag from the primary's pg_stat_replication at a fixed interval. */
import type { Client } from "pg";
import { pgClient } from "./cluster";
import type { PgTarget } from "./pgbench";
import { Distribution, distribution } from "./stats";

/** One replica in one sample. */
export interface ReplicaLag {
    /**
     * `replay_lag` in milliseconds: how long ago the WAL the replica has just replayed was flushed
     * on the primary. PostgreSQL shows NULL once a replica has caught up and no WAL comes; that is 0 here.
     */
    replayMs: number;
    /** WAL bytes written on the primary and not yet replayed by the replica. */
    bytes: number;
}

/** One sample: milliseconds since sampling began, and each replica seen (by application_name). */
export interface LagSample {
    t: number;
    replicas: Record<string, ReplicaLag>;
}

const QUERY = `SELECT application_name,
                      COALESCE(EXTRACT(epoch FROM replay_lag) * 1000, 0)::float8 AS replay_ms,
                      COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8 AS bytes
                 FROM pg_stat_replication`;

/**
 * Polls the primary as the monitoring role every `intervalMs` on one connection, from
 * {@link start} to {@link stop}. A query that takes longer than the interval delays the next
 * one (no overlap), so a busy machine gives fewer samples, not wrong ones.
 */
export class LagSampler {
    private client?: Client;
    private running = false;
    private loop?: Promise<void>;
    private readonly samples: LagSample[] = [];
    private errors = 0;

    constructor(
        private readonly primary: PgTarget,
        private readonly intervalMs: number,
    ) {}

    /** Connects and starts sampling. */
    async start(): Promise<void> {
        this.client = pgClient(this.primary, 5000, "pgha-bench-lag");
        await this.client.connect();
        this.running = true;
        const origin = Date.now();
        this.loop = (async () => {
            while (this.running) {
                const tick = Date.now();
                try {
                    const { rows } = await this.client!.query(QUERY);
                    const replicas: Record<string, ReplicaLag> = {};
                    for (const r of rows)
                        replicas[r.application_name] = {
                            replayMs: Number(r.replay_ms),
                            bytes: Number(r.bytes),
                        };
                    this.samples.push({ t: tick - origin, replicas });
                } catch {
                    this.errors++;
                }
                await new Promise((r) => setTimeout(r, Math.max(0, this.intervalMs - (Date.now() - tick))));
            }
        })();
    }

    /** Stops sampling (if it started), closes the connection and returns the samples and the failed queries. */
    async stop(): Promise<{ samples: LagSample[]; errors: number }> {
        this.running = false;
        await this.loop;
        await this.client?.end().catch(() => undefined);
        this.client = undefined;
        return { samples: this.samples, errors: this.errors };
    }
}

/** Replay lag of one replica over a run: its distribution in milliseconds, the largest byte lag, samples missing it. */
export interface ReplicaLagSummary {
    /** Replay lag in milliseconds (p50, p99, max over the samples). */
    replayMs?: Distribution;
    /** Largest WAL byte lag seen. */
    maxBytes?: number;
    /** Samples in which the replica was not in pg_stat_replication (not streaming). */
    missingSamples: number;
}

/** Summarises the samples per replica (each of `replicas` appears, even if never seen). */
export function summarizeLag(
    samples: readonly LagSample[],
    replicas: readonly string[],
): Record<string, ReplicaLagSummary> {
    const out: Record<string, ReplicaLagSummary> = {};
    for (const name of replicas) {
        const seen = samples.map((s) => s.replicas[name]).filter((r): r is ReplicaLag => r !== undefined);
        out[name] = {
            replayMs: distribution(seen.map((r) => r.replayMs)),
            maxBytes: seen.length > 0 ? Math.max(...seen.map((r) => r.bytes)) : undefined,
            missingSamples: samples.length - seen.length,
        };
    }
    return out;
}
