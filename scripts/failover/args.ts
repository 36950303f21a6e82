import { InputError } from "../verify/errors";
import { parseDuration, parseFlags, parseSource, type OutputsSource } from "../verify/args";

/** `npm run failover` options. */
export interface FailoverOptions {
    readonly source: OutputsSource;
    /** `--to <replica>`: the replica to promote; default the one that received the most WAL. */
    readonly to?: string;
    readonly json: boolean;
    /** `--timeout`: how long each wait (replay, writes, rejoin) may take. */
    readonly timeoutMs: number;
}

/** `npm run rejoin` options. */
export interface RejoinOptions {
    readonly source: OutputsSource;
    /** `--node <name>`: the replica (or fenced former primary) to bring back. */
    readonly node: string;
    /** `--reclone`: a new base backup instead of pg_rewind / resuming from the slot. */
    readonly reclone: boolean;
    readonly json: boolean;
    readonly timeoutMs: number;
}

export const FAILOVER_USAGE = `Usage: npm run failover -- (--stack <name> | --outputs <file.json>) [--to <replica>] [--json] [--timeout <dur>]

Makes a replica the primary of a dev (Docker) cluster. With the primary healthy it is a switchover:
the primary stops cleanly, the replica is promoted, the old primary rejoins as a replica. With the
primary down it is a failover: the most advanced replica (or --to) is promoted and the old primary
stays fenced until \`npm run rejoin -- --node <name>\`. Either way the other replicas follow the
new primary (no new base backup), PgBouncer's read-write entry moves, and the new topology is
recorded: \`pulumi config set pgha:primaryNode\` with --stack; with --outputs the file is rewritten
and the config command printed.

On a cluster with \`pgha:failover automatic\`, Patroni fails over by itself; this command is then a
planned switchover (\`patronictl switchover\`, to --to or to Patroni's choice) inside a PgBouncer
PAUSE of the read-write entry: the app's statements wait in PgBouncer for the new leader instead
of failing (resumed after 60 s whatever happens to this command).

  --to <replica>     the replica to promote (default: the one that received the most WAL)
  --json             print the result as JSON
  --timeout <dur>    bound of each wait (default 60s)
Exit codes: 0 done, 1 failed, 2 unusable input.
`;

export const REJOIN_USAGE = `Usage: npm run rejoin -- (--stack <name> | --outputs <file.json>) --node <name> [--reclone] [--json] [--timeout <dur>]

Brings a replica of a dev (Docker) cluster back to streaming from the primary: a former primary
after a failover (pg_rewind), a stopped replica (resumes from its slot), or with --reclone one that
lost its slot (a new base backup; the slot is created again).

  --node <name>      the node to bring back, as the outputs name it (primary, replica-1, ...)
  --reclone          take a new base backup instead of rewinding or resuming
  --json             print the result as JSON
  --timeout <dur>    how long it may take to stream again (default 5min)
Exit codes: 0 streaming, 1 failed, 2 unusable input.
`;

const common = {
    stack: { type: "string" },
    outputs: { type: "string" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const NODE = /^(primary|replica-\d{1,2})$/;

function node(flag: string, value: string): string {
    if (!NODE.test(value))
        throw new InputError(
            `${flag} must be a node name such as primary or replica-1; got ${JSON.stringify(value)}`,
        );
    return value;
}

/** Parses `npm run failover` arguments; undefined means --help. @throws InputError naming the flag. */
export function parseFailoverArgs(argv: readonly string[]): FailoverOptions | undefined {
    const v = parseFlags(argv, { ...common, to: { type: "string" } });
    if (v.help) return undefined;
    return {
        source: parseSource(v),
        ...(v.to !== undefined ? { to: node("--to", v.to) } : {}),
        json: v.json ?? false,
        timeoutMs: v.timeout === undefined ? 60_000 : parseDuration("--timeout", v.timeout, 1000),
    };
}

/** Parses `npm run rejoin` arguments; undefined means --help. @throws InputError naming the flag. */
export function parseRejoinArgs(argv: readonly string[]): RejoinOptions | undefined {
    const v = parseFlags(argv, { ...common, node: { type: "string" }, reclone: { type: "boolean" } });
    if (v.help) return undefined;
    if (v.node === undefined)
        throw new InputError("--node <name> is required: the node to bring back (primary, replica-1, ...)");
    return {
        source: parseSource(v),
        node: node("--node", v.node),
        reclone: v.reclone ?? false,
        json: v.json ?? false,
        timeoutMs: v.timeout === undefined ? 300_000 : parseDuration("--timeout", v.timeout, 1000),
    };
}
