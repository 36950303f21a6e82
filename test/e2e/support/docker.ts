/**
 * What e2e and fault tests do to a cluster's containers through the Docker API: read their logs,
 * kill, start and cut them off, and run psql as `postgres` over a node's local socket (for the few
 * statements only a superuser may run, such as CHECKPOINT). Tests still read the cluster's state
 * through the published ports; these helpers only inject faults and collect evidence.
 */
import Docker from "dockerode";
import { PassThrough } from "stream";

/** One client for the local engine (the socket or DOCKER_HOST). */
export const docker = new Docker();

/** The container's log (stdout and stderr) since `sinceMs` (epoch milliseconds, one second of slack). */
export async function containerLogsSince(container: string, sinceMs: number): Promise<string> {
    const buf = (await docker
        .getContainer(container)
        .logs({ stdout: true, stderr: true, since: Math.floor(sinceMs / 1000) - 1 })) as unknown as Buffer;
    return buf.toString("utf8");
}

/** What a command run in a container printed, and its exit code. */
export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs `cmd` in a running container (as `user`, default root) and collects its output. */
export async function execIn(container: string, cmd: string[], user = "root"): Promise<ExecResult> {
    const exec = await docker
        .getContainer(container)
        .exec({ Cmd: cmd, User: user, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    docker.modem.demuxStream(
        stream,
        new PassThrough().on("data", (b: Buffer) => out.push(b)),
        new PassThrough().on("data", (b: Buffer) => err.push(b)),
    );
    await new Promise<void>((resolve, reject) => stream.on("end", () => resolve()).on("error", reject));
    const { ExitCode } = await exec.inspect();
    return {
        code: ExitCode ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
    };
}

/**
 * `psql -c sql` as `postgres` inside a node's container (local socket, peer auth); returns stdout.
 * @throws Error with psql's stderr when it fails.
 */
export async function psqlAsPostgres(container: string, sql: string, database = "postgres"): Promise<string> {
    const r = await execIn(
        container,
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
        "postgres",
    );
    if (r.code !== 0) throw new Error(`psql in ${container} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** Sends SIGKILL to a container's processes, as an OOM kill or a power cut would; Docker does not restart it. */
export async function killContainer(container: string): Promise<void> {
    await docker.getContainer(container).kill({ signal: "SIGKILL" });
    await waitForState(container, (s) => !s.Running);
}

/** `docker start`; a container that is already running is left as it is. */
export async function startContainer(container: string): Promise<void> {
    try {
        await docker.getContainer(container).start();
    } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
    }
}

/** `docker restart` with the container's own stop timeout. */
export async function restartContainer(container: string): Promise<void> {
    await docker.getContainer(container).restart();
}

/** Whether the container runs, and its health status if it has a health check. */
export async function containerState(
    container: string,
): Promise<{ Running: boolean; Health?: string; Restarting: boolean; StartedAt: string }> {
    const { State } = await docker.getContainer(container).inspect();
    return {
        Running: State.Running,
        Restarting: State.Restarting,
        Health: State.Health?.Status,
        StartedAt: State.StartedAt,
    };
}

async function waitForState(
    container: string,
    ok: (s: Awaited<ReturnType<typeof containerState>>) => boolean,
    timeoutMs = 30_000,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok(await containerState(container))) {
        if (Date.now() > deadline)
            throw new Error(`${container} did not reach the expected state within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/**
 * Cuts a container off a network (`docker network disconnect --force`) and returns what puts it
 * back with the same aliases (`docker network connect`).
 */
export async function disconnectFromNetwork(
    container: string,
    network: string,
): Promise<() => Promise<void>> {
    const info = await docker.getContainer(container).inspect();
    const aliases = (info.NetworkSettings.Networks[network]?.Aliases ?? []).filter(
        (a: string) => !info.Id.startsWith(a),
    );
    await docker.getNetwork(network).disconnect({ Container: container, Force: true });
    return async () => {
        // Docker re-binds the container's published ports on connect; the proxy of the endpoint it
        // just left may hold them a moment longer ("address already in use", seen in CI): retry.
        for (let attempt = 1; ; attempt++) {
            try {
                await docker
                    .getNetwork(network)
                    .connect({ Container: container, EndpointConfig: { Aliases: aliases } });
                return;
            } catch (err) {
                if (attempt >= 10 || !/address already in use/.test((err as Error).message)) throw err;
                await new Promise((r) => setTimeout(r, 2000));
            }
        }
    };
}
