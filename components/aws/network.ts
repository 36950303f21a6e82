import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { vpcLayout } from "./cidr";
import { clusterTags } from "./tags";

/** Where the nodes go: a VPC this program creates, or subnets of an existing one. */
export type VpcChoice =
    | {
          readonly kind: "new";
          /** CIDR of the new VPC (`pgha:awsVpcCidr`), /16 to /24. */
          readonly cidr: string;
          /** Availability zones to spread the private subnets over (`pgha:awsAvailabilityZones`). */
          readonly availabilityZones: number;
      }
    | {
          readonly kind: "existing";
          /** `pgha:awsVpcId`. */
          readonly vpcId: string;
          /** `pgha:awsSubnetIds`: private subnets that already have a route to the internet (NAT) or the VPC endpoints the nodes need. */
          readonly subnetIds: readonly string[];
      };

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
    readonly vpc: VpcChoice;
}

/** A subnet the nodes may be placed in. */
export interface NodeSubnet {
    readonly id: pulumi.Output<string>;
    readonly availabilityZone: pulumi.Output<string>;
}

/**
 * The cluster's network. With `kind: "new"`: a VPC, one private subnet per availability zone
 * (no public IP on launch, default route through one NAT gateway, which package installs and the
 * AWS APIs need), and the NAT gateway's public subnet with an internet gateway. With
 * `kind: "existing"`: nothing is created; the given subnets are looked up for their zones.
 */
export class ClusterNetwork extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    /** The VPC's primary CIDR block: the networks pg_hba.conf admits. */
    public readonly vpcCidr: pulumi.Output<string>;
    /** Node subnets, one per zone for a new VPC; their count is known before deployment. */
    public readonly nodeSubnets: NodeSubnet[];
    /** What the nodes' egress needs (the private subnets' route through the NAT gateway): nodes install packages at boot. */
    public readonly egress: pulumi.Resource[];

    constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:ClusterNetwork", name, {}, opts);
        const tags = (suffix: string) => clusterTags(args.clusterName, "network", suffix);
        const choice = args.vpc;
        if (choice.kind === "existing") {
            const vpc = aws.ec2.getVpcOutput({ id: choice.vpcId }, { parent: this });
            this.vpcId = pulumi.output(choice.vpcId);
            this.egress = [];
            this.vpcCidr = vpc.cidrBlock;
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
            // Only the NAT gateway lives here; it has its own Elastic IP, so nothing is given a public IP on launch.
            const publicSubnet = new aws.ec2.Subnet(
                `${name}-public`,
                {
                    vpcId: vpc.id,
                    cidrBlock: layout.public,
                    availabilityZone: zone(0),
                    mapPublicIpOnLaunch: false,
                    tags: tags("public"),
                },
                { parent: this },
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
            new aws.ec2.RouteTableAssociation(
                `${name}-public`,
                { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
                { parent: this },
            );

            // One NAT gateway for the cluster: nodes need egress only to install packages and call
            // AWS APIs, so a zone outage costs egress, not the database. One per zone triples its cost.
            const natIp = new aws.ec2.Eip(
                `${name}-nat`,
                { domain: "vpc", tags: tags("nat") },
                { parent: this },
            );
            const nat = new aws.ec2.NatGateway(
                `${name}-nat`,
                {
                    subnetId: publicSubnet.id,
                    allocationId: natIp.id,
                    connectivityType: "public",
                    tags: tags("nat"),
                },
                { parent: this, dependsOn: [gateway] },
            );
            const privateRoutes = new aws.ec2.RouteTable(
                `${name}-private`,
                { vpcId: vpc.id, tags: tags("private") },
                { parent: this },
            );
            const natRoute = new aws.ec2.Route(
                `${name}-private-default`,
                { routeTableId: privateRoutes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
                { parent: this },
            );
            const associations = privateSubnets.map(
                (subnet, i) =>
                    new aws.ec2.RouteTableAssociation(
                        `${name}-private-${i + 1}`,
                        { subnetId: subnet.id, routeTableId: privateRoutes.id },
                        { parent: this },
                    ),
            );
            this.egress = [natRoute, ...associations];

            this.vpcId = vpc.id;
            this.vpcCidr = vpc.cidrBlock;
            this.nodeSubnets = privateSubnets.map((s) => ({
                id: s.id,
                availabilityZone: s.availabilityZone,
            }));
        }
        this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr });
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
