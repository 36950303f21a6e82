/**
 * Reaches the prod cluster (private IPs only, no port open to the internet) through SSM Session
 * Manager port forwarding, for `npm run verify` or a psql session:
 *
 *   npx tsx scripts/prod-tunnel.ts (--stack prod | --outputs prod-outputs.json) [--verify]
 *       [--target i-...] [--region eu-west-1] [--base-port 15432] [--write tunnel-outputs.json]
 *
 * `--stack` reads `pulumi stack output --json --show-secrets`; `--outputs` reads the same JSON
 * from a file.
 *
 * It opens one `aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost`
 * per endpoint (PgBouncer, primary, each replica) through one instance of the cluster (the
 * PgBouncer instance, or the primary when PgBouncer shares it), waits until every local port
 * answers, and writes the outputs rewritten to those ports on 127.0.0.1 (mode 0600). With
 * `--verify` it runs `npm run verify -- --outputs <that file>`, closes the tunnels and exits with
 * its code; without, it keeps the tunnels open until Ctrl-C.
 * Needs the AWS CLI v2 with the Session Manager plugin, and credentials allowed to
 * ssm:StartSession on the cluster's instances and ec2:DescribeInstances.
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import type { OutputsSource } from "./verify/args";
import { ClusterOutputs, loadOutputs } from "./verify/outputs";

/** One forwarded endpoint: a local port on 127.0.0.1 to a node's private address. */
export interface Forward {
    /** `pgbouncer`, `primary`, `replica-1`, ... */
    readonly name: string;
    readonly remoteHost: string;
    readonly remotePort: number;
    readonly localPort: number;
}

/** The tunnels to open and the outputs as seen through them. */
export interface TunnelPlan {
    readonly forwards: Forward[];
    /** The same outputs, every endpoint and connection string pointing at its forwarded local port. */
    readonly outputs: ClusterOutputs;
}

/** The SSM document that forwards a local port to a host the target instance reaches. */
export const PORT_FORWARDING_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost";

/**
 * Plans one forward per distinct endpoint (PgBouncer, primary, replicas in order) on consecutive
 * local ports from `basePort`, and rewrites the outputs to them. A PgBouncer on the primary's
 * instance shares its address but not its port, so it still gets a forward of its own.
 * @throws Error when a local port would exceed 65535.
 */
export function planTunnels(outputs: ClusterOutputs, basePort: number): TunnelPlan {
    const endpoints = [
        { name: "pgbouncer", ...outputs.pgbouncerEndpoint },
        { name: "primary", ...outputs.primaryEndpoint },
        ...outputs.replicaEndpoints.map((r) => ({ name: r.name, host: r.host, port: r.port })),
    ];
    const forwards: Forward[] = [];
    const local = new Map<string, number>();
    for (const e of endpoints) {
        const key = `${e.host}:${e.port}`;
        if (!local.has(key)) {
            const localPort = basePort + forwards.length;
            if (localPort > 65535)
                throw new Error(`--base-port ${basePort} leaves no room for ${endpoints.length} local ports`);
            local.set(key, localPort);
            forwards.push({ name: e.name, remoteHost: e.host, remotePort: e.port, localPort });
        }
    }
    const at = (e: { host: string; port: number }) => ({
        host: "127.0.0.1",
        port: local.get(`${e.host}:${e.port}`)!,
    });
    const pgbouncer = at(outputs.pgbouncerEndpoint);
    const throughPgbouncer = (connectionString: string) => {
        const url = new URL(connectionString);
        url.hostname = pgbouncer.host;
        url.port = String(pgbouncer.port);
        return url.toString();
    };
    return {
        forwards,
        outputs: {
            ...outputs,
            primaryEndpoint: at(outputs.primaryEndpoint),
            replicaEndpoints: outputs.replicaEndpoints.map((r) => ({ ...r, ...at(r) })),
            pgbouncerEndpoint: pgbouncer,
            writeConnectionString: throughPgbouncer(outputs.writeConnectionString),
            readConnectionString: throughPgbouncer(outputs.readConnectionString),
        },
    };
}

/** Arguments of `aws` that open one forward through instance `target`. */
export function sessionArgs(target: string, forward: Forward, region?: string): string[] {
    return [
        "ssm",
        "start-session",
        "--target",
        target,
        "--document-name",
        PORT_FORWARDING_DOCUMENT,
        "--parameters",
        JSON.stringify({
            host: [forward.remoteHost],
            portNumber: [String(forward.remotePort)],
            localPortNumber: [String(forward.localPort)],
        }),
        ...(region ? ["--region", region] : []),
    ];
}

/**
 * Arguments of `aws` that list the running instances of a cluster's role, by the tags the program
 * puts on every instance (`pgha:cluster`, `pgha:role`).
 */
export function findInstanceArgs(
    clusterName: string,
    role: "pgbouncer" | "primary",
    region?: string,
): string[] {
    return [
        "ec2",
        "describe-instances",
        "--filters",
        `Name=tag:pgha:cluster,Values=${clusterName}`,
        `Name=tag:pgha:role,Values=${role}`,
        "Name=instance-state-name,Values=running",
        "--query",
        "Reservations[].Instances[].InstanceId",
        "--output",
        "text",
        ...(region ? ["--region", region] : []),
    ];
}

/** Command-line options. */
export interface TunnelOptions {
    /** Where the stack's outputs come from: `--stack <name>` or `--outputs <file>`. */
    readonly source: OutputsSource;
    readonly target?: string;
    readonly region?: string;
    readonly basePort: number;
    readonly write?: string;
    readonly verify: boolean;
}

/** Parses the command line. @throws Error with the usage on a bad flag. */
export function parseTunnelArgs(argv: readonly string[]): TunnelOptions {
    const usage =
        "usage: prod-tunnel (--stack <name> | --outputs <stack-outputs.json>) [--verify] [--target i-...] [--region r] [--base-port 15432] [--write <file>]";
    const { values } = parseArgs({
        args: [...argv],
        options: {
            outputs: { type: "string" },
            stack: { type: "string" },
            target: { type: "string" },
            region: { type: "string" },
            "base-port": { type: "string", default: "15432" },
            write: { type: "string" },
            verify: { type: "boolean", default: false },
        },
        strict: true,
        allowPositionals: false,
    });
    if ((values.outputs === undefined) === (values.stack === undefined))
        throw new Error(`give exactly one of --stack and --outputs\n${usage}`);
    const source: OutputsSource =
        values.stack !== undefined
            ? { kind: "stack", stack: values.stack }
            : { kind: "file", path: values.outputs! };
    const basePort = Number(values["base-port"]);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65535)
        throw new Error(
            `--base-port must be an integer from 1024 to 65535, got ${values["base-port"]}\n${usage}`,
        );
    if (values.target !== undefined && !/^(i|mi)-[0-9a-f]+$/.test(values.target))
        throw new Error(`--target must be an instance id such as i-0123abcd, got ${values.target}`);
    return {
        source,
        target: values.target,
        region: values.region,
        basePort,
        write: values.write,
        verify: values.verify ?? false,
    };
}

function aws(args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
        execFile("aws", args, { timeout: 60_000 }, (error, stdout, stderr) =>
            error
                ? reject(new Error(`aws ${args.slice(0, 2).join(" ")} failed: ${stderr || error.message}`))
                : resolve(stdout.trim()),
        ),
    );
}

/** The instance the tunnels go through: --target, else the PgBouncer instance, else the primary. */
async function findTarget(outputs: ClusterOutputs, options: TunnelOptions): Promise<string> {
    if (options.target) return options.target;
    for (const role of ["pgbouncer", "primary"] as const) {
        const ids = (await aws(findInstanceArgs(outputs.clusterName, role, options.region)))
            .split(/\s+/)
            .filter(Boolean);
        if (ids.length > 0) return ids[0];
    }
    throw new Error(
        `no running instance tagged pgha:cluster=${outputs.clusterName} (role pgbouncer or primary); pass --target`,
    );
}

function portAnswers(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
        socket.setTimeout(1000, () => {
            socket.destroy();
            resolve(false);
        });
    });
}

async function main(argv: string[]): Promise<number> {
    const options = parseTunnelArgs(argv);
    const outputs = await loadOutputs(options.source);
    if (outputs.platform !== "aws")
        throw new Error(
            `${outputs.clusterName} runs on ${outputs.platform}: its ports are local already, run npm run verify directly`,
        );
    const plan = planTunnels(outputs, options.basePort);
    const target = await findTarget(outputs, options);
    const sessions: ChildProcess[] = [];
    const exited: string[] = [];
    const close = () => sessions.forEach((s) => s.kill("SIGTERM"));
    process.on("SIGINT", () => {
        close();
        process.exit(130);
    });
    try {
        for (const f of plan.forwards) {
            console.error(
                `[prod-tunnel] 127.0.0.1:${f.localPort} -> ${f.name} ${f.remoteHost}:${f.remotePort} through ${target}`,
            );
            const session = spawn("aws", sessionArgs(target, f, options.region), {
                stdio: ["ignore", "ignore", "inherit"],
            });
            session.on("exit", (code) => exited.push(`${f.name} (exit ${code})`));
            session.on("error", (e) => exited.push(`${f.name} (${e.message})`));
            sessions.push(session);
        }
        const deadline = Date.now() + 60_000;
        for (const f of plan.forwards) {
            while (!(await portAnswers(f.localPort))) {
                if (exited.length > 0)
                    throw new Error(`the session to ${exited.join(", ")} ended before its tunnel opened`);
                if (Date.now() > deadline)
                    throw new Error(
                        `the tunnel to ${f.name} did not open within 60 s (is the Session Manager plugin installed?)`,
                    );
                await new Promise((r) => setTimeout(r, 500));
            }
        }
        const file =
            options.write ??
            path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pgha-tunnel-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify(plan.outputs, null, 2) + "\n", { mode: 0o600 });
        fs.chmodSync(file, 0o600);
        console.error(
            `[prod-tunnel] tunnels open; outputs through them in ${file} (holds passwords, mode 0600)`,
        );
        if (!options.verify) {
            console.error(
                `[prod-tunnel] run: npm run verify -- --outputs ${file}    (Ctrl-C closes the tunnels)`,
            );
            await new Promise(() => undefined);
        }
        const verify = spawn("npm", ["run", "--silent", "verify", "--", "--outputs", file], {
            stdio: "inherit",
        });
        return await new Promise<number>((resolve) => verify.on("exit", (code) => resolve(code ?? 1)));
    } finally {
        close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error) => {
            console.error(`prod-tunnel: ${(error as Error).message}`);
            process.exit(2);
        },
    );
}
