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
    /** The script the container runs (entrypoint and health check); default the role script. */
    readonly script?: string;
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
 * How long a container may take to stop when Pulumi deletes it (a replacement, a scale-down, a
 * destroy): terraform-provider-docker's Delete stops with `destroyGraceSeconds` (default 0: killed
 * at once) and ignores `stopTimeout`, so both are set. With SIGINT, PostgreSQL's fast shutdown
 * writes its shutdown checkpoint well within this, and the next start needs no crash recovery.
 */
export const STOP_GRACE_SECONDS = 60;

/**
 * The health check's timings, written as terraform-provider-docker reads them back (Go's
 * time.Duration.String(): `5m0s`, not `300s`), so neither an `up` nor a refresh sees a diff.
 */
export const HEALTHCHECK_TIMING = {
    interval: "2s",
    timeout: "5s",
    retries: 5,
    /** Start period of PostgreSQL nodes and PgBouncer. */
    startPeriod: "5m0s",
    /** Start period of the backup scheduler (a first full backup) and a restore (WAL replay). */
    longStartPeriod: "1h0m0s",
} as const;

/**
 * Declares a container running the role script. Long-running roles get a health check and the
 * deployment waits until they are healthy (at create only: the provider never waits again, see
 * README "What `pulumi up` checks"); a changed health check replaces the container, since the
 * provider's in-place update would change only its state. `reconcile-slots` runs once: see
 * {@link oneShotSucceeded} for how its exit code fails the `up`.
 */
export function nodeContainer(
    name: string,
    ctx: ContainerContext,
    args: NodeContainerArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container {
    const oneShot = args.role === "reconcile-slots";
    const script = args.script ?? ROLE_SCRIPT;
    // A backup scheduler's first full backup may take long; a restore replays WAL before it is healthy.
    const startPeriod =
        args.role === "backup-scheduler" || args.role === "restore"
            ? HEALTHCHECK_TIMING.longStartPeriod
            : HEALTHCHECK_TIMING.startPeriod;
    return new docker.Container(
        name,
        {
            name: args.containerName,
            hostname: args.containerName,
            image: ctx.image,
            entrypoints: [script],
            command: [args.role],
            envs: args.secretEnvs,
            labels: [...ctx.labels, { label: "pgha.role", value: args.role }],
            networksAdvanced: [{ name: ctx.networkName, aliases: [args.containerName] }],
            // A Patroni leader cut off the network must give up before its key expires (ttl 20 s).
            // With glibc's defaults (5 s, 2 attempts) each failed lookup of an etcd member took 10 s
            // and the isolated leader demoted itself only 33 s after the cut, 10 s after another
            // member had been promoted (e2e partition test); Docker's DNS answers in-cluster names
            // locally, so 1 s and one attempt cost nothing otherwise.
            ...(args.role === "patroni" ? { dnsOpts: ["timeout:1", "attempts:1"] } : {}),
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
                      // Patroni (and etcd) shut down on SIGTERM: Patroni stops PostgreSQL fast and
                      // gives up the leader key, so a replica takes over at once.
                      stopSignal: args.role === "patroni" || args.role === "etcd" ? "SIGTERM" : "SIGINT",
                      stopTimeout: STOP_GRACE_SECONDS,
                      destroyGraceSeconds: STOP_GRACE_SECONDS,
                      healthcheck: {
                          tests: ["CMD", script, "health"],
                          interval: HEALTHCHECK_TIMING.interval,
                          timeout: HEALTHCHECK_TIMING.timeout,
                          retries: HEALTHCHECK_TIMING.retries,
                          startPeriod,
                      },
                      wait: true,
                      waitTimeout: 600,
                  }),
        },
        // Container names are unique on an engine: the old one must go before its replacement starts.
        // envs carry the secrets: keep them secret in state outputs too (the policy pack checks this).
        // The provider updates a changed health check in place, which never reaches the container.
        {
            ...opts,
            deleteBeforeReplace: true,
            additionalSecretOutputs: ["envs"],
            ...(oneShot ? {} : { replaceOnChanges: ["healthcheck"] }),
        },
    );
}

/**
 * The one-shot container once it exited 0; fails (with the container's log) otherwise. The
 * provider waits for an `attach`ed container but never looks at its exit code, and does not run it
 * again while its inputs stay the same: resources that need the job's work depend on this output
 * (`dependsOn`), so a failed job fails the `up`, and every later `up` too, until it succeeded.
 */
export function oneShotSucceeded(job: docker.Container): pulumi.Output<docker.Container> {
    return pulumi
        .all([job.exitCode, job.containerLogs, job.name, job.urn])
        .apply(([code, logs, name, urn]) => {
            if (code === 0) return job;
            throw new pulumi.ResourceError(
                `one-shot container ${name} exited with code ${code ?? "(none)"}; its log:\n${(logs ?? "").trimEnd() || "(empty)"}\n` +
                    `It runs again when its inputs change, or with: pulumi up --replace '${urn}'`,
                job,
            );
        });
}
