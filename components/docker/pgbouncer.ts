import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile, PGBOUNCER_PORT } from "../postgres";
import { ContainerContext, nodeContainer } from "./nodeContainer";

/** Options of {@link Pgbouncer}. */
export interface PgbouncerArgs {
    /** Shared container settings. */
    readonly context: ContainerContext;
    /** Docker container name. */
    readonly containerName: string;
    /** Host port for PgBouncer. */
    readonly hostPort: number;
    /** Rendered files: role script, node.env, pgbouncer.ini */
    readonly files: NodeFile[];
    /** Secrets as environment variables (see secretEnv). */
    readonly secretEnvs: pulumi.Input<string>[];
    /** The script it runs: pgha-patroni when it follows Patroni's leader; default the role script. */
    readonly script?: string;
}

/** PgBouncer on Docker, with the read-write entry to the primary and the read-only one to the replicas. */
export class Pgbouncer extends pulumi.ComponentResource {
    /** The container. */
    public readonly container: docker.Container;

    constructor(name: string, args: PgbouncerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:Pgbouncer", name, {}, opts);
        this.container = nodeContainer(
            name,
            args.context,
            {
                containerName: args.containerName,
                role: "pgbouncer",
                script: args.script,
                files: args.files,
                secretEnvs: args.secretEnvs,
                publish: { internal: PGBOUNCER_PORT, external: args.hostPort },
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
