import { ebsEncrypted, imdsV2Required, noPublicInstances } from "../../../policy/ec2";
import { TYPES } from "../../../policy/types";
import { validate } from "./policyArgs";

/** An EC2 instance as components/aws would declare a replica: private, encrypted, IMDSv2 only. */
const replica = (overrides: Record<string, unknown> = {}) => ({
    ami: "ami-0123abcd",
    instanceType: "m7i.large",
    subnetId: "subnet-0123abcd",
    associatePublicIpAddress: false,
    metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
    rootBlockDevice: { encrypted: true, volumeSize: 20, volumeType: "gp3" },
    ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true, volumeSize: 100, volumeType: "gp3" }],
    tags: { Name: "pgha-prod-replica-1", "pgha:role": "replica" },
    ...overrides,
});

describe("ebs-encrypted (mandatory)", () => {
    test("is mandatory", () => expect(ebsEncrypted.enforcementLevel).toBe("mandatory"));

    test("passes an instance whose root and data volumes are encrypted, an encrypted volume and launch template", () => {
        expect(validate(ebsEncrypted, TYPES.instance, "replica-1", replica())).toEqual([]);
        expect(
            validate(ebsEncrypted, TYPES.ebsVolume, "data", {
                availabilityZone: "eu-west-1a",
                size: 100,
                type: "gp3",
                encrypted: true,
            }),
        ).toEqual([]);
        expect(
            validate(ebsEncrypted, TYPES.launchTemplate, "lt", {
                blockDeviceMappings: [
                    { deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 20 } },
                ],
            }),
        ).toEqual([]);
    });

    test("fails an unencrypted root device and an unencrypted data device, naming each", () => {
        expect(
            validate(
                ebsEncrypted,
                TYPES.instance,
                "replica-1",
                replica({
                    rootBlockDevice: { volumeSize: 20 },
                    ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false, volumeSize: 100 }],
                }),
            ),
        ).toEqual([
            "instance replica-1: rootBlockDevice.encrypted must be true",
            "instance replica-1: ebsBlockDevices[0] (/dev/sdf) must set encrypted: true",
        ]);
    });

    test("fails an instance that leaves its root device to the AMI's defaults", () => {
        const { rootBlockDevice: _, ...noRoot } = replica();
        expect(validate(ebsEncrypted, TYPES.instance, "primary", noRoot)).toEqual([
            "instance primary has no rootBlockDevice: declare rootBlockDevice: { encrypted: true } (the AMI's and the account's defaults are not visible to this policy)",
        ]);
    });

    test("fails an aws.ebs.Volume without encrypted: true", () => {
        expect(
            validate(ebsEncrypted, TYPES.ebsVolume, "data", { availabilityZone: "eu-west-1a", size: 100 }),
        ).toEqual(["EBS volume data must set encrypted: true"]);
    });

    test("fails a launch template with an unencrypted block device", () => {
        expect(
            validate(ebsEncrypted, TYPES.launchTemplate, "lt", {
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }],
            }),
        ).toEqual(['launch template lt: blockDeviceMappings[0] (/dev/xvda) must set ebs.encrypted: "true"']);
    });
});

describe("ec2-no-public-ip (mandatory)", () => {
    test("is mandatory", () => expect(noPublicInstances.enforcementLevel).toBe("mandatory"));

    test("passes a private instance and an Elastic IP for a NAT gateway", () => {
        expect(validate(noPublicInstances, TYPES.instance, "replica-1", replica())).toEqual([]);
        expect(validate(noPublicInstances, TYPES.eip, "nat", { domain: "vpc" })).toEqual([]);
    });

    test("fails associatePublicIpAddress: true", () => {
        expect(
            validate(
                noPublicInstances,
                TYPES.instance,
                "replica-1",
                replica({ associatePublicIpAddress: true }),
            ),
        ).toEqual([
            "instance replica-1 sets associatePublicIpAddress: true: database nodes live in private subnets and are reached through SSM",
        ]);
    });

    test("fails an instance that leaves it to the subnet", () => {
        const { associatePublicIpAddress: _, ...implicit } = replica();
        expect(validate(noPublicInstances, TYPES.instance, "replica-1", implicit)).toEqual([
            "instance replica-1 must set associatePublicIpAddress: false explicitly: left out, the subnet's mapPublicIpOnLaunch decides",
        ]);
    });

    test("fails an Elastic IP attached to an instance", () => {
        expect(
            validate(noPublicInstances, TYPES.eip, "ip", { domain: "vpc", instance: "i-0123abcd" }),
        ).toEqual(["Elastic IP ip is attached to an instance: database nodes have no public address"]);
        expect(
            validate(noPublicInstances, TYPES.eipAssociation, "assoc", {
                instanceId: "i-0123abcd",
                allocationId: "eipalloc-1",
            }),
        ).toHaveLength(1);
    });
});

describe("ec2-imdsv2-required (mandatory)", () => {
    test("is mandatory", () => expect(imdsV2Required.enforcementLevel).toBe("mandatory"));

    test('passes httpTokens "required" and a disabled metadata endpoint', () => {
        expect(validate(imdsV2Required, TYPES.instance, "replica-1", replica())).toEqual([]);
        expect(
            validate(imdsV2Required, TYPES.launchTemplate, "lt", {
                metadataOptions: { httpEndpoint: "disabled" },
            }),
        ).toEqual([]);
    });

    test('fails httpTokens "optional" and a missing metadataOptions', () => {
        expect(
            validate(
                imdsV2Required,
                TYPES.instance,
                "replica-1",
                replica({ metadataOptions: { httpTokens: "optional" } }),
            ),
        ).toEqual([
            'instance replica-1: metadataOptions.httpTokens must be "required" (IMDSv2 only), got "optional"',
        ]);
        expect(validate(imdsV2Required, TYPES.launchTemplate, "lt", {})).toEqual([
            'launch template lt: metadataOptions.httpTokens must be "required" (IMDSv2 only), got not set (the AMI\'s default may allow IMDSv1)',
        ]);
    });

    test("ignores other resource types", () => {
        expect(validate(imdsV2Required, TYPES.ebsVolume, "data", { encrypted: true })).toEqual([]);
    });
});
