/**
 * The few Docker operations the dev-stack tools need (backup, restore, failover, rejoin), on
 * dockerode: run a command in a container, put files into one (running or stopped), stop, kill
 * and start it.
 */
import Docker from "dockerode";
import { PassThrough } from "stream";
import * as tar from "tar-stream";

/** A file to put into a container. */
export interface ContainerFile {
    /** Absolute path in the container. */
    readonly path: string;
    readonly content: string;
    readonly executable?: boolean;
}

/** What a command run in a container returned. */
export interface ExecResult {
    readonly exitCode: number;
    /** stdout and stderr, interleaved. */
    readonly output: string;
}

/** The container operations failover and rejoin use; tests replace them. */
export interface ContainerControl {
    /** Whether the container exists and runs. */
    isRunning(container: string): Promise<boolean>;
    /** Runs `cmd` in the running container (as `user`, root by default). */
    exec(
        container: string,
        cmd: readonly string[],
        opts?: { user?: string; onOutput?: (chunk: string) => void },
    ): Promise<ExecResult>;
    /** Writes files into the container, running or stopped (also into its volumes). */
    putFiles(container: string, files: readonly ContainerFile[]): Promise<void>;
    /** Stops the container with its stop signal, killing it after `timeoutSeconds`. */
    stop(container: string, timeoutSeconds: number): Promise<void>;
    /** SIGKILLs the container if it runs. */
    kill(container: string): Promise<void>;
    start(container: string): Promise<void>;
}

/** A tar archive of `files`, paths relative to `/`. */
export async function tarOf(files: readonly ContainerFile[]): Promise<Buffer> {
    const pack = tar.pack();
    for (const f of files)
        pack.entry({ name: f.path.replace(/^\//, ""), mode: f.executable ? 0o755 : 0o644 }, f.content);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

/** Docker's status code of an API error (404 no such container, 304 already stopped or started). */
function statusOf(err: unknown): number | undefined {
    return (err as { statusCode?: number }).statusCode;
}

/** The {@link ContainerControl} of the local Docker engine. */
export function dockerControl(docker: Docker = new Docker()): ContainerControl {
    return {
        async isRunning(name) {
            try {
                return (await docker.getContainer(name).inspect()).State.Running;
            } catch (err) {
                if (statusOf(err) === 404) return false;
                throw err;
            }
        },
        async exec(name, cmd, opts = {}) {
            const container = docker.getContainer(name);
            const exec = await container.exec({
                Cmd: [...cmd],
                User: opts.user ?? "root",
                AttachStdout: true,
                AttachStderr: true,
            });
            const stream = await exec.start({});
            let output = "";
            const sink = new PassThrough();
            sink.on("data", (d: Buffer) => {
                output += d.toString();
                opts.onOutput?.(d.toString());
            });
            container.modem.demuxStream(stream, sink, sink);
            await new Promise((resolve) => stream.on("end", resolve));
            const { ExitCode } = await exec.inspect();
            return { exitCode: ExitCode ?? 1, output };
        },
        async putFiles(name, files) {
            await docker.getContainer(name).putArchive(await tarOf(files), { path: "/" });
        },
        async stop(name, timeoutSeconds) {
            await docker
                .getContainer(name)
                .stop({ t: timeoutSeconds })
                .catch((err) => {
                    if (statusOf(err) !== 304) throw err;
                });
        },
        async kill(name) {
            await docker
                .getContainer(name)
                .kill()
                .catch((err) => {
                    // 409: not running.
                    if (statusOf(err) !== 409) throw err;
                });
        },
        async start(name) {
            await docker
                .getContainer(name)
                .start()
                .catch((err) => {
                    if (statusOf(err) !== 304) throw err;
                });
        },
    };
}
