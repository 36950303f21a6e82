import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { clusterTags, TagRole } from "./tags";

/** The device name the data volume is attached as; on Nitro it appears as an NVMe disk found by its volume id. */
export const DATA_DEVICE_NAME = "/dev/sdf";

/** Size of each node's encrypted gp3 root volume in GiB: the OS, packages and logs (PGDATA is on the data volume). */
export const ROOT_VOLUME_SIZE_GB = 20;

/** Options of {@link NodeInstance}. */
export interface NodeInstanceArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    /** Node name (`primary`, `replica-1`, `pgbouncer`), for tags. */
    readonly nodeName: string;
    readonly role: TagRole;
    readonly instanceType: string;
    /** AMI id (official Debian 12, or `pgha:awsAmiId`). */
    readonly ami: pulumi.Input<string>;
    /**
     * True when the AMI is the latest one looked up: a newer Debian image then does not replace a
     * running database node. Pin `pgha:awsAmiId` to roll nodes onto a new image.
     */
    readonly ignoreAmiUpdates: boolean;
    /** Instance profile name (the node role). */
    readonly instanceProfile: pulumi.Input<string>;
    /** The node's network interface (its fixed private IP and security groups). */
    readonly networkInterfaceId: pulumi.Input<string>;
    /** The node's data volume, attached as {@link DATA_DEVICE_NAME}; none for PgBouncer alone. */
    readonly dataVolumeId?: pulumi.Input<string>;
    /** Base64 user data, see encodeUserData. */
    readonly userDataBase64: pulumi.Input<string>;
}

/**
 * A node's EC2 instance: no public IP (its only network interface is the node's own, created
 * without one, in a private subnet), IMDSv2 only with a hop limit of 1, an encrypted gp3 root
 * volume, the data volume attached, no SSH key. User data runs once per instance, so a change to
 * it replaces the instance; the network interface and data volume carry over (the old instance is
 * stopped and deleted first: both can belong to one instance only).
 */
export class NodeInstance extends pulumi.ComponentResource {
    public readonly instance: aws.ec2.Instance;

    constructor(name: string, args: NodeInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:NodeInstance", name, {}, opts);
        const tags = clusterTags(args.clusterName, args.role, args.nodeName);
        this.instance = new aws.ec2.Instance(
            name,
            {
                ami: args.ami,
                instanceType: args.instanceType,
                primaryNetworkInterface: { networkInterfaceId: args.networkInterfaceId },
                iamInstanceProfile: args.instanceProfile,
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    httpPutResponseHopLimit: 1,
                    instanceMetadataTags: "disabled",
                },
                rootBlockDevice: {
                    volumeType: "gp3",
                    volumeSize: ROOT_VOLUME_SIZE_GB,
                    encrypted: true,
                    deleteOnTermination: true,
                    tags: clusterTags(args.clusterName, args.role, `${args.nodeName}-root`),
                },
                userDataBase64: args.userDataBase64,
                userDataReplaceOnChange: true,
                tags,
            },
            { parent: this, deleteBeforeReplace: true, ignoreChanges: args.ignoreAmiUpdates ? ["ami"] : [] },
        );
        if (args.dataVolumeId !== undefined) {
            new aws.ec2.VolumeAttachment(
                `${name}-data`,
                // Stopping the instance first shuts PostgreSQL down cleanly before the volume goes.
                {
                    instanceId: this.instance.id,
                    volumeId: args.dataVolumeId,
                    deviceName: DATA_DEVICE_NAME,
                    stopInstanceBeforeDetaching: true,
                },
                { parent: this, deleteBeforeReplace: true },
            );
        }
        this.registerOutputs({ instanceId: this.instance.id });
    }
}
