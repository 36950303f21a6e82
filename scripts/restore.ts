/**
 * `npm run restore -- (--stack <name> | --outputs <file>) [--target-time <ISO time>] [--port N] [--json]`:
 * restores the latest backup plus archived WAL (or up to a point in time) into a fresh container
 * and volume beside the cluster, started as a stand-alone primary that does not archive, and
 * prints its endpoint and what it restored. It changes nothing in the running cluster, except that
 * with --target-time it first marks the archive's end on the primary (an empty committed
 * transaction and a WAL switch: see restore/range.ts), and refuses a time outside the archived range.
 * Exit 0 restored and accepting connections, 1 the restore failed, 2 unusable input (or a time outside the range).
 */
import Docker from "dockerode";
import * as net from "net";
import { Client } from "pg";
import { POSIX_REPOSITORY_PATH, restorePlan, secretEnvLine } from "../components/postgres";
import type { BackupSettings, ClusterFacts, PostgresSettings } from "../components/postgres";
import { tarOf } from "./docker/containers";
import { EXIT, InputError } from "./verify/errors";
import { BackupTarget, loadBackupTarget, parseToolArgs } from "./backup/target";
import { dockerControl } from "./docker/containers";
import { archivedRange, checkTargetTime, PGBACKREST_INFO_JSON, type ArchiveRange } from "./restore/range";
import { findWalGap, type WalGap } from "./restore/gap";

const USAGE =
    "usage: npm run restore -- (--stack <name> | --outputs <file.json>) [--target-time <ISO 8601 time>] [--port <host port>] [--timeout <seconds>] [--json]\n";

/** What a restore produced. */
export interface RestoreResult {
    container: string;
    volume: string;
    endpoint: { host: string; port: number };
    target: string;
    backupSet?: string;
    lastTransaction?: string;
    seconds: number;
    /** A latest-state restore that stopped before the archive's newest segment: WAL is missing between. */
    walGap?: WalGap;
    /** With --target-time: the range that was available (ISO times; end absent when it could not be marked). */
    range?: { start?: string; end?: string; endUnknownBecause?: string };
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/** Restores into a new container; see the file comment. */
export async function restore(
    target: BackupTarget,
    opts: { targetTime?: string; port?: number; timeoutSeconds: number },
): Promise<RestoreResult> {
    const a = target.backupAccess;
    const facts: ClusterFacts = {
        pgMajor: a.postgresVersion,
        postgres: a.postgres as unknown as PostgresSettings,
        bootstrap: { databaseName: target.databaseName, appUser: "unused" },
        clusterCidrs: ["samenet"],
        clientCidrs: ["samenet"],
        backup: a.backup as unknown as BackupSettings,
    };
    const plan = restorePlan(facts, opts.targetTime);
    const started = Date.now();
    const docker = new Docker();
    const name = `${target.clusterName}-restore-${new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
    const port = opts.port ?? (await freePort());
    const volume = `${name}-data`;
    await docker.createVolume({
        Name: volume,
        Labels: { "pgha.cluster": target.clusterName, "pgha.role": "restore" },
    });
    const envs =
        a.accessKey !== undefined && a.secretKey !== undefined
            ? [secretEnvLine("s3_key", a.accessKey), secretEnvLine("s3_key_secret", a.secretKey)]
            : [];
    const container = await docker.createContainer({
        name,
        Image: a.nodeImage,
        Entrypoint: ["/etc/pgha/bin/pgha-node"],
        Cmd: ["restore"],
        Env: envs,
        Labels: { "pgha.cluster": target.clusterName, "pgha.role": "restore" },
        ExposedPorts: { "5432/tcp": {} },
        Healthcheck: {
            Test: ["CMD", "/etc/pgha/bin/pgha-node", "health"],
            Interval: 2e9,
            Timeout: 5e9,
            Retries: 5,
            StartPeriod: opts.timeoutSeconds * 1e9,
        },
        StopSignal: "SIGINT",
        HostConfig: {
            Binds: [
                `${volume}:/var/lib/postgresql/data`,
                // A repository on a volume is mounted read-only: a restore never writes to it.
                ...(a.repositoryVolume ? [`${a.repositoryVolume}:${POSIX_REPOSITORY_PATH}:ro`] : []),
            ],
            PortBindings: { "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
            NetworkMode: a.network,
        },
    });
    await container.putArchive(await tarOf(plan.files.map((f) => ({ ...f, content: String(f.content) }))), {
        path: "/",
    });
    await container.start();
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    for (;;) {
        const { State } = await container.inspect();
        if (State.Health?.Status === "healthy") break;
        if (!State.Running || Date.now() > deadline) {
            const logs = (
                (await container.logs({ stdout: true, stderr: true, tail: 40 })) as unknown as Buffer
            ).toString("utf8");
            throw new Error(
                `the restored server in ${name} did not come up${State.Running ? ` within ${opts.timeoutSeconds} s` : ` (exit ${State.ExitCode})`}:\n${logs}\n(remove it with: docker rm -f ${name} && docker volume rm ${volume})`,
            );
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    const logs = ((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString(
        "utf8",
    );
    const result: RestoreResult = {
        container: name,
        volume,
        endpoint: { host: "127.0.0.1", port },
        target: opts.targetTime ?? "latest",
        backupSet: /restore backup set ([0-9A-Z_-]+)/.exec(logs)?.[1],
        lastTransaction: /last completed transaction was at log time ([0-9: .+-]+)/.exec(logs)?.[1]?.trim(),
        seconds: (Date.now() - started) / 1000,
    };
    if (opts.targetTime === undefined) {
        const info = await dockerControl(docker).exec(name, PGBACKREST_INFO_JSON, { user: "postgres" });
        const gap = info.exitCode === 0 ? findWalGap(logs, info.output) : undefined;
        if (gap) result.walGap = gap;
    }
    // The restored server answers the cluster's roles; make sure it does before saying so.
    const client = new Client({
        host: "127.0.0.1",
        port,
        user: target.monitorUser,
        password: target.monitorPassword,
        database: target.databaseName,
        connectionTimeoutMillis: 5000,
    });
    await client.connect();
    await client.query("SELECT 1");
    await client.end();
    return result;
}

async function main(argv: readonly string[]): Promise<number> {
    const args = parseToolArgs(argv, {
        "target-time": { type: "string" },
        port: { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean" },
    });
    if (args.help) {
        process.stdout.write(USAGE);
        return EXIT.ok;
    }
    const targetTime = args.values["target-time"] as string | undefined;
    if (targetTime !== undefined && Number.isNaN(Date.parse(targetTime))) {
        throw new InputError(
            `--target-time must be an ISO 8601 time such as 2026-11-23T10:15:00Z, got ${JSON.stringify(targetTime)}`,
        );
    }
    const port = args.values.port === undefined ? undefined : Number(args.values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 1024 && port <= 65535)) {
        throw new InputError(
            `--port must be an integer from 1024 to 65535, got ${JSON.stringify(args.values.port)}`,
        );
    }
    const timeoutSeconds = args.values.timeout === undefined ? 600 : Number(args.values.timeout);
    if (!(Number.isInteger(timeoutSeconds) && timeoutSeconds > 0)) {
        throw new InputError(
            `--timeout must be a positive number of seconds, got ${JSON.stringify(args.values.timeout)}`,
        );
    }
    const target = await loadBackupTarget(args.source);
    // A point in time must be within the archived range; marking its end makes a quiet moment reachable.
    let range: ArchiveRange | undefined;
    if (targetTime !== undefined) {
        range = await archivedRange(dockerControl(), target.backupAccess.schedulerContainer);
        checkTargetTime(new Date(targetTime), range);
    }
    const iso =
        targetTime === undefined
            ? undefined
            : new Date(targetTime).toISOString().replace("T", " ").replace("Z", "+00");
    const result: RestoreResult = {
        ...(await restore(target, { targetTime: iso, port, timeoutSeconds })),
        ...(range && {
            range: {
                start: range.start?.toISOString(),
                end: range.end?.toISOString(),
                endUnknownBecause: range.endUnknownBecause,
            },
        }),
    };
    process.stdout.write(
        args.values.json
            ? `${JSON.stringify(result)}\n`
            : [
                  `restored ${result.target} from backup set ${result.backupSet ?? "?"} in ${result.seconds.toFixed(1)} s`,
                  `last restored transaction: ${result.lastTransaction ?? "unknown"}`,
                  ...(result.walGap
                      ? [
                            `WARNING: WAL is missing after segment ${result.walGap.restoredThrough}, though the archive has up to ${result.walGap.archiveHas}: recovery stopped at the gap (pgBackRest drops WAL past pgha:archiveQueueMaxMb while the repository is unreachable). This is the state before the gap; a backup taken after it restores past it.`,
                        ]
                      : []),
                  `server: postgresql://${result.endpoint.host}:${result.endpoint.port} (container ${result.container}, volume ${result.volume})`,
                  `remove it with: docker rm -f ${result.container} && docker volume rm ${result.volume}`,
                  "",
              ].join("\n"),
    );
    return EXIT.ok;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`restore: ${(err as Error).message}\n`);
            process.exit(err instanceof InputError ? EXIT.usage : EXIT.checkFailed);
        },
    );
}
