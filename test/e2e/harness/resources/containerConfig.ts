/** How terraform-provider-docker maps docker_container inputs onto the Engine API (resource_docker_container_funcs.go, Create). */
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import * as tar from "tar-stream";
import { ignoring, labelMap, tail } from "./docker";
import { parseGoDuration } from "./duration";
import { Inputs } from "./handler";

/** The networks a container joins: `networkMode` decides the first one, else the first of `networksAdvanced`. */
export function networksToJoin(inputs: Inputs): Inputs[] {
    const advanced: Inputs[] = inputs.networksAdvanced ?? [];
    if (inputs.networkMode === undefined) return advanced;
    return [{ name: inputs.networkMode }, ...advanced.filter((n) => n.name !== inputs.networkMode)];
}

export function endpointSettings(n: Inputs): Docker.EndpointSettings {
    const ipam =
        n.ipv4Address || n.ipv6Address
            ? { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address }
            : undefined;
    return { Aliases: n.aliases, IPAMConfig: ipam };
}

function portKey(p: Inputs): string {
    return `${p.internal}/${p.protocol ?? "tcp"}`;
}

const MB = 1024 * 1024;

/** Maps container inputs to the Docker create request, as terraform-provider-docker does. */
export function containerCreateOptions(
    name: string,
    i: Inputs,
    ownLabels: Record<string, string>,
): Docker.ContainerCreateOptions {
    const ports: Inputs[] = i.ports ?? [];
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) {
        (portBindings[portKey(p)] ??= []).push({
            HostIp: p.ip ?? "0.0.0.0",
            HostPort: p.external ? String(p.external) : "",
        });
    }
    const volumes: Inputs[] = i.volumes ?? [];
    const bind = (source: string, v: Inputs) => `${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`;
    const binds = volumes
        .filter((v) => v.volumeName || v.hostPath)
        .map((v) => bind(v.volumeName ?? v.hostPath, v));
    const anonymous = volumes.filter(
        (v) => !v.volumeName && !v.hostPath && !v.fromContainer && v.containerPath,
    );
    const [first] = networksToJoin(i);
    const hc = i.healthcheck;
    const duration = (d: string | undefined) => (d === undefined ? undefined : parseGoDuration(d));
    return {
        name,
        Image: i.image,
        Hostname: i.hostname,
        Domainname: i.domainname,
        User: i.user,
        Cmd: i.command,
        Entrypoint: i.entrypoints,
        Env: i.envs,
        WorkingDir: i.workingDir,
        Tty: i.tty,
        OpenStdin: i.stdinOpen,
        StopSignal: i.stopSignal,
        StopTimeout: i.stopTimeout,
        Labels: labelMap(i.labels, ownLabels),
        ExposedPorts: Object.fromEntries(Object.keys(portBindings).map((k) => [k, {}])),
        Volumes: anonymous.length
            ? Object.fromEntries(anonymous.map((v) => [v.containerPath, {}]))
            : undefined,
        Healthcheck: hc && {
            Test: hc.tests,
            Interval: duration(hc.interval),
            Timeout: duration(hc.timeout),
            StartPeriod: duration(hc.startPeriod),
            StartInterval: duration(hc.startInterval),
            Retries: hc.retries,
        },
        HostConfig: {
            NetworkMode: first?.name,
            PortBindings: portBindings,
            Binds: binds.length ? binds : undefined,
            VolumesFrom: volumes.filter((v) => v.fromContainer).map((v) => v.fromContainer),
            RestartPolicy: {
                Name: i.restart ?? "no",
                MaximumRetryCount: i.restart === "on-failure" ? (i.maxRetryCount ?? 0) : 0,
            },
            AutoRemove: i.rm,
            Init: i.init,
            Memory: i.memory !== undefined ? i.memory * MB : undefined,
            MemorySwap: i.memorySwap !== undefined ? (i.memorySwap > 0 ? i.memorySwap * MB : -1) : undefined,
            ShmSize: i.shmSize !== undefined ? i.shmSize * MB : undefined,
            CpuShares: i.cpuShares,
            NanoCpus: i.cpus !== undefined ? Math.round(parseFloat(i.cpus) * 1e9) : undefined,
            Tmpfs: i.tmpfs,
            Privileged: i.privileged,
            CapAdd: i.capabilities?.adds,
            CapDrop: i.capabilities?.drops,
            Sysctls: i.sysctls,
            Ulimits: i.ulimits?.map((u: Inputs) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
            ExtraHosts: i.hosts?.map((h: Inputs) => `${h.host}:${h.ip}`),
            Dns: i.dns,
            DnsOptions: i.dnsOpts,
            DnsSearch: i.dnsSearches,
            GroupAdd: i.groupAdds,
            LogConfig:
                i.logDriver || i.logOpts
                    ? { Type: i.logDriver ?? "json-file", Config: i.logOpts ?? {} }
                    : undefined,
            ReadonlyRootfs: i.readOnly,
            SecurityOpt: i.securityOpts,
            PidMode: i.pidMode,
            IpcMode: i.ipcMode,
        },
        NetworkingConfig: first ? { EndpointsConfig: { [first.name]: endpointSettings(first) } } : undefined,
    };
}

/** A tar (owned by root) of all uploads, to extract at `/`: mode 0744 if executable, else 0644, unless `permissions` says otherwise. */
export async function uploadsArchive(uploads: Inputs[], projectRoot: string): Promise<Buffer> {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    const done = new Promise<void>((resolve, reject) => {
        pack.on("end", resolve);
        pack.on("error", reject);
    });
    for (const u of uploads) {
        const content =
            u.content !== undefined
                ? Buffer.from(u.content, "utf8")
                : u.contentBase64 !== undefined
                  ? Buffer.from(u.contentBase64, "base64")
                  : u.source !== undefined
                    ? await fs.promises.readFile(path.resolve(projectRoot, u.source))
                    : undefined;
        if (content === undefined)
            throw new Error(`upload ${u.file} needs one of content, contentBase64 or source`);
        const mode = u.permissions !== undefined ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
        pack.entry({ name: u.file.replace(/^\/+/, ""), mode, uid: 0, gid: 0, mtime: new Date() }, content);
    }
    pack.finalize();
    await done;
    return Buffer.concat(chunks);
}

/** The inputs' ports with the host port Docker actually bound (for `external` left empty). */
export function resolvedPorts(ports: Inputs[], info: Docker.ContainerInspectInfo): Inputs[] {
    return ports.map((p) => {
        const ip = p.ip ?? "0.0.0.0";
        const bound =
            (info.NetworkSettings.Ports?.[portKey(p)] ?? []).find((b) => b.HostIp === ip) ??
            info.NetworkSettings.Ports?.[portKey(p)]?.[0];
        return {
            ...p,
            ip,
            protocol: p.protocol ?? "tcp",
            external: bound ? Number(bound.HostPort) : p.external,
        };
    });
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) unless the container has a TTY. */
function demuxLogs(buf: Buffer, tty: boolean): string {
    if (tty) return buf.toString("utf8");
    const parts: Buffer[] = [];
    for (let i = 0; i + 8 <= buf.length;) {
        const size = buf.readUInt32BE(i + 4);
        parts.push(buf.subarray(i + 8, i + 8 + size));
        i += 8 + size;
    }
    return Buffer.concat(parts).toString("utf8");
}

export async function containerLogs(container: Docker.Container, lines?: number): Promise<string> {
    const info = await ignoring(() => container.inspect());
    const buf = await ignoring(() =>
        container.logs({ stdout: true, stderr: true, follow: false, ...(lines ? { tail: lines } : {}) }),
    );
    return buf ? demuxLogs(buf, info?.Config.Tty ?? false) : "";
}

/** An Error naming the container, with the last 40 lines of its logs. */
export async function containerError(
    container: Docker.Container,
    name: string,
    problem: string,
): Promise<Error> {
    const logs = await containerLogs(container, 40);
    return new Error(
        `container ${name} ${problem}\n--- last 40 log lines of ${name} ---\n${tail(logs, 40) || "(no output)"}`,
    );
}
