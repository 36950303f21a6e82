/**
 * The prod stack's network under mocks (the real index.ts): the S3 gateway endpoint that keeps
 * backups off the NAT gateway, one NAT gateway per zone (`pgha:awsNatGateways: perZone`), the
 * `awsNetwork` output an application places itself with, and the config keys refused before any
 * resource is declared.
 */
import {
    applicationRange,
    appCidrsWarning,
    EXISTING_VPC_S3_WARNING,
    publicSubnets,
} from "../../components/aws";
import { RecordedResource, runProgram } from "./support/programMocks";
import { defaultAwsNetwork, named, ofType, prod } from "./support/prodRun";

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    eip: "aws:ec2/eip:Eip",
    nat: "aws:ec2/natGateway:NatGateway",
    routeTable: "aws:ec2/routeTable:RouteTable",
    route: "aws:ec2/route:Route",
    rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
} as const;

const byId = (resources: RecordedResource[], type: string, id: string) => {
    const found = resources.find((r) => r.type === type && r.id === id);
    if (!found) throw new Error(`no ${type} with id ${id}`);
    return found;
};
const networkTags = (suffix: string) => ({
    Name: `pgha-prod-${suffix}`,
    "pgha:cluster": "pgha-prod",
    "pgha:role": "network",
    "pgha:stack": "prod",
});

/** The warnings a fresh run logs (pulumi.log.warn writes to console.warn without an engine). */
async function warningsOf(overrides: Record<string, unknown>): Promise<string[]> {
    const spy = jest.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
        await runProgram("prod", overrides);
        return spy.mock.calls.map((c) => String(c[0]));
    } finally {
        spy.mockRestore();
    }
}

/** A run that must fail: its error, with what was declared before it. */
const fail = (overrides: Record<string, unknown>) =>
    runProgram("prod", overrides).then(
        () => {
            throw new Error(`the run with ${JSON.stringify(overrides)} succeeded`);
        },
        (e: Error & { resources?: RecordedResource[] }) => e,
    );

jest.setTimeout(60_000);

describe("prod stack network: S3 endpoint, NAT gateways, placement outputs", () => {
    test("an S3 gateway endpoint of the region on exactly the private route table, not the public one", async () => {
        const { resources } = await prod();
        const endpoints = ofType(resources, T.endpoint);
        expect(endpoints.map((e) => e.name)).toEqual(["pgha-prod-network-s3"]);
        expect(endpoints[0].inputs).toEqual({
            vpcId: named(resources, T.vpc, "pgha-prod-network-vpc").id,
            serviceName: "com.amazonaws.eu-west-1.s3",
            vpcEndpointType: "Gateway",
            routeTableIds: [named(resources, T.routeTable, "pgha-prod-network-private").id],
            tags: networkTags("s3"),
        });
        // Every private subnet uses that route table, so every node's S3 traffic takes the endpoint.
        const privateTables = ofType(resources, T.rta)
            .filter((a) => byId(resources, T.subnet, a.inputs.subnetId).name.includes("-private-"))
            .map((a) => a.inputs.routeTableId);
        expect(privateTables).toEqual(Array(3).fill(endpoints[0].inputs.routeTableIds[0]));
    });

    test.each([3, 2])(
        "perZone with %i zones: one NAT gateway per zone, each zone's private route table through its own",
        async (zones) => {
            const { resources, outputs } = await prod({
                awsNatGateways: "perZone",
                awsAvailabilityZones: zones,
            });
            const suffix = (base: string, i: number) => (i === 0 ? base : `${base}-${i + 1}`);
            const zoneNames = ["eu-west-1a", "eu-west-1b", "eu-west-1c"].slice(0, zones);
            expect(ofType(resources, T.nat).map((n) => n.name)).toEqual(
                zoneNames.map((_, i) => suffix("pgha-prod-network-nat", i)),
            );
            expect(ofType(resources, T.eip).map((n) => n.name)).toEqual(
                zoneNames.map((_, i) => suffix("pgha-prod-network-nat", i)),
            );
            // Public subnets from the top block down, one per zone.
            expect(
                ofType(resources, T.subnet)
                    .filter((s) => s.name.includes("-public"))
                    .map((s) => [s.name, s.inputs.cidrBlock, s.inputs.availabilityZone]),
            ).toEqual(
                [
                    ["pgha-prod-network-public", "10.42.240.0/20", "eu-west-1a"],
                    ["pgha-prod-network-public-2", "10.42.224.0/20", "eu-west-1b"],
                    ["pgha-prod-network-public-3", "10.42.208.0/20", "eu-west-1c"],
                ].slice(0, zones),
            );
            // Each NAT gateway sits in its zone's public subnet with its own Elastic IP.
            for (const nat of ofType(resources, T.nat)) {
                expect([nat.name, byId(resources, T.eip, nat.inputs.allocationId).name]).toEqual([
                    nat.name,
                    nat.name,
                ]);
            }
            const natZone = (natId: string) =>
                byId(resources, T.subnet, byId(resources, T.nat, natId).inputs.subnetId).inputs
                    .availabilityZone;
            // Each private subnet: its route table, that table's default route, and the NAT gateway's zone.
            const privateRoutes = ofType(resources, T.rta)
                .filter((a) => byId(resources, T.subnet, a.inputs.subnetId).name.includes("-private-"))
                .map((a) => {
                    const subnet = byId(resources, T.subnet, a.inputs.subnetId);
                    const routes = ofType(resources, T.route).filter(
                        (r) => r.inputs.routeTableId === a.inputs.routeTableId,
                    );
                    return [
                        subnet.name,
                        subnet.inputs.availabilityZone,
                        byId(resources, T.routeTable, a.inputs.routeTableId).name,
                        routes.map((r) => [
                            r.inputs.destinationCidrBlock,
                            byId(resources, T.nat, r.inputs.natGatewayId).name,
                        ]),
                        routes.map((r) => natZone(r.inputs.natGatewayId)),
                    ];
                });
            expect(privateRoutes).toEqual(
                zoneNames.map((z, i) => [
                    `pgha-prod-network-private-${i + 1}`,
                    z,
                    suffix("pgha-prod-network-private", i),
                    [["0.0.0.0/0", suffix("pgha-prod-network-nat", i)]],
                    [z],
                ]),
            );
            // Every public subnet routes through the one internet gateway's route table.
            expect(
                ofType(resources, T.rta)
                    .filter((a) => byId(resources, T.subnet, a.inputs.subnetId).name.includes("-public"))
                    .map((a) => byId(resources, T.routeTable, a.inputs.routeTableId).name),
            ).toEqual(Array(zones).fill("pgha-prod-network-public"));
            const privateTableIds = zoneNames.map(
                (_, i) => named(resources, T.routeTable, suffix("pgha-prod-network-private", i)).id,
            );
            expect(ofType(resources, T.routeTable)).toHaveLength(zones + 1);
            expect(named(resources, T.endpoint, "pgha-prod-network-s3").inputs.routeTableIds).toEqual(
                privateTableIds,
            );
            expect(
                (outputs.awsNetwork.value as { privateRouteTableIds: string[] }).privateRouteTableIds,
            ).toEqual(privateTableIds);
        },
    );

    test("switching to perZone keeps zone 1's public subnet, Elastic IP, NAT gateway and route table as they were", async () => {
        const single = await prod();
        const perZone = await prod({ awsNatGateways: "perZone" });
        const inputsOf = (run: { resources: RecordedResource[] }, type: string, name: string) =>
            JSON.stringify(named(run.resources, type, name).inputs);
        for (const [type, name] of [
            [T.subnet, "pgha-prod-network-public"],
            [T.eip, "pgha-prod-network-nat"],
            [T.nat, "pgha-prod-network-nat"],
            [T.routeTable, "pgha-prod-network-private"],
            [T.route, "pgha-prod-network-private-default"],
            [T.rta, "pgha-prod-network-private-1"],
        ] as const) {
            expect([name, inputsOf(perZone, type, name)]).toEqual([name, inputsOf(single, type, name)]);
        }
    });

    test("awsNetwork: the VPC, the private subnets in zone order and PgBouncer's security group to reference", async () => {
        const { resources, outputs } = await prod();
        expect(outputs.awsNetwork).toEqual({
            secret: false,
            value: defaultAwsNetwork(resources),
        });
        const value = outputs.awsNetwork.value as Record<string, unknown>;
        expect(value.vpcId).toMatch(/^vpc-0[0-9a-f]{16}$/);
        expect(value.pgbouncerSecurityGroupId).toMatch(/^sg-0[0-9a-f]{16}$/);
    });

    test("an existing VPC: an S3 gateway endpoint only on the route tables given, the given subnets exported", async () => {
        const existing = {
            awsVpcId: "vpc-0feed",
            awsSubnetIds: ["subnet-0a1", "subnet-0b1", "subnet-0c1"],
        };
        const withTables = await prod({ ...existing, awsS3EndpointRouteTableIds: ["rtb-0a1", "rtb-0b1"] });
        expect(ofType(withTables.resources, T.endpoint).map((e) => e.inputs)).toEqual([
            {
                vpcId: "vpc-0feed",
                serviceName: "com.amazonaws.eu-west-1.s3",
                vpcEndpointType: "Gateway",
                routeTableIds: ["rtb-0a1", "rtb-0b1"],
                tags: networkTags("s3"),
            },
        ]);
        expect(withTables.outputs.awsNetwork.value).toEqual({
            vpcId: "vpc-0feed",
            vpcCidr: "10.8.0.0/16",
            privateSubnetIds: ["subnet-0a1", "subnet-0b1", "subnet-0c1"],
            availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            privateRouteTableIds: [],
            pgbouncerSecurityGroupId: named(withTables.resources, T.sg, "pgha-prod-sg-pgbouncer").id,
            appCidrs: ["10.42.128.0/19"],
            s3EndpointId: named(withTables.resources, T.endpoint, "pgha-prod-network-s3").id,
        });
        // Without them: no endpoint (the VPC may have one: a second on the same table fails), and a warning saying so.
        const without = await prod(existing);
        expect(ofType(without.resources, T.endpoint)).toEqual([]);
        expect((without.outputs.awsNetwork.value as Record<string, unknown>).s3EndpointId).toBeUndefined();
        expect(await warningsOf(existing)).toContain(`warning: [runtime] ${EXISTING_VPC_S3_WARNING}`);
        expect(await warningsOf({ ...existing, awsS3EndpointRouteTableIds: ["rtb-0a1"] })).not.toContain(
            `warning: [runtime] ${EXISTING_VPC_S3_WARNING}`,
        );
    });

    test("pgha:awsAppCidrs over the NAT gateways' public subnet (the whole VPC) is warned about, the free range is not", async () => {
        const expected =
            "warning: [runtime] pgha:awsAppCidrs 10.42.0.0/16 overlaps the NAT gateways' public subnet (10.42.240.0/20), where no application belongs: list the application's own subnets, e.g. in the range the stack leaves free for them (10.42.128.0/19)";
        expect(await warningsOf({ awsAppCidrs: ["10.42.0.0/16"] })).toContain(expected);
        expect((await warningsOf({})).filter((w) => w.includes("pgha:awsAppCidrs"))).toEqual([]);
        expect(appCidrsWarning(["10.42.208.0/20"], publicSubnets("10.42.0.0/16", 3))).toContain(
            "overlaps the NAT gateways' public subnets (10.42.240.0/20, 10.42.224.0/20, 10.42.208.0/20)",
        );
        expect(
            appCidrsWarning(["10.42.128.0/19", "10.42.0.0/20"], publicSubnets("10.42.0.0/16", 6)),
        ).toBeUndefined();
    });

    test("the layout: public subnets from the top block down, the application's range never used by the stack", () => {
        expect(publicSubnets("10.42.0.0/16", 1)).toEqual(["10.42.240.0/20"]);
        expect(publicSubnets("10.42.0.0/16", 6)).toEqual([
            "10.42.240.0/20",
            "10.42.224.0/20",
            "10.42.208.0/20",
            "10.42.192.0/20",
            "10.42.176.0/20",
            "10.42.160.0/20",
        ]);
        expect(publicSubnets("192.168.8.0/24", 2)).toEqual(["192.168.8.240/28", "192.168.8.224/28"]);
        expect(() => publicSubnets("10.42.0.0/16", 7)).toThrow("the VPC holds 1 to 6 public subnets, got 7");
        expect(applicationRange("10.42.0.0/16")).toBe("10.42.128.0/19");
        expect(applicationRange("192.168.8.0/24")).toBe("192.168.8.128/27");
    });

    test.each([
        [
            { awsNatGateways: "perzone" },
            'pgha:awsNatGateways must be one of "single", "perZone", got "perzone"',
        ],
        [{ awsNatGateways: 3 }, 'pgha:awsNatGateways must be one of "single", "perZone", got 3'],
        [
            { awsNatGateways: "perZone", awsVpcId: "vpc-0feed", awsSubnetIds: ["subnet-0a1", "subnet-0b1"] },
            "pgha:awsNatGateways is for the VPC this program creates",
        ],
        [
            { awsS3EndpointRouteTableIds: ["rtb-0a1"] },
            "pgha:awsS3EndpointRouteTableIds is for an existing VPC (pgha:awsVpcId)",
        ],
        [
            {
                awsVpcId: "vpc-0feed",
                awsSubnetIds: ["subnet-0a1", "subnet-0b1"],
                awsS3EndpointRouteTableIds: ["route-1"],
            },
            'pgha:awsS3EndpointRouteTableIds entries must look like rtb-0123abcd, got "route-1"',
        ],
    ])("%j is refused before any resource: %s", async (overrides, message) => {
        const error = await fail(overrides);
        expect(error.message).toContain("Invalid stack configuration");
        expect(error.message).toContain(message);
        expect(error.resources).toEqual([]);
    });
});
