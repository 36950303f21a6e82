/**
 * What `npm run deploy` checks on the Docker engine before `pulumi up` creates anything: every
 * image the deploy pulls exists (on the engine or in its registry), and every host port the stack
 * publishes is free (or already this stack's). Each problem names the config key to change.
 */
import Docker from "dockerode";
import * as net from "node:net";
import type { ClusterConfig } from "../../components/config";

/** One thing that would make the deploy fail half-way. */
export interface PreflightProblem {
    /** The config key to change, e.g. `pgha:primaryPort`. */
    readonly key: string;
    readonly message: string;
}

/** The images a Docker deploy pulls: the node image's base (built FROM it) and the local S3 server's. */
export function imagesToPull(config: ClusterConfig): { key: string; image: string }[] {
    return [
        { key: "pgha:baseImage", image: config.baseImage },
        ...(config.backupEnabled && config.backupS3Image !== undefined
            ? [{ key: "pgha:backupS3Image", image: config.backupS3Image }]
            : []),
    ];
}

/** Each image must be on the engine already or known to its registry (asked without pulling). */
export async function checkImages(config: ClusterConfig, docker: Docker): Promise<PreflightProblem[]> {
    const problems: PreflightProblem[] = [];
    for (const { key, image } of imagesToPull(config)) {
        try {
            await docker.getImage(image).inspect();
            continue;
        } catch {
            // not on this engine: ask the registry
        }
        try {
            await docker.getImage(image).distribution();
        } catch (err) {
            const why = String(
                (err as { json?: { message?: string } }).json?.message ?? (err as Error).message,
            );
            problems.push({
                key,
                message: `${key}: image ${image} is not on this Docker engine and its registry does not serve it (${why.trim()}); set ${key} to an image that exists, or build or pull it first`,
            });
        }
    }
    return problems;
}

/** The host ports a Docker stack publishes, with the key that sets each. */
export function hostPorts(config: ClusterConfig): { key: string; port: number; count: number }[] {
    return [
        { key: "pgha:primaryPort", port: config.primaryPort, count: 1 },
        ...(config.replicas > 0
            ? [{ key: "pgha:replicaBasePort", port: config.replicaBasePort, count: config.replicas }]
            : []),
        { key: "pgha:pgbouncerPort", port: config.pgbouncerPort, count: 1 },
    ];
}

/** Whether the engine runs on this machine, so a port bound here is a port it cannot publish. */
function engineIsLocal(): boolean {
    const host = process.env.DOCKER_HOST ?? "";
    return host === "" || host.startsWith("unix://") || host.startsWith("npipe://");
}

/** Whether `port` can be bound on `address` right now. */
export async function canBind(address: string, port: number): Promise<boolean> {
    return (await bindError(address, port)) === undefined;
}

/** Why listening on `address:port` fails here (`EADDRINUSE`, `EADDRNOTAVAIL`, ...), or undefined when it works. */
export function bindError(address: string, port: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        server.listen({ port, host: address, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
}

type Published = { port: number; container: string; ours: boolean };

/** Host ports that running containers publish on `address` (or on every address). */
async function publishedPorts(docker: Docker, address: string, clusterName: string): Promise<Published[]> {
    const containers = await docker.listContainers();
    return containers.flatMap((c) =>
        (c.Ports ?? [])
            .filter(
                (p) =>
                    p.PublicPort !== undefined &&
                    (address === "0.0.0.0" || [address, "0.0.0.0", "::", ""].includes(p.IP ?? "")),
            )
            .map((p) => ({
                port: p.PublicPort,
                container: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
                ours: c.Labels?.["pgha.cluster"] === clusterName,
            })),
    );
}

/**
 * Each published port must be free on `bindAddress`, or published by this stack's own containers
 * (a second deploy). A problem names the key, who holds the port and a free value to set.
 */
export async function checkPorts(
    config: ClusterConfig,
    clusterName: string,
    stack: string,
    docker: Docker,
): Promise<PreflightProblem[]> {
    const address = config.bindAddress;
    const local = engineIsLocal();
    // An address this machine does not have fails every port alike: name the key that is wrong.
    if (local && (await bindError(address, 0)) === "EADDRNOTAVAIL") {
        return [
            {
                key: "pgha:bindAddress",
                message: `pgha:bindAddress: ${address} is not an address of this machine, so no port can be published on it; use 127.0.0.1 (the default), 0.0.0.0 or one of this machine's addresses, e.g. \`pulumi config set pgha:bindAddress 127.0.0.1 --stack ${stack}\``,
            },
        ];
    }
    const published = await publishedPorts(docker, address, clusterName);
    const wanted = hostPorts(config);
    const configured = new Set(wanted.flatMap(({ port, count }) => range(port, count)));
    const holder = async (port: number): Promise<string | undefined> => {
        const mine = published.filter((p) => p.port === port);
        if (mine.some((p) => p.ours)) return undefined;
        const other = mine.find((p) => !p.ours);
        if (other) return `container ${other.container}`;
        if (local && !(await canBind(address, port))) return "another program on this machine";
        return undefined;
    };
    const isFree = async (port: number) =>
        port <= 65535 && !configured.has(port) && (await holder(port)) === undefined;
    const problems: PreflightProblem[] = [];
    for (const { key, port, count } of wanted) {
        for (const p of range(port, count)) {
            const who = await holder(p);
            if (who === undefined) continue;
            const suggestion = await suggest(port, count, isFree);
            const what =
                count > 1 ? `port ${p} (replica ${p - port + 1} = ${key} + ${p - port})` : `port ${p}`;
            problems.push({
                key,
                message: `${key}: ${what} on ${address} is taken by ${who}; choose a free one${suggestion === undefined ? "" : `, e.g. \`pulumi config set ${key} ${suggestion} --stack ${stack}\``}`,
            });
            break;
        }
    }
    return problems;
}

function range(start: number, count: number): number[] {
    return Array.from({ length: count }, (_, i) => start + i);
}

/** The first base from `port + 10000` (or 20000 when that is too high) whose `count` ports are all free. */
async function suggest(
    port: number,
    count: number,
    isFree: (p: number) => Promise<boolean>,
): Promise<number | undefined> {
    const start = port + 10000 + count <= 65535 ? port + 10000 : 20000;
    for (let base = start; base + count - 1 <= 65535 && base < start + 2000; base++) {
        let ok = true;
        for (const p of range(base, count)) {
            if (!(await isFree(p))) {
                ok = false;
                break;
            }
        }
        if (ok) return base;
    }
    return undefined;
}

/** Every check of a Docker stack; empty when the deploy can go ahead. */
export async function preflight(
    config: ClusterConfig,
    clusterName: string,
    stack: string,
    docker: Docker = new Docker(),
): Promise<PreflightProblem[]> {
    if (config.platform !== "docker") return [];
    return [
        ...(await checkImages(config, docker)),
        ...(await checkPorts(config, clusterName, stack, docker)),
    ];
}
