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
