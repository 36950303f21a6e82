import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NodeSubnet } from "./network";
import { clusterTags, TagRole } from "./tags";

/** Options of {@link NodeReservation}. */
export interface NodeReservationArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    /** Node name (`primary`, `replica-1`, `pgbouncer`), for tags. */
    readonly nodeName: string;
    readonly role: TagRole;
    /** Subnet (and so availability zone) of the node. */
    readonly subnet: NodeSubnet;
    /** Security groups of the node's network interface. */
    readonly securityGroupIds: pulumi.Input<string>[];
    /** Size of the encrypted gp3 data volume in GiB; none for a node without PostgreSQL. */
    readonly dataVolumeSizeGb?: number;
}

/**
 * What a node keeps when its instance is replaced: its network interface, so its private IP
 * (which replicas, PgBouncer and applications are configured with) never changes, and its data
 * volume (PGDATA). Both exist before any instance, so every node's configuration can name the
 * others' addresses without a dependency cycle.
 */
export class NodeReservation extends pulumi.ComponentResource {
    public readonly networkInterface: aws.ec2.NetworkInterface;
    /** The node's private IPv4 address. */
    public readonly privateIp: pulumi.Output<string>;
    /** The data volume, when the node runs PostgreSQL. */
    public readonly dataVolume?: aws.ebs.Volume;

    constructor(name: string, args: NodeReservationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:NodeReservation", name, {}, opts);
        const tags = clusterTags(args.clusterName, args.role, args.nodeName);
        this.networkInterface = new aws.ec2.NetworkInterface(
            `${name}-eni`,
            {
                subnetId: args.subnet.id,
                securityGroups: args.securityGroupIds,
                description: `pgha ${args.clusterName} ${args.nodeName}`,
                tags,
            },
            { parent: this },
        );
        this.privateIp = this.networkInterface.privateIp;
        if (args.dataVolumeSizeGb !== undefined) {
            this.dataVolume = new aws.ebs.Volume(
                `${name}-data`,
                {
                    availabilityZone: args.subnet.availabilityZone,
                    size: args.dataVolumeSizeGb,
                    type: "gp3",
                    encrypted: true,
                    // Deleting the stack keeps a last snapshot of every database volume.
                    finalSnapshot: true,
                    tags: clusterTags(args.clusterName, args.role, `${args.nodeName}-data`),
                },
                { parent: this },
            );
        }
        this.registerOutputs({ privateIp: this.privateIp });
    }
}
