/**
 * docker:index/container:Container, bridged from terraform-provider-docker's docker_container
 * (internal/provider/resource_docker_container.go for the schema, resource_docker_container_funcs.go
 * for Create, Read, Update and Delete; v4.5.0, which @pulumi/docker 5.1 and later bridge):
 * - Create starts the container, waits for `healthy` only if `wait` (polling until `waitTimeout`,
 *   default 60 s; neither `unhealthy` nor an exit ends the wait early), waits for the end of an
 *   `attach`ed container without looking at its exit code, then reads the container back: the
 *   health check's durations in Go's form (`300s` becomes `5m0s`), `exitCode` and, for a stopped
 *   container that must run, `mustRun` false;
 * - the inputs not ForceNew in the schema ({@link UPDATABLE}) update in place, and Update only
 *   starts the container when `mustRun` goes from false to true and applies the restart policy
 *   and resources (`docker update`); a changed health check, `wait` or grace period changes only
 *   the state;
 * - Read (a refresh) drops a container that is gone, and for a stopped one sets `mustRun` false
 *   in the state, so the next `up` starts it again (Update) instead of recreating it;
 * - Delete stops the container with `destroyGraceSeconds` (default 0: killed at once; the stop
 *   timeout `stopTimeout` is not used), except an `attach`ed one, which is removed by force.
 */
import Docker from "dockerode";
import { StateEntry, unwrapSecrets } from "../state";
import { existsBy, ignoring, sleep } from "./docker";
import {
    containerCreateOptions,
    containerError,
    containerLogs,
    endpointSettings,
    networksToJoin,
    resolvedPorts,
    uploadsArchive,
} from "./containerConfig";
import { formatGoDuration } from "./duration";
import { Inputs, NOOP, ResourceHandler } from "./handler";
import { objectName } from "./docker";
import { labelSpec } from "./network";

/** The inputs docker_container's schema does not mark ForceNew: they update in place. */
export const UPDATABLE: ReadonlySet<string> = new Set([
    "rm",
    "start",
    "wait",
    "waitTimeout",
    "attach",
    "logs",
    "mustRun",
    "restart",
    "maxRetryCount",
    "removeVolumes",
    "tmpfs",
    "memory",
    "memoryReservation",
    "memorySwap",
    "cpuShares",
    "cpuSet",
    "cpuPeriod",
    "cpuQuota",
    "destroyGraceSeconds",
    "healthcheck",
    "containerReadRefreshTimeoutMilliseconds",
    "init",
]);

/** What Update applies to the running container (`docker update`); the other updatable inputs change only the state. */
const APPLIED_BY_UPDATE = [
    "restart",
    "maxRetryCount",
    "cpuShares",
    "memory",
    "memoryReservation",
    "cpuSet",
    "memorySwap",
];

/** The schema's defaults, which the provider's diff sees. */
function withDefaults(i: Inputs): Inputs {
    const hc = i.healthcheck;
    return {
        ...i,
        mustRun: i.mustRun ?? true,
        start: i.start ?? true,
        wait: i.wait ?? false,
        waitTimeout: i.waitTimeout ?? 60,
        attach: i.attach ?? false,
        logs: i.logs ?? false,
        rm: i.rm ?? false,
        restart: i.restart ?? "no",
        removeVolumes: i.removeVolumes ?? true,
        ...(hc
            ? {
                  healthcheck: {
                      tests: hc.tests,
                      interval: hc.interval ?? "0s",
                      timeout: hc.timeout ?? "0s",
                      startPeriod: hc.startPeriod ?? "0s",
                      startInterval: hc.startInterval ?? "0s",
                      retries: hc.retries ?? 0,
                  },
              }
            : {}),
    };
}

/** The health check as Read sets it: durations printed by Go (time.Duration.String). */
function healthcheckReadBack(info: Docker.ContainerInspectInfo): Inputs | undefined {
    const hc = (info.Config as any).Healthcheck;
    if (!hc) return undefined;
    return {
        tests: hc.Test,
        interval: formatGoDuration(hc.Interval ?? 0),
        timeout: formatGoDuration(hc.Timeout ?? 0),
        startPeriod: formatGoDuration(hc.StartPeriod ?? 0),
        startInterval: formatGoDuration(hc.StartInterval ?? 0),
        retries: hc.Retries ?? 0,
    };
}

/** Read: what the provider puts in its state from `docker inspect` (the parts the engine's diff and the program use). */
function readBack(
    info: Docker.ContainerInspectInfo,
    inputs: Inputs,
    mustRunInState: boolean,
): Record<string, unknown> {
    const running = info.State.Running;
    return {
        name: info.Name.replace(/^\//, ""),
        hostname: info.Config.Hostname,
        ...(inputs.ports ? { ports: resolvedPorts(inputs.ports, info) } : {}),
        networkDatas: Object.entries(info.NetworkSettings.Networks ?? {}).map(
            ([networkName, n]: [string, any]) => ({
                networkName,
                ipAddress: n.IPAddress,
                ipPrefixLength: n.IPPrefixLen,
                gateway: n.Gateway,
                macAddress: n.MacAddress,
                globalIpv6Address: n.GlobalIPv6Address,
                globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
                ipv6Gateway: n.IPv6Gateway,
            }),
        ),
        healthcheck: healthcheckReadBack(info),
        ...(running ? {} : { exitCode: info.State.ExitCode }),
        // A stopped container that must run: must_run false in the state, which the next up's diff sees.
        mustRun: running ? mustRunInState : false,
    };
}

/** Polls like the provider (every second) until `healthy`; only the timeout ends it otherwise. */
async function waitHealthy(container: Docker.Container, name: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const { State } = await container.inspect();
        if (!State.Health)
            throw new Error(
                "you have supplied a 'wait' argument, but the container does not have a healthcheck defined. Please remove the 'wait' argument or add a 'healthcheck' attribute",
            );
        if (State.Health.Status === "healthy") return;
        if (Date.now() >= deadline) {
            const last = State.Health.Log?.at(-1)?.Output?.trim();
            // The provider's error is the first line; the rest is the e2e engine's help.
            throw await containerError(
                container,
                name,
                `failed to be in healthy state (container failed to be in healthy state) within ${timeoutSeconds}s: ${State.Health.Status}${last ? ` (last health check output: ${last})` : ""}`,
            );
        }
        await sleep(1000);
    }
}

function stateInputs(entry: StateEntry): Inputs {
    return unwrapSecrets(entry.inputs) as Inputs;
}

/** The state as the provider's diff sees it: the inputs, and what Read set (health check, mustRun). */
function stateView(entry: StateEntry): Inputs {
    const o = entry.outputs;
    return {
        ...withDefaults(stateInputs(entry)),
        ...(o.healthcheck !== undefined ? { healthcheck: o.healthcheck } : {}),
        ...(o.mustRun !== undefined ? { mustRun: o.mustRun } : {}),
    };
}

export function containerHandler(projectRoot: string): ResourceHandler {
    return {
        inputs: {
            name: true,
            image: true,
            hostname: true,
            domainname: true,
            command: true,
            entrypoints: true,
            envs: true,
            labels: labelSpec,
            user: true,
            workingDir: true,
            tty: true,
            stdinOpen: true,
            stopSignal: true,
            stopTimeout: true,
            networkMode: true,
            networksAdvanced: { name: true, aliases: true, ipv4Address: true, ipv6Address: true },
            ports: { internal: true, external: true, ip: true, protocol: true },
            volumes: {
                volumeName: true,
                hostPath: true,
                containerPath: true,
                readOnly: true,
                fromContainer: true,
            },
            uploads: {
                file: true,
                content: true,
                contentBase64: true,
                source: true,
                sourceHash: NOOP, // only there to make a change of `source` visible to the diff
                executable: true,
                permissions: true,
            },
            healthcheck: {
                tests: true,
                interval: true,
                timeout: true,
                startPeriod: true,
                startInterval: true,
                retries: true,
            },
            restart: true,
            maxRetryCount: true,
            wait: true,
            waitTimeout: true,
            mustRun: true,
            containerReadRefreshTimeoutMilliseconds: true,
            attach: true,
            logs: true,
            rm: true,
            start: true,
            init: true,
            memory: true,
            memorySwap: true,
            shmSize: true,
            cpuShares: true,
            cpus: true,
            tmpfs: true,
            privileged: true,
            capabilities: { adds: true, drops: true },
            sysctls: true,
            ulimits: { name: true, soft: true, hard: true },
            hosts: { host: true, ip: true },
            dns: true,
            dnsOpts: true,
            dnsSearches: true,
            groupAdds: true,
            logDriver: true,
            logOpts: true,
            readOnly: true,
            securityOpts: true,
            pidMode: true,
            ipcMode: true,
            destroyGraceSeconds: true,
            removeVolumes: true,
        },
        updatable: UPDATABLE,
        computed: new Set([
            "hostname",
            "command",
            "entrypoints",
            "envs",
            "labels",
            "stopSignal",
            "stopTimeout",
            "healthcheck",
            "init",
            "shmSize",
            "logDriver",
            "ipcMode",
            "securityOpts",
        ]),
        diffView: withDefaults,
        stateView,

        async create(inputs, ctx) {
            const name = objectName(inputs, ctx);
            // findImage: the provider pulls what the engine lacks; a local build or an image ID cannot be pulled.
            if (!(await existsBy(() => ctx.docker.getImage(inputs.image).inspect())))
                throw new Error(
                    `Unable to create container with image ${inputs.image}: the image is not on the engine (the e2e engine does not pull; a pull of a local tag or an image ID fails anyway)`,
                );
            let container: Docker.Container;
            try {
                container = await ctx.docker.createContainer(
                    containerCreateOptions(name, inputs, ctx.labels),
                );
            } catch (err) {
                throw new Error(
                    `Unable to create container: ${err instanceof Error ? err.message : String(err)}`,
                );
            }
            ctx.onCreated(container.id, { name });
            const [, ...moreNetworks] = networksToJoin(inputs);
            for (const n of moreNetworks) {
                await ctx.docker
                    .getNetwork(n.name)
                    .connect({ Container: container.id, EndpointConfig: endpointSettings(n) });
            }
            if (inputs.uploads?.length) {
                await container.putArchive(await uploadsArchive(inputs.uploads, projectRoot), { path: "/" });
            }
            const outputs: Record<string, unknown> = {};
            if (inputs.start !== false) {
                await container.start();
                if (inputs.wait) await waitHealthy(container, name, inputs.waitTimeout ?? 60);
            }
            if (inputs.attach) {
                // The provider waits for the end and keeps the logs; it never looks at the exit code.
                await container.wait({ condition: "not-running" });
                if (inputs.logs) outputs.containerLogs = await containerLogs(container);
            }
            const info = await ignoring(() => container.inspect());
            if (!info) return { id: container.id, outputs: { ...outputs, name } };
            return {
                id: container.id,
                outputs: { ...outputs, ...readBack(info, inputs, inputs.mustRun ?? true) },
            };
        },

        async update(entry, inputs, changed, ctx) {
            const container = ctx.docker.getContainer(entry.id);
            const before = stateView(entry);
            if (
                changed.includes("mustRun") &&
                before.mustRun === false &&
                inputs.mustRun !== false &&
                inputs.start !== false
            ) {
                ctx.log(`starting ${ctx.name}: mustRun went from false to true`);
                await ignoring(() => container.start(), 304);
            }
            if (APPLIED_BY_UPDATE.some((k) => changed.includes(k))) {
                await container.update({
                    RestartPolicy: {
                        Name: inputs.restart ?? "no",
                        MaximumRetryCount: inputs.maxRetryCount ?? 0,
                    },
                    CpuShares: inputs.cpuShares ?? 0,
                    Memory: (inputs.memory ?? 0) * 1024 * 1024,
                    CpusetCpus: inputs.cpuSet ?? "",
                    ...(inputs.memorySwap !== undefined
                        ? {
                              MemorySwap:
                                  inputs.memorySwap > 0 ? inputs.memorySwap * 1024 * 1024 : inputs.memorySwap,
                          }
                        : {}),
                });
            }
            // Update does not read back: the state takes the planned values (the health check as written).
            const planned = withDefaults(inputs);
            return { ...entry.outputs, healthcheck: planned.healthcheck, mustRun: planned.mustRun };
        },

        async read(entry, docker) {
            const info = await ignoring(() => docker.getContainer(entry.id).inspect());
            if (!info) return undefined;
            const mustRun =
                (entry.outputs.mustRun as boolean | undefined) ?? withDefaults(stateInputs(entry)).mustRun;
            return { ...entry.outputs, ...readBack(info, stateInputs(entry), mustRun) };
        },

        async remove(entry, docker, log) {
            const inputs = stateInputs(entry);
            const container = docker.getContainer(entry.id);
            if (!inputs.attach) {
                const grace = inputs.destroyGraceSeconds > 0 ? inputs.destroyGraceSeconds : 0;
                log(`stopping ${entry.name} with a grace period of ${grace} s (destroyGraceSeconds)`);
                await ignoring(() => container.stop({ t: grace }), 304);
            }
            await ignoring(() => container.remove({ force: true, v: inputs.removeVolumes ?? true }), 409);
            // A 409 means removal is already in progress (e.g. `rm`): wait until it is gone.
            for (let i = 0; i < 100 && (await existsBy(() => container.inspect())); i++) await sleep(100);
        },
    };
}
