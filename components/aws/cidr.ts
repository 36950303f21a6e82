/** IPv4 CIDR arithmetic for carving the cluster's VPC into subnets. Pure functions. */

/** A parsed IPv4 block. */
export interface Ipv4Block {
    /** Network address as an unsigned 32-bit integer. */
    readonly base: number;
    readonly prefix: number;
}

/** Parses `a.b.c.d/p`. @throws Error when it is not an IPv4 CIDR block or has host bits set. */
export function parseCidr(cidr: string): Ipv4Block {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    const octets = m ? m.slice(1, 5).map(Number) : [];
    const prefix = m ? Number(m[5]) : -1;
    if (!m || octets.some((o) => o > 255) || prefix > 32) {
        throw new Error(`${JSON.stringify(cidr)} is not an IPv4 CIDR block such as 10.42.0.0/16`);
    }
    const base = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (base % size !== 0) {
        throw new Error(
            `${cidr} has host bits set; the block starts at ${formatIpv4(base - (base % size))}/${prefix}`,
        );
    }
    return { base, prefix };
}

/** Formats an unsigned 32-bit address as dotted quad. */
export function formatIpv4(address: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

/** Bits added to the VPC prefix for each subnet: 16 subnets, a /20 each in a /16 VPC. */
export const SUBNET_NEWBITS = 4;

/** The subnets of the VPC this program creates: one private subnet per availability zone, and the NAT gateway's public one. */
export interface VpcLayout {
    /** Private node subnets, in availability-zone order. */
    readonly private: string[];
    /** The public subnet that holds only the NAT gateway: the last block, away from the private ones. */
    readonly public: string;
}

/**
 * Splits `vpcCidr` into 16 equal blocks: blocks 0..count-1 are the private subnets, block 15 the
 * public one. Blocks in between stay free for later use (more zones, endpoints).
 * @throws Error when the VPC is not a /16 to /24 block (AWS subnets are /28 at the smallest) or count is not 1 to 15.
 */
export function vpcLayout(vpcCidr: string, count: number): VpcLayout {
    const vpc = parseCidr(vpcCidr);
    if (vpc.prefix < 16 || vpc.prefix > 24) {
        throw new Error(
            `pgha:awsVpcCidr must be a /16 to /24 block (AWS allows /16 to /28 VPCs, and it is split in 16 subnets), got ${vpcCidr}`,
        );
    }
    if (!Number.isInteger(count) || count < 1 || count > 15) {
        throw new Error(`the VPC holds 1 to 15 private subnets, got ${count}`);
    }
    const prefix = vpc.prefix + SUBNET_NEWBITS;
    const block = (i: number) => `${formatIpv4(vpc.base + i * 2 ** (32 - prefix))}/${prefix}`;
    return {
        private: Array.from({ length: count }, (_, i) => block(i)),
        public: block(2 ** SUBNET_NEWBITS - 1),
    };
}

/** The most public subnets (one per NAT gateway, so per zone): blocks 15 down to 10, never the 6 private ones. */
const MAX_PUBLIC_SUBNETS = 6;

/**
 * The public subnets of the VPC this program creates, one per NAT gateway in zone order: block 15
 * (the single NAT gateway's, {@link VpcLayout.public}), then 14, 13 and so on down to block 10.
 * @throws Error when count is not 1 to 6.
 */
export function publicSubnets(vpcCidr: string, count: number): string[] {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PUBLIC_SUBNETS) {
        throw new Error(`the VPC holds 1 to ${MAX_PUBLIC_SUBNETS} public subnets, got ${count}`);
    }
    const vpc = parseCidr(vpcCidr);
    const prefix = vpc.prefix + SUBNET_NEWBITS;
    const last = 2 ** SUBNET_NEWBITS - 1;
    return Array.from(
        { length: count },
        (_, i) => `${formatIpv4(vpc.base + (last - i) * 2 ** (32 - prefix))}/${prefix}`,
    );
}

/**
 * A range of the VPC this program creates that it never uses, for the application's subnets: blocks
 * 8 and 9 of the 16 (the private subnets take blocks 0 to 5 at most, pgha:awsAvailabilityZones being
 * at most 6, and the public ones blocks 15 down to 10). `10.42.128.0/19` in `10.42.0.0/16`.
 */
export function applicationRange(vpcCidr: string): string {
    const vpc = parseCidr(vpcCidr);
    const blockSize = 2 ** (32 - vpc.prefix - SUBNET_NEWBITS);
    return `${formatIpv4(vpc.base + 8 * blockSize)}/${vpc.prefix + SUBNET_NEWBITS - 1}`;
}

/** Whether two IPv4 blocks share an address. */
export function overlaps(a: string, b: string): boolean {
    const [x, y] = [parseCidr(a), parseCidr(b)];
    const end = (c: Ipv4Block) => c.base + 2 ** (32 - c.prefix);
    return x.base < end(y) && y.base < end(x);
}

/**
 * The warning `pgha:awsAppCidrs` deserves in the VPC this program creates: a block that overlaps
 * the NAT gateways' public subnets (such as the whole VPC) admits what is placed there, where no
 * application belongs. Undefined when there is nothing to say.
 */
export function appCidrsWarning(
    appCidrs: readonly string[],
    publicBlocks: readonly string[],
): string | undefined {
    const bad = appCidrs.filter((c) => publicBlocks.some((p) => overlaps(c, p)));
    return bad.length === 0
        ? undefined
        : `pgha:awsAppCidrs ${bad.join(", ")} overlaps the NAT gateways' public subnet${publicBlocks.length > 1 ? "s" : ""} (${publicBlocks.join(", ")}), where no application belongs: list the application's own subnets, e.g. in the range the stack leaves free for them`;
}
