import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The AWS account that publishes the official Debian AMIs. */
export const DEBIAN_AMI_OWNER = "136693071363";

/** CPU architecture, as Debian names it in AMI names and package architectures. */
export type DebianArch = "amd64" | "arm64";

/**
 * The architecture of an instance type: Graviton families carry a `g` right after the generation
 * digit (m7g, c7gn, t4g, r8gd); everything else this program supports is x86_64.
 */
export function instanceArchitecture(instanceType: string): DebianArch {
    return /^[a-z]+\d+g[a-z0-9-]*\./.test(instanceType) ? "arm64" : "amd64";
}

/** Families that run on the Xen hypervisor: their EBS volumes are not NVMe devices. */
const XEN_FAMILIES =
    /^(c1|c3|c4|cc2|cr1|d2|f1|g2|g3|g3s|h1|hs1|i2|i3|m1|m2|m3|m4|p2|p3|r3|r4|t1|t2|x1|x1e)\./;

/**
 * Checks that `instanceType` is a Nitro type: the bootstrap finds the data volume by its NVMe
 * serial (the EBS volume id), which Xen instances do not expose.
 * @throws Error naming the config key and the fix.
 */
export function assertNitroInstanceType(key: string, instanceType: string): void {
    if (XEN_FAMILIES.test(instanceType)) {
        throw new Error(
            `${key} ${instanceType} is a Xen-based (previous generation) type: use a Nitro type such as m7i.large, r7i.large or t3.small`,
        );
    }
}

/** Filters of the latest official Debian 12 (bookworm) AMI for `arch`. */
export function debianAmiFilters(arch: DebianArch): aws.types.input.ec2.GetAmiFilter[] {
    return [
        { name: "name", values: [`debian-12-${arch}-*`] },
        { name: "architecture", values: [arch === "amd64" ? "x86_64" : "arm64"] },
        { name: "virtualization-type", values: ["hvm"] },
        { name: "root-device-type", values: ["ebs"] },
    ];
}

/** Looks up the latest official Debian 12 AMI for `arch` (owner {@link DEBIAN_AMI_OWNER}). */
export function latestDebianAmi(arch: DebianArch, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    return aws.ec2.getAmiOutput(
        { owners: [DEBIAN_AMI_OWNER], mostRecent: true, filters: debianAmiFilters(arch) },
        opts,
    ).id;
}
