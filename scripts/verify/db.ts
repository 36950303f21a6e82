import { Client } from "pg";
import { formatMs } from "./format";
import { redact } from "./redact";

/** Where and as whom to connect. */
export interface Target {
    /** The node name used in the report (`primary`, `replica-1`, `pgbouncer-rw`, ...). */
    readonly node: string;
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
    /**
     * True when the target is PgBouncer: PgBouncer refuses unknown startup parameters, so
     * statement_timeout is set with `SET LOCAL` inside a transaction instead of at startup.
     */
    readonly viaPgBouncer: boolean;
}

/** Runs queries inside one transaction; used by {@link Db.tx}. */
export type TxQuery = <R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

/** One open connection, reduced to what the checks need; the seam that tests replace. */
export interface Db {
    /** Runs one statement (bounded by statement_timeout and a client-side timeout) and returns its rows. */
    query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
    /**
     * Runs `fn` in a transaction with `SET LOCAL statement_timeout`, committing when it resolves
     * (or rolling back when `rollback` is true) and rolling back when it throws.
     */
    tx<T>(fn: (q: TxQuery) => Promise<T>, opts?: { rollback?: boolean }): Promise<T>;
    /** Closes the connection; never throws and never takes more than a second. */
    end(): Promise<void>;
}

/** Opens a {@link Db} to a target, or rejects with the driver's error. */
export type Connect = (target: Target) => Promise<Db>;

/** Timeouts every connection gets. */
export interface ConnectOptions {
    readonly connectTimeoutMs: number;
    readonly queryTimeoutMs: number;
    /** `application_name` of the connections (default `pgha-verify`), as pg_stat_activity shows it. */
    readonly applicationName?: string;
}

/**
 * The real {@link Connect}: a `pg` client with `connectionTimeoutMillis`, `statement_timeout`
 * (at startup for PostgreSQL, per transaction for PgBouncer) and a client-side `query_timeout`
 * one second longer as a backstop when the server stops answering.
 */
export function pgConnector(opts: ConnectOptions): Connect {
    return async (target) => {
        const client = new Client({
            host: target.host,
            port: target.port,
            database: target.database,
            user: target.user,
            password: target.password,
            application_name: opts.applicationName ?? "pgha-verify",
            connectionTimeoutMillis: opts.connectTimeoutMs,
            query_timeout: opts.queryTimeoutMs + 1000,
            ...(target.viaPgBouncer ? {} : { statement_timeout: opts.queryTimeoutMs }),
            keepAlive: true,
        });
        // A server that goes away between queries emits 'error' on the client: the next query
        // reports it; without a listener node would crash the whole run.
        client.on("error", () => undefined);
        try {
            await client.connect();
        } catch (err) {
            void client.end().catch(() => undefined);
            throw err;
        }
        // After a client-side timeout the server is still busy with that statement and every later
        // query would queue behind it: fail them at once instead of waiting out another timeout.
        let stuck: Error | undefined;
        const query = async <R>(sql: string, params?: readonly unknown[]) => {
            if (stuck) throw stuck;
            try {
                return (await client.query(sql, params ? [...params] : undefined)).rows as R[];
            } catch (err) {
                if (isClientTimeout(err)) stuck = err as Error;
                throw err;
            }
        };
        return {
            query,
            async tx<T>(fn: (q: TxQuery) => Promise<T>, txOpts?: { rollback?: boolean }) {
                await query("BEGIN");
                try {
                    await query(`SET LOCAL statement_timeout = ${Math.round(opts.queryTimeoutMs)}`);
                    const result = await fn(query);
                    await query(txOpts?.rollback ? "ROLLBACK" : "COMMIT");
                    return result;
                } catch (err) {
                    // After a client-side timeout the server is still busy with that statement: a
                    // ROLLBACK would only queue behind it. The caller ends the connection instead.
                    if (!isClientTimeout(err)) await query("ROLLBACK").catch(() => undefined);
                    throw err;
                }
            },
            async end() {
                await Promise.race([
                    client.end().catch(() => undefined),
                    new Promise((r) => setTimeout(r, 1000).unref()),
                ]);
            },
        };
    };
}

/** True for the `pg` client's own query timeout (the server did not answer in time). */
export function isClientTimeout(err: unknown): boolean {
    return /Query read timeout/i.test(String((err as Error)?.message ?? ""));
}

/** SQLSTATE of a PostgreSQL error, when it is one. */
export function sqlState(err: unknown): string | undefined {
    const code = (err as { code?: unknown })?.code;
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A one-line description of a connection or query error, without passwords:
 * `connection refused`, `no answer within 5 s`, `SQLSTATE 28P01: password authentication failed ...`.
 */
export function describeError(
    err: unknown,
    secrets: readonly string[] = [],
    timeouts?: Partial<ConnectOptions>,
): string {
    const e = err as { code?: string; message?: string; errno?: string };
    const message = String(e?.message ?? err);
    let text: string;
    const state = sqlState(err);
    if (state) text = `SQLSTATE ${state}: ${message}`;
    else if (e?.code === "ECONNREFUSED") text = "connection refused";
    else if (e?.code === "ECONNRESET") text = "connection reset";
    else if (e?.code === "ENOTFOUND" || e?.code === "EAI_AGAIN") text = `host not found (${e.code})`;
    else if (e?.code === "EHOSTUNREACH" || e?.code === "ENETUNREACH") text = `host unreachable (${e.code})`;
    else if (/timeout expired|connection timeout/i.test(message))
        text = `no answer within ${timeouts?.connectTimeoutMs ? formatMs(timeouts.connectTimeoutMs) : "the connect timeout"} (--connect-timeout)`;
    else if (isClientTimeout(err))
        text = `no answer within ${timeouts?.queryTimeoutMs ? formatMs(timeouts.queryTimeoutMs + 1000) : "the query timeout"} (--query-timeout + 1 s)`;
    else if (/Connection terminated/i.test(message)) text = "connection closed by the server";
    else if (/not queryable/i.test(message)) text = "the connection was closed after an earlier error on it";
    else text = message;
    return redact(text, secrets).replace(/\s*\n\s*/g, " ");
}
