import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile, NodeSpec, POSTGRES_PORT } from "../postgres";
import { ContainerContext, nodeContainer } from "./nodeContainer";

/** Options of {@link PostgresNode}. */
export interface PostgresNodeArgs {
    /** Shared container settings. */
    readonly context: ContainerContext;
    /** Which node this is (primary or replica N). */
    readonly node: NodeSpec;
    /** Docker container name (and host name on the cluster network). */
    readonly containerName: string;
    /** Host port for PostgreSQL. */
    readonly hostPort: number;
    /** Rendered files: role script, node.env, postgresql.conf, pg_hba.conf. */
    readonly files: NodeFile[];
    /** Secrets as environment variables (see secretEnv). */
    readonly secretEnvs: pulumi.Input<string>[];
}

/**
 * A PostgreSQL node on Docker: a named volume for PGDATA, so data survives container
 * replacement, and the container running the role script as primary or replica.
 */
export class PostgresNode extends pulumi.ComponentResource {
    /** The container; later resources depend on it being healthy. */
    public readonly container: docker.Container;
    /** Host name on the cluster network. */
    public readonly hostName: string;

    constructor(name: string, args: PostgresNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:PostgresNode", name, {}, opts);
        const volume = new docker.Volume(`${name}-data`, { name: `${args.containerName}-data`, labels: args.context.labels }, { parent: this });
        this.hostName = args.containerName;
        this.container = nodeContainer(
            name,
            args.context,
            {
                containerName: args.containerName,
                role: args.node.role,
                files: args.files, secretEnvs: args.secretEnvs,
                publish: { internal: POSTGRES_PORT, external: args.hostPort },
                volumeName: volume.name,
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
