import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Options of {@link ClusterNetwork}. */
export interface ClusterNetworkArgs {
    /** Docker network name. */
    readonly networkName: string;
    /** Labels for every Docker object of the cluster. */
    readonly labels: docker.types.input.NetworkLabel[];
}

/** The cluster's private bridge network: nodes reach each other by container name. */
export class ClusterNetwork extends pulumi.ComponentResource {
    /** Docker network name. */
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:ClusterNetwork", name, {}, opts);
        const network = new docker.Network(
            name,
            { name: args.networkName, driver: "bridge", labels: args.labels },
            // A fixed name: created before the old one is deleted, Docker below API 1.44 would make a
            // second network of the same name (terraform-provider-docker sends no CheckDuplicate).
            { parent: this, deleteBeforeReplace: true },
        );
        this.networkName = network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}
