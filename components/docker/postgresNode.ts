import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile, NodeRole, NodeSpec, POSTGRES_PORT } from "../postgres";
import { ContainerContext, nodeContainer } from "./nodeContainer";

/** Where a node's data volume is mounted (PGDATA is a directory below it). */
export const DATA_MOUNT = "/var/lib/postgresql/data";
/** Where the server's Unix socket lives. */
export const SOCKET_MOUNT = "/var/run/postgresql";

/** Host name of a node's pgBackRest TLS server on the cluster network. */
export function backupServerHost(nodeContainerName: string): string {
    return `${nodeContainerName}-pgbackrest`;
}

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
    /** Also put the server's socket directory on a named volume, to share it with the backup scheduler. */
    readonly shareSocket?: boolean;
    /** Keep the data volume when the stack is destroyed (`retainOnDelete`). Default false. */
    readonly keepData?: boolean;
    /** More volumes for the node's container only, e.g. the backup repository. */
    readonly extraVolumes?: { volumeName: pulumi.Input<string>; containerPath: string }[];
    /** The container's role and script, when not the node's own role under the role script (Patroni). */
    readonly run?: { readonly role: NodeRole; readonly script: string };
    /** Rendered files: role script, node.env, postgresql.conf, pg_hba.conf. */
    readonly files: NodeFile[];
    /** Secrets as environment variables (see secretEnv). */
    readonly secretEnvs: pulumi.Input<string>[];
    /**
     * A pgBackRest TLS server beside the node (backupServerPlan, with its secrets), for backups
     * from a replica; it shares the node's data and socket volumes.
     */
    readonly backupServer?: { readonly files: NodeFile[]; readonly secretEnvs: pulumi.Input<string>[] };
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
    /** PGDATA's volume, mounted at /var/lib/postgresql/data. */
    public readonly dataVolumeName: pulumi.Output<string>;
    /** The socket directory's volume, when shared; mounted at /var/run/postgresql. */
    public readonly socketVolumeName?: pulumi.Output<string>;
    /** The pgBackRest TLS server's container, when the node has one. */
    public readonly backupServer?: docker.Container;

    constructor(name: string, args: PostgresNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:PostgresNode", name, {}, opts);
        const volume = new docker.Volume(
            `${name}-data`,
            { name: `${args.containerName}-data`, labels: args.context.labels },
            // A fixed name: a replacement created first would get this very volume from Docker, and the
            // old resource's delete would then remove it (or fail, in use). Deleted first instead, and
            // with keepData (retainOnDelete) the old delete leaves it: the new resource adopts it.
            { parent: this, deleteBeforeReplace: true, retainOnDelete: args.keepData ?? false },
        );
        this.hostName = args.containerName;
        this.dataVolumeName = volume.name;
        const volumes = [{ volumeName: volume.name, containerPath: DATA_MOUNT }];
        if (args.shareSocket || args.backupServer) {
            const socket = new docker.Volume(
                `${name}-run`,
                { name: `${args.containerName}-run`, labels: args.context.labels },
                { parent: this, deleteBeforeReplace: true },
            );
            this.socketVolumeName = socket.name;
            volumes.push({ volumeName: socket.name, containerPath: SOCKET_MOUNT });
        }
        this.container = nodeContainer(
            name,
            args.context,
            {
                containerName: args.containerName,
                role: args.run?.role ?? args.node.role,
                script: args.run?.script,
                files: args.files,
                secretEnvs: args.secretEnvs,
                publish: { internal: POSTGRES_PORT, external: args.hostPort },
                volumes: [...volumes, ...(args.extraVolumes ?? [])],
            },
            { parent: this },
        );
        if (args.backupServer) {
            this.backupServer = nodeContainer(
                `${name}-pgbackrest`,
                args.context,
                {
                    containerName: backupServerHost(args.containerName),
                    role: "backup-server",
                    ...args.backupServer,
                    volumes,
                },
                { parent: this, dependsOn: [this.container] },
            );
        }
        this.registerOutputs({});
    }
}
