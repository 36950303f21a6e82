/**
 * prod-backups-skip-nat: an AWS stack that creates a NAT gateway and a backup bucket must create an
 * S3 gateway endpoint. Checked on hand-made stacks and on the real prod stack under mocks.
 */
import { prodBackupsSkipNat } from "../../../policy/prodStack";
import { TYPES } from "../../../policy/types";
import { prod } from "../support/prodRun";
import { RecordedResource } from "../support/programMocks";
import { StackResource, validateStack } from "./policyArgs";

const nat = (name: string): StackResource => ({
    type: TYPES.natGateway,
    name,
    props: { connectivityType: "public", subnetId: "subnet-0123" },
});
const bucket: StackResource = { type: TYPES.bucket, name: "pgha-prod-backups", props: {} };
const endpoint = (serviceName: string, vpcEndpointType: string): StackResource => ({
    type: TYPES.vpcEndpoint,
    name: "pgha-prod-network-s3",
    props: { serviceName, vpcEndpointType, vpcId: "vpc-0123", routeTableIds: ["rtb-0123"] },
});
/** What the program declared, as the policy sees it. */
const asStack = (resources: RecordedResource[]): StackResource[] =>
    resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, props: r.inputs }));

jest.setTimeout(60_000);

describe("prod-backups-skip-nat (mandatory)", () => {
    test("is mandatory", () => expect(prodBackupsSkipNat.enforcementLevel).toBe("mandatory"));

    test("passes a stack with an S3 gateway endpoint; refuses one without, or with only an interface endpoint or another service", () => {
        expect(
            validateStack(prodBackupsSkipNat, [
                nat("nat"),
                bucket,
                endpoint("com.amazonaws.eu-west-1.s3", "Gateway"),
            ]),
        ).toEqual({ violations: [] });
        const refused = {
            violations: [
                {
                    message:
                        "the AWS stack creates 2 NAT gateways and a backup bucket but no S3 gateway endpoint (com.amazonaws.<region>.s3, type Gateway): WAL and backups would cross the NAT gateway, paid per GB. Attach one to the private route tables (components/aws/network.ts does)",
                    urn: undefined,
                },
            ],
        };
        for (const other of [
            [],
            [endpoint("com.amazonaws.eu-west-1.s3", "Interface")],
            [endpoint("com.amazonaws.eu-west-1.dynamodb", "Gateway")],
        ]) {
            expect(validateStack(prodBackupsSkipNat, [nat("nat"), nat("nat-2"), bucket, ...other])).toEqual(
                refused,
            );
        }
    });

    test("does not apply without a NAT gateway of the stack's own (an existing VPC) or without a bucket, nor to Docker", () => {
        expect(validateStack(prodBackupsSkipNat, [bucket])).toEqual({
            notApplicable: expect.stringMatching(/^the stack creates no NAT gateway or no backup bucket/),
        });
        expect(validateStack(prodBackupsSkipNat, [nat("nat")])).toEqual({
            notApplicable: expect.stringMatching(/^the stack creates no NAT gateway or no backup bucket/),
        });
        expect(
            validateStack(prodBackupsSkipNat, [
                { type: TYPES.dockerContainer, name: "pgha-dev-primary", props: {} },
            ]),
        ).toEqual({ notApplicable: "not the AWS platform: the stack declares no aws: resources" });
    });

    test("the real prod stack passes with one NAT gateway and with one per zone, and fails without its endpoint", async () => {
        for (const overrides of [{}, { awsNatGateways: "perZone" }]) {
            const stack = asStack((await prod(overrides)).resources);
            expect(validateStack(prodBackupsSkipNat, stack)).toEqual({ violations: [] });
            expect(
                validateStack(
                    prodBackupsSkipNat,
                    stack.filter((r) => r.type !== TYPES.vpcEndpoint),
                ),
            ).toEqual({
                violations: [
                    expect.objectContaining({ message: expect.stringContaining("no S3 gateway endpoint") }),
                ],
            });
        }
    });
});
