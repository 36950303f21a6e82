/** Machine facts and conditions recorded with every benchmark run. */
import { execFile } from "node:child_process";
import * as os from "node:os";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { monitorTarget, otherContainers, pgClient } from "./cluster";
import type { ContainerSighting, Conditions, MachineFacts } from "./types";
import type { ClusterOutputs } from "../verify/outputs";

const GiB = 1024 ** 3;

function firstLineOf(command: string, args: string[]): Promise<string | undefined> {
    return new Promise((resolve) => {
        execFile(command, args, { timeout: 10_000 }, (err, stdout, stderr) =>
            resolve(err ? undefined : `${stdout}${stderr}`.trim().split("\n")[0]),
        );
    });
}

/** Runs `cmd` in a container and returns the first line it printed, or `undefined`. */
async function firstLineIn(docker: Docker, container: string, cmd: string[]): Promise<string | undefined> {
    try {
        const c = docker.getContainer(container);
        const exec = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({});
        let text = "";
        const sink = new PassThrough();
        sink.on("data", (d: Buffer) => (text += d.toString()));
        c.modem.demuxStream(stream, sink, sink);
        await new Promise((r) => stream.on("end", r));
        return text.trim().split("\n")[0] || undefined;
    } catch {
        return undefined;
    }
}

/** Cores, memory, kernel, Docker, and the versions of PostgreSQL, PgBouncer and pgBackRest in the running bench cluster. */
export async function machineFacts(outputs: ClusterOutputs): Promise<MachineFacts> {
    const docker = new Docker();
    const [version, info] = await Promise.all([docker.version(), docker.info()]);
    const client = pgClient(monitorTarget(outputs, outputs.primaryEndpoint));
    let postgres: string | undefined;
    try {
        await client.connect();
        postgres = (await client.query("SELECT version() AS v")).rows[0].v;
    } catch {
        postgres = undefined;
    } finally {
        await client.end().catch(() => undefined);
    }
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        memoryGiB: Math.round((os.totalmem() / GiB) * 10) / 10,
        kernel: `${os.type()} ${os.release()}`,
        node: process.version,
        docker: {
            version: version.Version,
            apiVersion: version.ApiVersion,
            storageDriver: info.Driver,
            cpus: info.NCPU,
            memoryGiB:
                typeof info.MemTotal === "number" ? Math.round((info.MemTotal / GiB) * 10) / 10 : undefined,
        },
        postgres,
        pgbouncer: await firstLineIn(docker, `${outputs.clusterName}-pgbouncer`, ["pgbouncer", "--version"]),
        pgbackrest: await firstLineIn(docker, `${outputs.clusterName}-backup`, ["pgbackrest", "version"]),
        pgbench: await firstLineOf("pgbench", ["--version"]),
        gnuplot: await firstLineOf("gnuplot", ["--version"]),
    };
}

/** What else runs on the machine at one moment. */
export interface Snapshot {
    otherContainers: string[];
    loadAverage: number[];
}

/** What else runs on the machine now (other containers, load average). */
export async function currentConditions(): Promise<Snapshot> {
    return {
        otherContainers: await otherContainers(),
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
}

/** Start and end conditions combined, with what {@link ContainerWatch} saw in between. */
export function conditions(start: Snapshot, end: Snapshot, seen: ContainerSighting[] = []): Conditions {
    return {
        otherContainersAtStart: start.otherContainers,
        otherContainersAtEnd: end.otherContainers,
        otherContainersSeen: seen,
        loadAverageAtStart: start.loadAverage,
        loadAverageAtEnd: end.loadAverage,
    };
}

/**
 * Lists the engine's other running containers every `intervalMs` for the whole run, so that a
 * stack started and stopped by someone else during the bench is on record, not only what ran at
 * its start and end.
 */
export class ContainerWatch {
    private readonly seen = new Map<string, ContainerSighting>();
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly origin: number,
        private readonly intervalMs = 5000,
    ) {}

    /** Starts watching (first look at once). */
    start(): void {
        const look = async () => {
            const at = Math.round((Date.now() - this.origin) / 1000);
            for (const name of await otherContainers().catch(() => [] as string[])) {
                const s = this.seen.get(name);
                if (s) s.lastSeenSeconds = at;
                else this.seen.set(name, { name, firstSeenSeconds: at, lastSeenSeconds: at });
            }
        };
        void look();
        this.timer = setInterval(() => void look(), this.intervalMs);
    }

    /** Stops watching; every container seen, with when it was first and last seen. */
    stop(): ContainerSighting[] {
        clearInterval(this.timer);
        return [...this.seen.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
}
