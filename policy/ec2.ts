/**
 * EC2 instances and their disks: encrypted EBS, no public address, IMDSv2 only.
 */
import { ResourcePolicy, TYPES } from "./types";

/** `true`, or the launch template's string `"true"`. */
const isTrue = (value: unknown) => value === true || value === "true";

/**
 * The violations of one resource's inputs: an EBS volume that is not encrypted, in an
 * `aws.ec2.Instance` (`rootBlockDevice`, every `ebsBlockDevices` entry), an `aws.ebs.Volume`, or an
 * `aws.ec2.LaunchTemplate` (`blockDeviceMappings[].ebs`). Encryption must be asked for explicitly:
 * the account's "EBS encryption by default" setting is invisible to a policy.
 */
export function unencryptedVolumes(type: string, name: string, props: Record<string, any>): string[] {
    const found: string[] = [];
    switch (type) {
        case TYPES.instance: {
            const root = props.rootBlockDevice;
            // With a launch template and no rootBlockDevice, the template's mappings decide (checked there).
            if (root === undefined || root === null) {
                if (props.launchTemplate === undefined || props.launchTemplate === null) {
                    found.push(
                        `instance ${name} has no rootBlockDevice: declare rootBlockDevice: { encrypted: true } (the AMI's and the account's defaults are not visible to this policy)`,
                    );
                }
            } else if (!isTrue(root.encrypted)) {
                found.push(`instance ${name}: rootBlockDevice.encrypted must be true`);
            }
            const extra: any[] = Array.isArray(props.ebsBlockDevices) ? props.ebsBlockDevices : [];
            extra.forEach((d, i) => {
                if (!isTrue(d.encrypted))
                    found.push(
                        `instance ${name}: ebsBlockDevices[${i}] (${d.deviceName ?? "no device name"}) must set encrypted: true`,
                    );
            });
            break;
        }
        case TYPES.ebsVolume:
            if (!isTrue(props.encrypted)) found.push(`EBS volume ${name} must set encrypted: true`);
            break;
        case TYPES.launchTemplate: {
            const mappings: any[] = Array.isArray(props.blockDeviceMappings) ? props.blockDeviceMappings : [];
            const ebs = mappings.filter((m) => m.ebs !== undefined && m.ebs !== null);
            if (ebs.length === 0) {
                found.push(
                    `launch template ${name} declares no EBS blockDeviceMappings: declare the root device with ebs: { encrypted: "true" }`,
                );
            }
            mappings.forEach((m, i) => {
                if (m.ebs !== undefined && m.ebs !== null && !isTrue(m.ebs.encrypted)) {
                    found.push(
                        `launch template ${name}: blockDeviceMappings[${i}] (${m.deviceName ?? "no device name"}) must set ebs.encrypted: "true"`,
                    );
                }
            });
            break;
        }
        default:
            break;
    }
    return found;
}

/** Mandatory: every EBS volume the stack declares is encrypted. */
export const ebsEncrypted: ResourcePolicy = {
    name: "ebs-encrypted",
    description:
        "EBS volumes, instance root and extra block devices, and launch template block devices are encrypted.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of unencryptedVolumes(args.type, args.name, args.props)) reportViolation(message);
    },
};

/**
 * The violations of one resource's inputs: a public IPv4 address for an instance. An
 * `aws.ec2.Instance` must say `associatePublicIpAddress: false` (left out, the subnet's
 * `mapPublicIpOnLaunch` decides, which the instance's inputs do not show) unless it brings its own
 * network interfaces; a launch template's interfaces must not ask for one; an Elastic IP must not be
 * attached to an instance.
 */
export function publicAddresses(type: string, name: string, props: Record<string, any>): string[] {
    switch (type) {
        case TYPES.instance: {
            if (props.associatePublicIpAddress === true) {
                return [
                    `instance ${name} sets associatePublicIpAddress: true: database nodes live in private subnets and are reached through SSM`,
                ];
            }
            const ownInterfaces =
                (Array.isArray(props.networkInterfaces) && props.networkInterfaces.length > 0) ||
                (props.primaryNetworkInterface ?? undefined) !== undefined;
            if (props.associatePublicIpAddress !== false && !ownInterfaces) {
                return [
                    `instance ${name} must set associatePublicIpAddress: false explicitly: left out, the subnet's mapPublicIpOnLaunch decides`,
                ];
            }
            return [];
        }
        case TYPES.launchTemplate: {
            const interfaces: any[] = Array.isArray(props.networkInterfaces) ? props.networkInterfaces : [];
            return interfaces.flatMap((n, i) =>
                isTrue(n.associatePublicIpAddress)
                    ? [
                          `launch template ${name}: networkInterfaces[${i}] must not set associatePublicIpAddress`,
                      ]
                    : [],
            );
        }
        case TYPES.eip:
            return props.instance
                ? [`Elastic IP ${name} is attached to an instance: database nodes have no public address`]
                : [];
        case TYPES.eipAssociation:
            return props.instanceId
                ? [
                      `Elastic IP association ${name} gives an instance a public address: database nodes have no public address`,
                  ]
                : [];
        default:
            return [];
    }
}

/** Mandatory: no instance gets a public IP. */
export const noPublicInstances: ResourcePolicy = {
    name: "ec2-no-public-ip",
    description: "EC2 instances have no public IP address (associatePublicIpAddress: false, no Elastic IP).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of publicAddresses(args.type, args.name, args.props)) reportViolation(message);
    },
};

/**
 * The violations of one resource's inputs: an `aws.ec2.Instance` or `aws.ec2.LaunchTemplate`
 * whose instance metadata service still answers IMDSv1. Passes with `metadataOptions.httpTokens:
 * "required"` or with the metadata endpoint disabled.
 */
export function imdsV1Allowed(type: string, name: string, props: Record<string, any>): string[] {
    if (type !== TYPES.instance && type !== TYPES.launchTemplate) {
        return [];
    }
    const options = props.metadataOptions ?? {};
    if (options.httpTokens === "required" || options.httpEndpoint === "disabled") {
        return [];
    }
    const what = type === TYPES.instance ? "instance" : "launch template";
    const got =
        options.httpTokens === undefined
            ? "not set (the AMI's default may allow IMDSv1)"
            : JSON.stringify(options.httpTokens);
    return [`${what} ${name}: metadataOptions.httpTokens must be "required" (IMDSv2 only), got ${got}`];
}

/** Mandatory: instances answer IMDSv2 only. */
export const imdsV2Required: ResourcePolicy = {
    name: "ec2-imdsv2-required",
    description:
        'EC2 instances and launch templates require IMDSv2 (metadataOptions.httpTokens: "required").',
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of imdsV1Allowed(args.type, args.name, args.props)) reportViolation(message);
    },
};
