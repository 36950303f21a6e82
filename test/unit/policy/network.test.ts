import { UnknownValueError } from "@pulumi/policy";
import { databasePortsIn, dockerDatabasePortsLocal, noPublicDatabasePorts } from "../../../policy/network";
import { TYPES } from "../../../policy/types";
import { UNKNOWN_STRING, validate } from "./policyArgs";

const tags = {
    Name: "pgha-prod-pgbouncer",
    "pgha:cluster": "pgha-prod",
    "pgha:role": "security",
    "pgha:stack": "prod",
};

describe("no-public-database-ports (mandatory)", () => {
    test("is mandatory", () => expect(noPublicDatabasePorts.enforcementLevel).toBe("mandatory"));

    test.each([
        ["tcp", 6432, 6432, [6432]],
        ["tcp", 5000, 7000, [5432, 6432]],
        ["6", 5432, 5432, [5432]],
        ["-1", 0, 0, [5432, 6432]],
        ["all", undefined, undefined, [5432, 6432]],
        ["udp", 5432, 5432, []],
        ["tcp", 443, 443, []],
    ])("protocol %s ports %s-%s admit %j", (protocol, from, to, ports) => {
        expect(databasePortsIn(protocol, from, to)).toEqual(ports);
    });

    test("passes the rules the AWS cluster declares: 6432 from the application's network, 5432 from a security group", () => {
        expect(
            validate(
                noPublicDatabasePorts,
                TYPES.securityGroupIngressRule,
                "pgha-prod-sg-pgbouncer-from-cidr-1",
                {
                    ipProtocol: "tcp",
                    fromPort: 6432,
                    toPort: 6432,
                    cidrIpv4: "10.42.0.0/16",
                    securityGroupId: "sg-0123abcd",
                    tags,
                },
            ),
        ).toEqual([]);
        expect(
            validate(
                noPublicDatabasePorts,
                TYPES.securityGroupIngressRule,
                "pgha-prod-sg-postgres-from-pgbouncer",
                {
                    ipProtocol: "tcp",
                    fromPort: 5432,
                    toPort: 5432,
                    referencedSecurityGroupId: "sg-0456cdef",
                    securityGroupId: "sg-0123abcd",
                    tags,
                },
            ),
        ).toEqual([]);
    });

    test("passes HTTPS open to the internet and an egress rule: neither is a database port coming in", () => {
        expect(
            validate(noPublicDatabasePorts, TYPES.securityGroup, "web", {
                ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
            }),
        ).toEqual([]);
        expect(
            validate(noPublicDatabasePorts, TYPES.securityGroupRule, "out", {
                type: "egress",
                protocol: "-1",
                fromPort: 0,
                toPort: 0,
                cidrBlocks: ["0.0.0.0/0"],
                securityGroupId: "sg-1",
            }),
        ).toEqual([]);
    });

    test("fails a security group whose inline ingress opens 5432 to 0.0.0.0/0", () => {
        expect(
            validate(noPublicDatabasePorts, TYPES.securityGroup, "pgha-prod-sg-postgres", {
                vpcId: "vpc-0123abcd",
                ingress: [
                    { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] },
                    {
                        protocol: "tcp",
                        fromPort: 5432,
                        toPort: 5432,
                        cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"],
                    },
                ],
            }),
        ).toEqual([
            "security group pgha-prod-sg-postgres ingress[1] opens port 5432 to 0.0.0.0/0: the database is never reachable from the internet: " +
                "admit only the application's networks or security groups (pgha:awsAppCidrs, pgha:awsAppSecurityGroupIds)",
        ]);
    });

    test("fails a security group that opens 6432 to the internet in two halves", () => {
        expect(
            validate(noPublicDatabasePorts, TYPES.securityGroup, "pgha-prod-sg-pgbouncer", {
                vpcId: "vpc-0123abcd",
                ingress: [
                    {
                        protocol: "tcp",
                        fromPort: 6432,
                        toPort: 6432,
                        cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"],
                    },
                    { protocol: "tcp", fromPort: 6432, toPort: 6432, cidrBlocks: ["10.0.0.0/8"] },
                ],
            }),
        ).toEqual([
            "security group pgha-prod-sg-pgbouncer ingress[0] opens port 6432 to 0.0.0.0/1 and 128.0.0.0/1: the database is never reachable from the internet: " +
                "admit only the application's networks or security groups (pgha:awsAppCidrs, pgha:awsAppSecurityGroupIds)",
        ]);
    });

    test("fails an all-protocols ingress rule from ::/0, naming both ports", () => {
        const [message] = validate(noPublicDatabasePorts, TYPES.securityGroupIngressRule, "anything", {
            ipProtocol: "-1",
            cidrIpv6: "::/0",
            securityGroupId: "sg-1",
        });
        expect(message).toMatch(
            /^ingress rule anything opens port 5432 and 6432 to ::\/0: the database is never reachable from the internet/,
        );
    });

    test("fails a SecurityGroupRule whose port range covers PgBouncer, IPv4 and IPv6", () => {
        expect(
            validate(noPublicDatabasePorts, TYPES.securityGroupRule, "range", {
                type: "ingress",
                protocol: "tcp",
                fromPort: 6000,
                toPort: 7000,
                cidrBlocks: ["0.0.0.0/0"],
                ipv6CidrBlocks: ["::/0"],
                securityGroupId: "sg-1",
            }),
        ).toEqual([
            expect.stringMatching(/^security group rule range opens port 6432 to 0\.0\.0\.0\/0 and ::\/0: /),
        ]);
    });

    test("a CIDR unknown during preview stops the check for that resource (the SDK reports it, up checks again)", () => {
        expect(() =>
            validate(noPublicDatabasePorts, TYPES.securityGroupIngressRule, "later", {
                ipProtocol: "tcp",
                fromPort: 6432,
                toPort: 6432,
                cidrIpv4: UNKNOWN_STRING,
            }),
        ).toThrow(UnknownValueError);
    });
});

describe("docker-database-ports-local (advisory)", () => {
    const container = (name: string, ports: unknown[]) => ({ name, image: "sha256:abc", ports, envs: [] });

    test("is only advisory: the dev stack may publish on 0.0.0.0 on purpose", () =>
        expect(dockerDatabasePortsLocal.enforcementLevel).toBe("advisory"));

    test("passes ports published on 127.0.0.1 (the default pgha:bindAddress)", () => {
        expect(
            validate(
                dockerDatabasePortsLocal,
                TYPES.dockerContainer,
                "primary",
                container("pgha-dev-primary", [
                    { internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" },
                ]),
            ),
        ).toEqual([]);
    });

    test("warns about a replica's 5432 published on 0.0.0.0 and about PgBouncer with no ip (Docker's default is every interface)", () => {
        expect(
            validate(
                dockerDatabasePortsLocal,
                TYPES.dockerContainer,
                "replica-1",
                container("pgha-dev-replica-1", [
                    { internal: 5432, external: 5433, ip: "0.0.0.0", protocol: "tcp" },
                ]),
            ),
        ).toEqual([
            "container pgha-dev-replica-1 publishes port 5432 as 5433 on 0.0.0.0 (every interface of the Docker host): keep pgha:bindAddress at 127.0.0.1 unless this stack must be reached from other machines",
        ]);
        expect(
            validate(
                dockerDatabasePortsLocal,
                TYPES.dockerContainer,
                "pgbouncer",
                container("pgha-dev-pgbouncer", [{ internal: 6432, external: 6432 }]),
            ),
        ).toEqual([
            expect.stringMatching(
                /^container pgha-dev-pgbouncer publishes port 6432 as 6432 on 0\.0\.0\.0 \(every interface/,
            ),
        ]);
    });

    test("ignores other resource types", () => {
        expect(
            validate(dockerDatabasePortsLocal, TYPES.securityGroup, "sg", { ports: [{ internal: 5432 }] }),
        ).toEqual([]);
    });
});
