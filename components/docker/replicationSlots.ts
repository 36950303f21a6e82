import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile } from "../postgres";
import { ContainerContext, nodeContainer, oneShotSucceeded } from "./nodeContainer";

/** Options of {@link ReplicationSlots}. */
export interface ReplicationSlotsArgs {
    /** Shared container settings. */
    readonly context: ContainerContext;
    /** Docker container name of the one-shot job. */
    readonly containerName: string;
    /** Rendered files: role script, node.env (with PGHA_EXPECTED_SLOTS) */
    readonly files: NodeFile[];
    /** Secrets as environment variables (see secretEnv). */
    readonly secretEnvs: pulumi.Input<string>[];
}

/**
 * The primary's physical replication slots, one per replica. A one-shot container makes the
 * primary's `pgha_` slots exactly the expected set; it runs again whenever that set changes, so
 * scaling up creates slots before the new replicas clone, and scaling down drops the removed
 * replica's slot (an orphan slot would keep WAL forever).
 */
export class ReplicationSlots extends pulumi.ComponentResource {
    /** The job container. */
    public readonly job: docker.Container;
    /** The job once it exited 0 (fails with its log otherwise): replicas depend on this. */
    public readonly succeeded: pulumi.Output<docker.Container>;

    constructor(name: string, args: ReplicationSlotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:ReplicationSlots", name, {}, opts);
        this.job = nodeContainer(
            name,
            args.context,
            {
                containerName: args.containerName,
                role: "reconcile-slots",
                files: args.files,
                secretEnvs: args.secretEnvs,
            },
            { parent: this },
        );
        this.succeeded = oneShotSucceeded(this.job);
        this.registerOutputs({});
    }
}
