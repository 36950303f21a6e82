/**
 * Network exposure of the database ports (5432 PostgreSQL, 6432 PgBouncer).
 */
import { DATABASE_PORTS, ResourcePolicy, TYPES } from "./types";
import { isInternet } from "./values";

/** The database ports a rule with this protocol and port range admits. */
export function databasePortsIn(protocol: unknown, fromPort: unknown, toPort: unknown): number[] {
    const p = String(protocol ?? "").toLowerCase();
    if (p === "-1" || p === "all") {
        return [...DATABASE_PORTS];
    }
    if (p !== "tcp" && p !== "6") {
        return [];
    }
    const from = typeof fromPort === "number" ? fromPort : 0;
    const to = typeof toPort === "number" ? toPort : 65535;
    return DATABASE_PORTS.filter((port) => port >= from && port <= to);
}

function cidrs(...lists: unknown[]): string[] {
    return lists
        .flatMap((l) => (Array.isArray(l) ? l : l === undefined || l === null ? [] : [l]))
        .filter(isInternet) as string[];
}

const FIX =
    "the database is never reachable from the internet: admit only the application's networks or security groups (pgha:awsAppCidrs, pgha:awsAppSecurityGroupIds)";

function describe(where: string, ports: number[], open: string[]): string {
    return `${where} opens port ${ports.join(" and ")} to ${open.join(" and ")}: ${FIX}`;
}

/**
 * The violations of one resource's inputs: ingress that admits 5432 or 6432 from `0.0.0.0/0` or
 * `::/0`, in an `aws.ec2.SecurityGroup`'s inline `ingress`, an `aws.vpc.SecurityGroupIngressRule`
 * or an `aws.ec2.SecurityGroupRule` of type ingress. Protocol `-1` admits every port.
 */
export function internetDatabaseIngress(type: string, name: string, props: Record<string, any>): string[] {
    const found: string[] = [];
    switch (type) {
        case TYPES.securityGroup: {
            const ingress: any[] = Array.isArray(props.ingress) ? props.ingress : [];
            ingress.forEach((rule, i) => {
                const ports = databasePortsIn(rule.protocol, rule.fromPort, rule.toPort);
                const open = ports.length ? cidrs(rule.cidrBlocks, rule.ipv6CidrBlocks) : [];
                if (open.length) found.push(describe(`security group ${name} ingress[${i}]`, ports, open));
            });
            break;
        }
        case TYPES.securityGroupIngressRule: {
            const ports = databasePortsIn(props.ipProtocol, props.fromPort, props.toPort);
            const open = ports.length ? cidrs(props.cidrIpv4, props.cidrIpv6) : [];
            if (open.length) found.push(describe(`ingress rule ${name}`, ports, open));
            break;
        }
        case TYPES.securityGroupRule: {
            if (props.type !== "ingress") break;
            const ports = databasePortsIn(props.protocol, props.fromPort, props.toPort);
            const open = ports.length ? cidrs(props.cidrBlocks, props.ipv6CidrBlocks) : [];
            if (open.length) found.push(describe(`security group rule ${name}`, ports, open));
            break;
        }
        default:
            break;
    }
    return found;
}

/** Mandatory: no security group rule admits 5432/6432 from the internet. */
export const noPublicDatabasePorts: ResourcePolicy = {
    name: "no-public-database-ports",
    description:
        "PostgreSQL (5432) and PgBouncer (6432) are never open to 0.0.0.0/0 or ::/0 in a security group.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of internetDatabaseIngress(args.type, args.name, args.props))
            reportViolation(message);
    },
};

/** Host addresses Docker treats as every interface (an empty or missing `ip` is 0.0.0.0). */
const ALL_INTERFACES = new Set(["", "0.0.0.0", "::", "[::]"]);

/**
 * The violations of a `docker.Container`'s inputs: a database port (5432/6432 inside the container,
 * or published as 5432/6432 on the host) published on every interface of the host.
 */
export function dockerDatabasePortsOnAllInterfaces(name: string, props: Record<string, any>): string[] {
    const ports: any[] = Array.isArray(props.ports) ? props.ports : [];
    const container = typeof props.name === "string" ? props.name : name;
    return ports
        .filter(
            (p) =>
                (DATABASE_PORTS.includes(p.internal) || DATABASE_PORTS.includes(p.external)) &&
                ALL_INTERFACES.has(String(p.ip ?? "")),
        )
        .map(
            (p) =>
                `container ${container} publishes port ${p.internal} as ${p.external ?? p.internal} on ${p.ip || "0.0.0.0"} (every interface of the Docker host): ` +
                "keep pgha:bindAddress at 127.0.0.1 unless this stack must be reached from other machines",
        );
}

/** Advisory: the dev stack may publish its ports on 0.0.0.0 on purpose (pgha:bindAddress), so this only warns. */
export const dockerDatabasePortsLocal: ResourcePolicy = {
    name: "docker-database-ports-local",
    description:
        "Docker containers publish 5432/6432 on 127.0.0.1, not on every interface (advisory: pgha:bindAddress may choose 0.0.0.0).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.dockerContainer) return;
        for (const message of dockerDatabasePortsOnAllInterfaces(args.name, args.props))
            reportViolation(message);
    },
};
