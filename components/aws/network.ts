import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applicationRange, appCidrsWarning, publicSubnets, vpcLayout } from "./cidr";
import { clusterTags } from "./tags";

/** Where the nodes go: a VPC this program creates, or subnets of an existing one. */
export type VpcChoice =
    | {
          readonly kind: "new";
          /** CIDR of the new VPC (`pgha:awsVpcCidr`), /16 to /24. */
          readonly cidr: string;
          /** Availability zones to spread the private subnets over (`pgha:awsAvailabilityZones`). */
          readonly availabilityZones: number;
          /** `pgha:awsNatGateways`: one NAT gateway for the cluster, or one per zone. */
          readonly natGateways: NatGateways;
      }
    | {
          readonly kind: "existing";
          /** `pgha:awsVpcId`. */
          readonly vpcId: string;
          /** `pgha:awsSubnetIds`: private subnets that already have a route to the internet (NAT) or the VPC endpoints the nodes need. */
          readonly subnetIds: readonly string[];
          /** `pgha:awsS3EndpointRouteTableIds`: route tables to attach an S3 gateway endpoint to; empty adds none. */
          readonly s3EndpointRouteTableIds: readonly string[];
      };

/** `pgha:awsNatGateways`: `single` (one NAT gateway, in the first zone) or `perZone` (each zone's private subnet routes through its own). */
export type NatGateways = "single" | "perZone";

/** The warning an existing VPC without `pgha:awsS3EndpointRouteTableIds` gets: the stack cannot tell whether its S3 traffic crosses a NAT gateway. */
export const EXISTING_VPC_S3_WARNING =
    "pgha:awsVpcId: backups reach S3 through the route of pgha:awsSubnetIds; unless that VPC has an S3 gateway endpoint on their route tables, they cross its NAT gateway (paid per GB). Set pgha:awsS3EndpointRouteTableIds to those route tables to have this stack add one, or leave it empty if the VPC has one";

/**
 * The first `count` of the region's available zones.
 * @throws Error naming pgha:awsAvailabilityZones when the region has fewer.
 */
export function pickZones(available: readonly string[], count: number): string[] {
    if (available.length < count) {
        throw new Error(
            `pgha:awsAvailabilityZones is ${count}, but the region has ${available.length} available zones (${available.join(", ")}): lower it`,
        );
    }
    return available.slice(0, count);
}

/**
 * Checks an existing subnet given in pgha:awsSubnetIds against pgha:awsVpcId.
 * @returns a warning to log, if any.
 * @throws Error when the subnet is in another VPC.
 */
export function checkNodeSubnet(
    id: string,
    subnet: { vpcId: string; mapPublicIpOnLaunch: boolean },
    vpcId: string,
): string | undefined {
    if (subnet.vpcId !== vpcId) {
        throw new Error(`pgha:awsSubnetIds: ${id} is in ${subnet.vpcId}, not in pgha:awsVpcId ${vpcId}`);
    }
    return subnet.mapPublicIpOnLaunch
        ? `${id} assigns public IPs on launch; the nodes get none (they use their own network interfaces), but they need a private subnet with a NAT route`
        : undefined;
}

/** Options of {@link ClusterNetwork}. */
export interface ClusterNetworkArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    /** The AWS region (`aws:region`): the S3 endpoint's service is `com.amazonaws.<region>.s3`. */
    readonly region: string;
    readonly vpc: VpcChoice;
    /** `pgha:awsAppCidrs`, checked against the public subnets of a new VPC. */
    readonly appCidrs: readonly string[];
}

/**
 * What an application needs to place itself next to the cluster (the `awsNetwork` output): the VPC,
 * the nodes' private subnets and PgBouncer's security group, which the application's own stack
 * references (an egress rule to it, or an ingress rule on it from the application's group).
 */
export interface AppPlacement {
    readonly vpcId: string;
    /** The VPC's primary CIDR block. */
    readonly vpcCidr: string;
    /** The nodes' private subnets, in availability-zone order. */
    readonly privateSubnetIds: string[];
    /** Their availability zones, in the same order. */
    readonly availabilityZones: string[];
    /** The private subnets' route tables this stack created (NAT default route and S3 endpoint), zone order; empty for an existing VPC. */
    readonly privateRouteTableIds: string[];
    /** PgBouncer's security group: 6432 from `appCidrs` and `pgha:awsAppSecurityGroupIds`. */
    readonly pgbouncerSecurityGroupId: string;
    /** The CIDR blocks PgBouncer admits (`pgha:awsAppCidrs`). */
    readonly appCidrs: string[];
    /** The S3 gateway endpoint's id, when this stack created one. */
    readonly s3EndpointId?: string;
}

/** A subnet the nodes may be placed in. */
export interface NodeSubnet {
    readonly id: pulumi.Output<string>;
    readonly availabilityZone: pulumi.Output<string>;
}

/**
 * The cluster's network. With `kind: "new"`: a VPC, one private subnet per availability zone
 * (no public IP on launch, default route through a NAT gateway, which package installs and the
 * AWS APIs need: one for the cluster in the first zone, or one per zone with `natGateways:
 * "perZone"`, each zone's private route table using its own), the NAT gateways' public subnets
 * with an internet gateway, and an S3 gateway endpoint on every private route table, so backups
 * and WAL never cross a NAT gateway. With `kind: "existing"`: the given subnets are looked up for
 * their zones, and an S3 gateway endpoint is added only on the route tables given.
 */
export class ClusterNetwork extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    /** The VPC's primary CIDR block: the networks pg_hba.conf admits. */
    public readonly vpcCidr: pulumi.Output<string>;
    /** Node subnets, one per zone for a new VPC; their count is known before deployment. */
    public readonly nodeSubnets: NodeSubnet[];
    /** What the nodes' egress needs (the private subnets' routes through the NAT gateways, the S3 endpoint): nodes install packages at boot. */
    public readonly egress: pulumi.Resource[];
    /** The node subnets' route tables this stack created, in zone order (one shared with a single NAT gateway); empty for an existing VPC. */
    public readonly privateRouteTableIds: pulumi.Output<string>[];
    /** The S3 gateway endpoint, when one is created. */
    public readonly s3Endpoint?: aws.ec2.VpcEndpoint;

    constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:ClusterNetwork", name, {}, opts);
        const tags = (suffix: string) => clusterTags(args.clusterName, "network", suffix);
        const choice = args.vpc;
        if (choice.kind === "existing") {
            const vpc = aws.ec2.getVpcOutput({ id: choice.vpcId }, { parent: this });
            this.vpcId = pulumi.output(choice.vpcId);
            this.vpcCidr = vpc.cidrBlock;
            this.privateRouteTableIds = [];
            if (choice.s3EndpointRouteTableIds.length > 0) {
                this.s3Endpoint = this.s3GatewayEndpoint(name, args, choice.vpcId, [
                    ...choice.s3EndpointRouteTableIds,
                ]);
            } else {
                void pulumi.log.warn(EXISTING_VPC_S3_WARNING, this);
            }
            this.egress = this.s3Endpoint ? [this.s3Endpoint] : [];
            this.nodeSubnets = choice.subnetIds.map((id) => {
                const subnet = aws.ec2.getSubnetOutput({ id }, { parent: this });
                return {
                    id: subnet.id,
                    availabilityZone: subnet.apply((s) => {
                        const warning = this.check(() => checkNodeSubnet(id, s, choice.vpcId));
                        if (warning) void pulumi.log.warn(warning, this);
                        return s.availabilityZone;
                    }),
                };
            });
        } else {
            const layout = vpcLayout(choice.cidr, choice.availabilityZones);
            const zones = aws.getAvailabilityZonesOutput(
                { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
                { parent: this },
            );
            const picked = zones.names.apply((names) =>
                this.check(() => pickZones(names, choice.availabilityZones)),
            );
            const zone = (i: number) => picked.apply((names) => names[i]);

            const vpc = new aws.ec2.Vpc(
                `${name}-vpc`,
                {
                    cidrBlock: choice.cidr,
                    enableDnsSupport: true,
                    enableDnsHostnames: true,
                    tags: tags("vpc"),
                },
                { parent: this },
            );
            const privateSubnets = layout.private.map(
                (cidrBlock, i) =>
                    new aws.ec2.Subnet(
                        `${name}-private-${i + 1}`,
                        {
                            vpcId: vpc.id,
                            cidrBlock,
                            availabilityZone: zone(i),
                            mapPublicIpOnLaunch: false,
                            tags: tags(`private-${i + 1}`),
                        },
                        { parent: this },
                    ),
            );
            // Only NAT gateways live here; each has its own Elastic IP, so nothing is given a public IP on launch.
            // Zone 1's subnet, Elastic IP, NAT gateway and route table keep their names in both modes,
            // so switching to perZone adds the other zones' and moves their subnets, replacing nothing.
            const natCount = choice.natGateways === "perZone" ? choice.availabilityZones : 1;
            const appWarning = appCidrsWarning(args.appCidrs, publicSubnets(choice.cidr, natCount));
            if (appWarning) {
                void pulumi.log.warn(`${appWarning} (${applicationRange(choice.cidr)})`, this);
            }
            const suffix = (base: string, i: number) => (i === 0 ? base : `${base}-${i + 1}`);
            const publics = publicSubnets(choice.cidr, natCount).map(
                (cidrBlock, i) =>
                    new aws.ec2.Subnet(
                        suffix(`${name}-public`, i),
                        {
                            vpcId: vpc.id,
                            cidrBlock,
                            availabilityZone: zone(i),
                            mapPublicIpOnLaunch: false,
                            tags: tags(suffix("public", i)),
                        },
                        { parent: this },
                    ),
            );
            const gateway = new aws.ec2.InternetGateway(
                `${name}-igw`,
                { vpcId: vpc.id, tags: tags("igw") },
                { parent: this },
            );
            const publicRoutes = new aws.ec2.RouteTable(
                `${name}-public`,
                { vpcId: vpc.id, tags: tags("public") },
                { parent: this },
            );
            new aws.ec2.Route(
                `${name}-public-default`,
                { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: gateway.id },
                { parent: this },
            );
            publics.forEach(
                (subnet, i) =>
                    new aws.ec2.RouteTableAssociation(
                        suffix(`${name}-public`, i),
                        { subnetId: subnet.id, routeTableId: publicRoutes.id },
                        { parent: this },
                    ),
            );

            // By default one NAT gateway for the cluster: nodes need egress only to install packages and
            // call AWS APIs (S3 goes through the gateway endpoint), so a zone outage costs the other
            // zones' egress, not the database. perZone removes that, for one NAT gateway's cost per zone.
            const privateRouteTables = publics.map((subnet, i) => {
                const natIp = new aws.ec2.Eip(
                    suffix(`${name}-nat`, i),
                    { domain: "vpc", tags: tags(suffix("nat", i)) },
                    { parent: this },
                );
                const nat = new aws.ec2.NatGateway(
                    suffix(`${name}-nat`, i),
                    {
                        subnetId: subnet.id,
                        allocationId: natIp.id,
                        connectivityType: "public",
                        tags: tags(suffix("nat", i)),
                    },
                    { parent: this, dependsOn: [gateway] },
                );
                const table = new aws.ec2.RouteTable(
                    suffix(`${name}-private`, i),
                    { vpcId: vpc.id, tags: tags(suffix("private", i)) },
                    { parent: this },
                );
                const route = new aws.ec2.Route(
                    `${suffix(`${name}-private`, i)}-default`,
                    { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
                    { parent: this },
                );
                return { table, route };
            });
            // Each zone's private subnet uses its zone's route table (the only one with a single NAT gateway).
            const tableOf = (i: number) => privateRouteTables[i % privateRouteTables.length].table;
            const associations = privateSubnets.map(
                (subnet, i) =>
                    new aws.ec2.RouteTableAssociation(
                        `${name}-private-${i + 1}`,
                        { subnetId: subnet.id, routeTableId: tableOf(i).id },
                        { parent: this },
                    ),
            );
            this.privateRouteTableIds = privateRouteTables.map((r) => r.table.id);
            this.s3Endpoint = this.s3GatewayEndpoint(name, args, vpc.id, this.privateRouteTableIds);
            this.egress = [...privateRouteTables.map((r) => r.route), ...associations, this.s3Endpoint];

            this.vpcId = vpc.id;
            this.vpcCidr = vpc.cidrBlock;
            this.nodeSubnets = privateSubnets.map((s) => ({
                id: s.id,
                availabilityZone: s.availabilityZone,
            }));
        }
        this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr });
    }

    /**
     * An S3 gateway endpoint on `routeTableIds`: S3 traffic of the region takes it instead of the
     * default route (the prefix list's route is more specific), for free, with the same IAM
     * permissions (the bucket policy restricts no source). Its policy is the default full access:
     * the node role's policy is what limits the nodes to their bucket and prefix.
     */
    private s3GatewayEndpoint(
        name: string,
        args: ClusterNetworkArgs,
        vpcId: pulumi.Input<string>,
        routeTableIds: pulumi.Input<string>[],
    ): aws.ec2.VpcEndpoint {
        return new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId,
                serviceName: `com.amazonaws.${args.region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds,
                tags: clusterTags(args.clusterName, "network", "s3"),
            },
            { parent: this },
        );
    }

    /** Runs a check inside an output; its error fails the deployment, attributed to this component. */
    private check<T>(fn: () => T): T {
        try {
            return fn();
        } catch (e) {
            throw new pulumi.ResourceError((e as Error).message, this);
        }
    }
}
