import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile, NodeRole, ROLE_SCRIPT } from "../postgres";

/** What every container of a cluster shares. */
export interface ContainerContext {
    /** Image reference of the node image. */
    readonly image: pulumi.Input<string>;
    /** Cluster network name. */
    readonly networkName: pulumi.Input<string>;
    /** Labels for every Docker object of the cluster. */
    readonly labels: docker.types.input.ContainerLabel[];
    /** Host address ports are published on (127.0.0.1 unless configured otherwise). */
    readonly bindAddress: string;
}

/** One container of the cluster. */
export interface NodeContainerArgs {
    /** Docker container name, also its host name on the cluster network. */
    readonly containerName: string;
    /** Role passed to the role script. */
    readonly role: NodeRole;
    /** Files shipped into the container before it starts; none of them secret. */
    readonly files: NodeFile[];
    /** Secrets as `PGHA_SECRET_<NAME>=value`, each a Pulumi secret. */
    readonly secretEnvs: pulumi.Input<string>[];
    /** Port published on the host: `internal` in the container to `external` on bindAddress. */
    readonly publish?: { internal: number; external: number };
    /** Named volumes and where they are mounted. */
    readonly volumes?: { volumeName: pulumi.Input<string>; containerPath: string }[];
}

/**
 * Declares a container running the role script. Long-running roles get a health check and the
 * deployment waits until they are healthy; `reconcile-slots` runs once and must exit 0.
 */
export function nodeContainer(
    name: string,
    ctx: ContainerContext,
    args: NodeContainerArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container {
    const oneShot = args.role === "reconcile-slots";
    // A backup scheduler's first full backup may take long; a restore replays WAL before it is healthy.
    const startPeriod = args.role === "backup-scheduler" || args.role === "restore" ? "3600s" : "300s";
    return new docker.Container(
        name,
        {
            name: args.containerName,
            hostname: args.containerName,
            image: ctx.image,
            entrypoints: [ROLE_SCRIPT],
            command: [args.role],
            envs: args.secretEnvs,
            labels: [...ctx.labels, { label: "pgha.role", value: args.role }],
            networksAdvanced: [{ name: ctx.networkName, aliases: [args.containerName] }],
            ports: args.publish
                ? [
                      {
                          internal: args.publish.internal,
                          external: args.publish.external,
                          ip: ctx.bindAddress,
                          protocol: "tcp",
                      },
                  ]
                : [],
            volumes: args.volumes ?? [],
            uploads: args.files.map((f) => ({
                file: f.path,
                content: f.content,
                executable: f.executable ?? false,
            })),
            ...(oneShot
                ? { restart: "no", mustRun: false, attach: true, logs: true }
                : {
                      restart: "unless-stopped",
                      // PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
                      stopSignal: "SIGINT",
                      stopTimeout: 60,
                      healthcheck: {
                          tests: ["CMD", ROLE_SCRIPT, "health"],
                          interval: "2s",
                          timeout: "5s",
                          retries: 5,
                          startPeriod,
                      },
                      wait: true,
                      waitTimeout: 600,
                  }),
        },
        // Container names are unique on an engine: the old one must go before its replacement starts.
        // envs carry the secrets: keep them secret in state outputs too (the policy pack checks this).
        { ...opts, deleteBeforeReplace: true, additionalSecretOutputs: ["envs"] },
    );
}
