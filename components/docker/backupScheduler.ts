import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile } from "../postgres";
import { ContainerContext, nodeContainer } from "./nodeContainer";
import { DATA_MOUNT, SOCKET_MOUNT } from "./postgresNode";

/** Options of {@link BackupScheduler}. */
export interface BackupSchedulerArgs {
    /** Shared container settings. */
    readonly context: ContainerContext;
    /** Container name. */
    readonly containerName: string;
    /** The primary's data volume: pgBackRest copies files from it. */
    readonly dataVolumeName: pulumi.Input<string>;
    /** The primary's socket volume: pgBackRest starts and stops the backup through it. */
    readonly socketVolumeName: pulumi.Input<string>;
    /** More volumes, e.g. the backup repository. */
    readonly extraVolumes?: { volumeName: pulumi.Input<string>; containerPath: string }[];
    /** Rendered files: role script, node.env, pgbackrest.conf, the CA certificate. */
    readonly files: NodeFile[];
    /** The repository's S3 key, as environment (see secretEnv). */
    readonly secretEnvs: pulumi.Input<string>[];
}

/**
 * The dev stack's backup scheduler: a container beside the primary (its data volume and socket)
 * that creates the pgBackRest stanza, then takes a backup every configured interval and records
 * each run. It is healthy once the stanza exists and as long as the last backup succeeded.
 */
export class BackupScheduler extends pulumi.ComponentResource {
    /** The container; `npm run backup` runs `pgha-node backup` in it. */
    public readonly container: docker.Container;

    constructor(name: string, args: BackupSchedulerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:BackupScheduler", name, {}, opts);
        this.container = nodeContainer(
            name,
            args.context,
            {
                containerName: args.containerName,
                role: "backup-scheduler",
                files: args.files,
                secretEnvs: args.secretEnvs,
                volumes: [
                    { volumeName: args.dataVolumeName, containerPath: DATA_MOUNT },
                    { volumeName: args.socketVolumeName, containerPath: SOCKET_MOUNT },
                    ...(args.extraVolumes ?? []),
                ],
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
