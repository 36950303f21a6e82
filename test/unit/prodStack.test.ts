/**
 * The prod stack (Pulumi.prod.yaml, platform aws) under mocks: the real index.ts, every resource it
 * declares, their exact inputs and counts. AWS is never called: the few lookups the program makes
 * (zones, AMI, existing VPC and subnets) are answered by programMocks.
 */
import { checkNodeSubnet, pickZones } from "../../components/aws";
import { deriveSalt, scramSha256Verifier } from "../../components/postgres/scram";
import { CREDENTIAL_NAMES } from "../../components/secrets/replicationSecrets";
import {
    isSecret,
    MOCK_AMIS,
    MOCK_SUBNETS,
    mockPassword,
    RecordedResource,
    runProgram,
} from "./support/programMocks";
import {
    defaultAwsNetwork,
    named,
    ofType,
    prod,
    secretValues,
    userData,
    writtenFile as writtenFileOrNone,
} from "./support/prodRun";

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    eip: "aws:ec2/eip:Eip",
    nat: "aws:ec2/natGateway:NatGateway",
    igw: "aws:ec2/internetGateway:InternetGateway",
    routeTable: "aws:ec2/routeTable:RouteTable",
    route: "aws:ec2/route:Route",
    rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    eni: "aws:ec2/networkInterface:NetworkInterface",
    instance: "aws:ec2/instance:Instance",
    volume: "aws:ebs/volume:Volume",
    attachment: "aws:ec2/volumeAttachment:VolumeAttachment",
    key: "aws:kms/key:Key",
    alias: "aws:kms/alias:Alias",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    profile: "aws:iam/instanceProfile:InstanceProfile",
    document: "aws:ssm/document:Document",
    association: "aws:ssm/association:Association",
    bucket: "aws:s3/bucket:Bucket",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
} as const;

/** Types AWS cannot tag; every other AWS resource must carry the cluster's tags. */
const UNTAGGABLE = new Set<string>([
    T.route,
    T.rta,
    T.attachment,
    T.alias,
    T.secretVersion,
    T.rolePolicy,
    T.rolePolicyAttachment,
    // The backup bucket's settings are sub-resources of the (tagged) bucket.
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
]);

const byId = (resources: RecordedResource[], type: string, id: string) => {
    const found = resources.find((r) => r.type === type && r.id === id);
    if (!found) throw new Error(`no ${type} with id ${id}`);
    return found;
};
const unwrap = (value: unknown): any => (isSecret(value) ? unwrap(value.value) : value);
/** A file the user data writes with a here-document; throws when it writes none there. */
const writtenFile = (script: string, path: string): string => {
    const content = writtenFileOrNone(script, path);
    if (content === undefined) throw new Error(`the script does not write ${path}`);
    return content;
};
const nodeNames = (replicas: number, colocated: boolean) => [
    "primary",
    ...Array.from({ length: replicas }, (_, i) => `replica-${i + 1}`),
    ...(colocated ? [] : ["pgbouncer"]),
];
/** The availability zone a node's network interface (and so its instance) is in. */
const zoneOf = (resources: RecordedResource[], node: string) => {
    const eni = named(resources, T.eni, `pgha-prod-${node}-eni`);
    return byId(resources, T.subnet, eni.inputs.subnetId).inputs.availabilityZone;
};
const portsCovered = (rule: RecordedResource) =>
    rule.inputs.ipProtocol === "-1" ? [0, 65535] : [rule.inputs.fromPort, rule.inputs.toPort];

/** A run loads @pulumi/aws afresh (isolated modules) and renders every node's user data: seconds, not milliseconds. */
jest.setTimeout(60_000);

describe("prod stack on AWS EC2", () => {
    test.each([
        [0, false],
        [1, false],
        [2, false],
        [5, false],
        [0, true],
        [2, true],
        [5, true],
    ])(
        "declares one instance per node for %i replicas (PgBouncer co-located: %s)",
        async (replicas, colocated) => {
            const { resources } = await prod({
                replicas,
                awsPgbouncerColocated: colocated,
                ...(replicas === 0 ? { synchronousMode: "off" } : {}),
            });
            const nodes = nodeNames(replicas, colocated);
            const postgresNodes = nodes.filter((n) => n !== "pgbouncer");
            expect(
                ofType(resources, T.instance)
                    .map((r) => r.name)
                    .sort(),
            ).toEqual(nodes.map((n) => `pgha-prod-${n}`).sort());
            expect(
                ofType(resources, T.eni)
                    .map((r) => r.name)
                    .sort(),
            ).toEqual(nodes.map((n) => `pgha-prod-${n}-eni`).sort());
            expect(
                ofType(resources, T.volume)
                    .map((r) => r.name)
                    .sort(),
            ).toEqual(postgresNodes.map((n) => `pgha-prod-${n}-data`).sort());
            expect(
                ofType(resources, T.attachment)
                    .map((r) => r.name)
                    .sort(),
            ).toEqual(postgresNodes.map((n) => `pgha-prod-${n}-data`).sort());
            // Shared parts do not grow with the cluster.
            for (const [type, count] of [
                [T.vpc, 1],
                [T.subnet, 4],
                [T.nat, 1],
                [T.eip, 1],
                [T.sg, 2],
                // The credentials' key and the backups' key (test/unit/prodBackups.test.ts covers the backups).
                [T.key, 2],
                [T.bucket, 1],
                [T.secret, 5],
                [T.secretVersion, 5],
                [T.role, 1],
                [T.rolePolicy, 2],
                [T.profile, 1],
                [T.document, 1],
                [T.association, 1],
            ] as const) {
                expect([type, ofType(resources, type)].map((x) => (Array.isArray(x) ? x.length : x))).toEqual(
                    [type, count],
                );
            }

            // Each instance runs exactly its roles, each as a systemd unit.
            for (const n of nodes) {
                const script = userData(named(resources, T.instance, `pgha-prod-${n}`));
                const role = n.startsWith("replica") ? "replica" : n;
                const units =
                    n === "primary" && colocated
                        ? "pgha-node@primary.service pgha-node@pgbouncer.service"
                        : `pgha-node@${role}.service`;
                expect([n, script]).toEqual([
                    n,
                    expect.stringContaining(`systemctl enable --now ${units}\n`),
                ]);
            }
            // PgBouncer's read-only entry lists exactly the replicas' addresses, its read-write one the primary's.
            const ips = Object.fromEntries(
                nodes.map((n) => [n, named(resources, T.eni, `pgha-prod-${n}-eni`).state.privateIp]),
            );
            const pgbouncerNode = colocated ? "primary" : "pgbouncer";
            const ini = writtenFile(
                userData(named(resources, T.instance, `pgha-prod-${pgbouncerNode}`)),
                colocated ? "/etc/pgha/pgbouncer/pgbouncer.ini" : "/etc/pgha/pgbouncer.ini",
            );
            const replicaIps = nodes.filter((n) => n.startsWith("replica")).map((n) => ips[n]);
            expect(ini).toContain("%include /run/pgha/pgbouncer-databases.ini\n");
            const pgbouncerEnv = writtenFile(
                userData(named(resources, T.instance, `pgha-prod-${pgbouncerNode}`)),
                colocated ? "/etc/pgha/pgbouncer/node.env" : "/etc/pgha/node.env",
            );
            expect(pgbouncerEnv).toContain(
                `PGHA_PRIMARY_HOST="${ips.primary}"\nPGHA_READ_HOSTS="${replicaIps.join(" ")}"\n`,
            );
            // The slot association is told exactly the replicas' slots.
            const association = ofType(resources, T.association)[0];
            expect(association.inputs.parameters).toEqual({
                expectedSlots:
                    replicas === 0
                        ? "none"
                        : Array.from({ length: replicas }, (_, i) => `pgha_replica_${i + 1}`).join(" "),
            });
            expect(association.inputs.targets).toEqual([
                { key: "InstanceIds", values: [named(resources, T.instance, "pgha-prod-primary").id] },
            ]);
        },
    );

    test("the VPC: private subnets in three zones, a NAT gateway in a public subnet, nothing public on launch", async () => {
        const { resources } = await prod();
        expect(named(resources, T.vpc, "pgha-prod-network-vpc").inputs).toMatchObject({
            cidrBlock: "10.42.0.0/16",
            enableDnsSupport: true,
            enableDnsHostnames: true,
        });
        const subnets = ofType(resources, T.subnet).map((s) => [
            s.name,
            s.inputs.cidrBlock,
            s.inputs.availabilityZone,
            s.inputs.mapPublicIpOnLaunch,
        ]);
        expect(subnets.sort()).toEqual(
            [
                ["pgha-prod-network-private-1", "10.42.0.0/20", "eu-west-1a", false],
                ["pgha-prod-network-private-2", "10.42.16.0/20", "eu-west-1b", false],
                ["pgha-prod-network-private-3", "10.42.32.0/20", "eu-west-1c", false],
                ["pgha-prod-network-public", "10.42.240.0/20", "eu-west-1a", false],
            ].sort(),
        );
        const id = (type: string, name: string) => named(resources, type, name).id;
        expect(named(resources, T.nat, "pgha-prod-network-nat").inputs).toMatchObject({
            subnetId: id(T.subnet, "pgha-prod-network-public"),
            allocationId: id(T.eip, "pgha-prod-network-nat"),
            connectivityType: "public",
        });
        // The private subnets route to the internet through the NAT gateway only; the public one through the internet gateway.
        const routes = ofType(resources, T.route).map((r) => [
            r.inputs.routeTableId,
            r.inputs.destinationCidrBlock,
            r.inputs.gatewayId ?? r.inputs.natGatewayId,
        ]);
        expect(routes.sort()).toEqual(
            [
                [
                    id(T.routeTable, "pgha-prod-network-private"),
                    "0.0.0.0/0",
                    id(T.nat, "pgha-prod-network-nat"),
                ],
                [
                    id(T.routeTable, "pgha-prod-network-public"),
                    "0.0.0.0/0",
                    id(T.igw, "pgha-prod-network-igw"),
                ],
            ].sort(),
        );
        const associations = ofType(resources, T.rta).map((a) => [
            byId(resources, T.subnet, a.inputs.subnetId).name,
            byId(resources, T.routeTable, a.inputs.routeTableId).name,
        ]);
        expect(associations.sort()).toEqual(
            [
                ["pgha-prod-network-private-1", "pgha-prod-network-private"],
                ["pgha-prod-network-private-2", "pgha-prod-network-private"],
                ["pgha-prod-network-private-3", "pgha-prod-network-private"],
                ["pgha-prod-network-public", "pgha-prod-network-public"],
            ].sort(),
        );
    });

    test("no public IP anywhere: every node has only its own network interface, in a private subnet", async () => {
        const { resources } = await prod();
        const privateSubnets = ofType(resources, T.subnet).filter((s) => s.name.includes("-private-"));
        for (const instance of ofType(resources, T.instance)) {
            // The instance's only interface is one created without a public IP (AWS assigns public
            // IPs only to interfaces it creates at launch, and the provider refuses
            // associatePublicIpAddress together with a primary network interface).
            expect([
                instance.name,
                instance.inputs.associatePublicIpAddress,
                instance.inputs.subnetId,
            ]).toEqual([instance.name, undefined, undefined]);
            const eni = byId(resources, T.eni, instance.inputs.primaryNetworkInterface.networkInterfaceId);
            expect(instance.inputs.primaryNetworkInterface).toEqual({ networkInterfaceId: eni.id });
            expect(privateSubnets.map((s) => s.id)).toContain(eni.inputs.subnetId);
            expect(byId(resources, T.subnet, eni.inputs.subnetId).inputs.mapPublicIpOnLaunch).toBe(false);
        }
        for (const subnet of ofType(resources, T.subnet)) {
            expect([subnet.name, subnet.inputs.mapPublicIpOnLaunch]).toEqual([subnet.name, false]);
        }
        // The only Elastic IP is the NAT gateway's; nothing associates one with a node.
        expect(
            ofType(resources, T.eip).map((e) => [
                e.name,
                e.inputs.domain,
                e.inputs.instance,
                e.inputs.networkInterface,
            ]),
        ).toEqual([["pgha-prod-network-nat", "vpc", undefined, undefined]]);
        expect(resources.filter((r) => r.type === "aws:ec2/eipAssociation:EipAssociation")).toEqual([]);
    });

    test("security groups: 5432 only inside the cluster, 6432 only from the application, no SSH, nothing from the internet", async () => {
        const { resources } = await prod({ awsAppSecurityGroupIds: ["sg-0a99"] });
        const sg = (name: string) => named(resources, T.sg, `pgha-prod-sg-${name}`).id;
        const vpcId = named(resources, T.vpc, "pgha-prod-network-vpc").id;
        for (const group of ofType(resources, T.sg)) {
            expect([group.name, group.inputs.vpcId, group.inputs.ingress, group.inputs.egress]).toEqual([
                group.name,
                vpcId,
                undefined,
                undefined,
            ]);
        }
        const rule = (r: RecordedResource) => [
            byId(resources, T.sg, r.inputs.securityGroupId).name.replace("pgha-prod-sg-", ""),
            r.inputs.ipProtocol,
            r.inputs.fromPort,
            r.inputs.toPort,
            r.inputs.cidrIpv4 ??
                (r.inputs.referencedSecurityGroupId === "sg-0a99"
                    ? "sg-0a99"
                    : byId(resources, T.sg, r.inputs.referencedSecurityGroupId).name.replace(
                          "pgha-prod-sg-",
                          "",
                      )),
        ];
        expect(ofType(resources, T.ingress).map(rule).sort()).toEqual(
            [
                ["postgres", "tcp", 5432, 5432, "postgres"],
                ["postgres", "tcp", 5432, 5432, "pgbouncer"],
                // Pulumi.prod.yaml: the range of the VPC the stack leaves to the application, not the whole VPC.
                ["pgbouncer", "tcp", 6432, 6432, "10.42.128.0/19"],
                ["pgbouncer", "tcp", 6432, 6432, "sg-0a99"],
            ].sort(),
        );
        expect(ofType(resources, T.egress).map(rule).sort()).toEqual(
            [
                ["postgres", "tcp", 5432, 5432, "postgres"],
                ["postgres", "tcp", 443, 443, "0.0.0.0/0"],
                ["postgres", "tcp", 80, 80, "0.0.0.0/0"],
                ["pgbouncer", "tcp", 5432, 5432, "postgres"],
                ["pgbouncer", "tcp", 443, 443, "0.0.0.0/0"],
                ["pgbouncer", "tcp", 80, 80, "0.0.0.0/0"],
            ].sort(),
        );
        for (const r of ofType(resources, T.ingress)) {
            const [from, to] = portsCovered(r);
            expect([r.name, from <= 22 && 22 <= to]).toEqual([r.name, false]);
            expect([
                r.name,
                r.inputs.cidrIpv4 === "0.0.0.0/0" ||
                    r.inputs.cidrIpv6 === "::/0" ||
                    r.inputs.cidrIpv6 !== undefined,
            ]).toEqual([r.name, false]);
        }
        // The nodes' interfaces: PostgreSQL nodes in `postgres`, PgBouncer in `pgbouncer` only.
        const groupsOf = (node: string) =>
            named(resources, T.eni, `pgha-prod-${node}-eni`).inputs.securityGroups;
        expect(groupsOf("primary")).toEqual([sg("postgres")]);
        expect(groupsOf("replica-1")).toEqual([sg("postgres")]);
        expect(groupsOf("pgbouncer")).toEqual([sg("pgbouncer")]);
        const colocated = await prod({ awsPgbouncerColocated: true });
        expect(named(colocated.resources, T.eni, "pgha-prod-primary-eni").inputs.securityGroups).toEqual([
            named(colocated.resources, T.sg, "pgha-prod-sg-postgres").id,
            named(colocated.resources, T.sg, "pgha-prod-sg-pgbouncer").id,
        ]);
    });

    test("instances: IMDSv2 only, encrypted gp3 root and data volumes, the instance profile, the Debian AMI, no SSH key", async () => {
        const { resources } = await prod();
        const profile = named(resources, T.profile, "pgha-prod-node");
        const types: Record<string, string> = {
            primary: "m7i.large",
            "replica-1": "m7i.large",
            "replica-2": "m7i.large",
            pgbouncer: "t3.small",
        };
        for (const [node, instanceType] of Object.entries(types)) {
            const instance = named(resources, T.instance, `pgha-prod-${node}`);
            const role = node.startsWith("replica") ? "replica" : node;
            expect(instance.inputs).toEqual({
                ami: MOCK_AMIS.amd64,
                instanceType,
                primaryNetworkInterface: {
                    networkInterfaceId: named(resources, T.eni, `pgha-prod-${node}-eni`).id,
                },
                iamInstanceProfile: profile.state.name,
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    httpPutResponseHopLimit: 1,
                    instanceMetadataTags: "disabled",
                },
                rootBlockDevice: {
                    volumeType: "gp3",
                    volumeSize: 20,
                    encrypted: true,
                    deleteOnTermination: true,
                    tags: {
                        Name: `pgha-prod-${node}-root`,
                        "pgha:cluster": "pgha-prod",
                        "pgha:role": role,
                        "pgha:stack": "prod",
                    },
                },
                userDataBase64: expect.any(String),
                userDataReplaceOnChange: true,
                tags: {
                    Name: `pgha-prod-${node}`,
                    "pgha:cluster": "pgha-prod",
                    "pgha:role": role,
                    "pgha:stack": "prod",
                },
            });
            expect(instance.inputs.keyName).toBeUndefined();
        }
        for (const volume of ofType(resources, T.volume)) {
            const node = volume.name.replace(/^pgha-prod-|-data$/g, "");
            expect(volume.inputs).toEqual({
                availabilityZone: zoneOf(resources, node),
                size: 100,
                type: "gp3",
                encrypted: true,
                finalSnapshot: true,
                tags: {
                    Name: `pgha-prod-${node}-data`,
                    "pgha:cluster": "pgha-prod",
                    "pgha:role": node.startsWith("replica") ? "replica" : node,
                    "pgha:stack": "prod",
                },
            });
            const attachment = named(resources, T.attachment, `pgha-prod-${node}-data`);
            expect(attachment.inputs).toEqual({
                instanceId: named(resources, T.instance, `pgha-prod-${node}`).id,
                volumeId: volume.id,
                deviceName: "/dev/sdf",
                stopInstanceBeforeDetaching: true,
            });
            // The user data mounts exactly this volume, found by its id.
            expect(userData(named(resources, T.instance, `pgha-prod-${node}`))).toContain(
                `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume.id!.replace("-", "")} /var/lib/postgresql ext4 `,
            );
        }
        // Every EBS volume there is: the data volumes and the roots, all encrypted.
        const ebs = [
            ...ofType(resources, T.volume).map((v) => v.inputs),
            ...ofType(resources, T.instance).map((i) => i.inputs.rootBlockDevice),
        ];
        expect(ebs).toHaveLength(7);
        expect(ebs.every((v) => v.encrypted === true)).toBe(true);
        expect(ofType(resources, T.instance).some((i) => i.inputs.ebsBlockDevices !== undefined)).toBe(false);
    });

    test("instance types and the data volume size follow the config; Graviton types get the arm64 image; a pinned AMI is used as is", async () => {
        const { resources } = await prod({
            awsPrimaryInstanceType: "r7g.xlarge",
            awsReplicaInstanceType: "r7i.large",
            awsPgbouncerInstanceType: "t4g.small",
            awsDataVolumeSizeGb: 500,
        });
        const inst = (n: string) => named(resources, T.instance, `pgha-prod-${n}`).inputs;
        expect([inst("primary").instanceType, inst("primary").ami]).toEqual(["r7g.xlarge", MOCK_AMIS.arm64]);
        expect([inst("replica-1").instanceType, inst("replica-1").ami]).toEqual([
            "r7i.large",
            MOCK_AMIS.amd64,
        ]);
        expect([inst("pgbouncer").instanceType, inst("pgbouncer").ami]).toEqual([
            "t4g.small",
            MOCK_AMIS.arm64,
        ]);
        expect(ofType(resources, T.volume).map((v) => v.inputs.size)).toEqual([500, 500, 500]);
        const pinned = await prod({ awsAmiId: "ami-0abc123" });
        expect([...new Set(ofType(pinned.resources, T.instance).map((i) => i.inputs.ami))]).toEqual([
            "ami-0abc123",
        ]);
    });

    test("replicas are spread over the zones: replica i in subnet (i + 1) mod n, PgBouncer next to the primary", async () => {
        const three = await prod();
        expect(
            ["primary", "replica-1", "replica-2", "pgbouncer"].map((n) => zoneOf(three.resources, n)),
        ).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a"]);
        const five = await prod({ replicas: 5 });
        expect(
            ["primary", "replica-1", "replica-2", "replica-3", "replica-4", "replica-5"].map((n) =>
                zoneOf(five.resources, n),
            ),
        ).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        const two = await prod({ replicas: 2, awsAvailabilityZones: 2 });
        expect(ofType(two.resources, T.subnet)).toHaveLength(3);
        expect(["primary", "replica-1", "replica-2"].map((n) => zoneOf(two.resources, n))).toEqual([
            "eu-west-1a",
            "eu-west-1b",
            "eu-west-1a",
        ]);
    });

    test("secrets: one per credential under the cluster's KMS key, its value {password, verifier}, kept secret", async () => {
        const { resources } = await prod();
        const key = named(resources, T.key, "pgha-prod-credentials-key");
        expect(key.inputs).toMatchObject({ enableKeyRotation: true });
        expect(named(resources, T.alias, "pgha-prod-credentials-key").inputs).toEqual({
            name: "alias/pgha-prod-credentials",
            targetKeyId: key.state.keyId,
        });
        const seed = mockPassword("pgha-prod-secrets-scram-salt-seed");
        for (const credential of CREDENTIAL_NAMES) {
            const secret = named(resources, T.secret, `pgha-prod-credentials-${credential}`);
            expect(secret.inputs.kmsKeyId).toBe(key.state.arn);
            expect(secret.inputs.name).toBeUndefined();
            const version = named(resources, T.secretVersion, `pgha-prod-credentials-${credential}`);
            expect(version.inputs.secretId).toBe(secret.id);
            expect(isSecret(version.inputs.secretString)).toBe(true);
            const password = mockPassword(`pgha-prod-secrets-${credential}`);
            expect(JSON.parse(unwrap(version.inputs.secretString))).toEqual({
                password,
                verifier: scramSha256Verifier(password, deriveSalt(seed, credential)),
            });
        }
    });

    test("the node role may read exactly the cluster's secrets and decrypt with exactly its key, and use SSM", async () => {
        const { resources } = await prod();
        const role = named(resources, T.role, "pgha-prod-node");
        expect(JSON.parse(role.inputs.assumeRolePolicy)).toEqual({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
            ],
        });
        // The backups' policy on the same role is checked in test/unit/prodBackups.test.ts.
        const policies = ofType(resources, T.rolePolicy).filter(
            (p) => p.name !== "pgha-prod-backups-node-access",
        );
        expect(policies).toHaveLength(1);
        expect(policies[0].inputs.role).toBe(role.id);
        const secretArns = CREDENTIAL_NAMES.map(
            (c) => named(resources, T.secret, `pgha-prod-credentials-${c}`).state.arn,
        );
        expect(new Set(secretArns).size).toBe(5);
        expect(JSON.parse(policies[0].inputs.policy)).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ReadClusterCredentials",
                    Effect: "Allow",
                    Action: "secretsmanager:GetSecretValue",
                    Resource: secretArns,
                },
                {
                    Sid: "DecryptClusterCredentials",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: named(resources, T.key, "pgha-prod-credentials-key").state.arn,
                    Condition: {
                        StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" },
                    },
                },
            ],
        });
        expect(ofType(resources, T.rolePolicyAttachment).map((a) => a.inputs)).toEqual([
            { role: role.state.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" },
        ]);
        expect(named(resources, T.profile, "pgha-prod-node").inputs.role).toBe(role.state.name);
    });

    test("no password or SCRAM verifier in any user data, SSM document or clear input; nodes get ARNs only", async () => {
        const { resources } = await prod({ awsPgbouncerColocated: true });
        const values = secretValues();
        expect(values).toHaveLength(10);
        const scripts = ofType(resources, T.instance).map(
            (i) => [i.name, i.inputs.userDataBase64, userData(i)] as const,
        );
        const documents = ofType(resources, T.document).map((d) => [d.name, d.inputs.content] as const);
        for (const [name, ...texts] of [...scripts, ...documents]) {
            for (const text of texts) {
                expect(isSecret(text)).toBe(false);
                for (const v of values) {
                    expect([name, text.includes(v)]).toEqual([name, false]);
                }
                expect([name, text.includes("SCRAM-SHA-256$")]).toEqual([name, false]);
            }
        }
        // Everything any reader of the plan sees, apart from the secret-wrapped values.
        const clear = JSON.stringify(
            resources.map((r) => {
                const strip = (v: unknown): unknown =>
                    isSecret(v)
                        ? "[secret]"
                        : Array.isArray(v)
                          ? v.map(strip)
                          : v && typeof v === "object"
                            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
                            : v;
                return strip(r.inputs);
            }),
        );
        for (const v of values) {
            expect(clear.includes(v)).toBe(false);
        }
        // Every PostgreSQL node fetches the five verifiers and the replicator's password (it streams with
        // it as a replica); the co-located PgBouncer the auth user's and the monitor's passwords; by ARN.
        const arn = (c: string) => named(resources, T.secret, `pgha-prod-credentials-${c}`).state.arn;
        const fetches = [
            ...scripts[0][2].matchAll(/^ {2}retry fetch_secret '([^']+)' (password|verifier) '([^']+)'$/gm),
        ].map((m) => [m[1], m[2], m[3]]);
        expect(scripts[0][0]).toBe("pgha-prod-primary");
        const postgresFetches = [
            ...["superuser", "replicator", "app", "pgbouncer_auth", "monitor"].map((c) => [
                arn(c),
                "verifier",
                `/etc/pgha/secrets/${c}_verifier.password`,
            ]),
            [arn("replicator"), "password", "/etc/pgha/secrets/replicator.password"],
        ];
        expect(fetches).toEqual([
            ...postgresFetches,
            [arn("pgbouncer_auth"), "password", "/etc/pgha/pgbouncer/secrets/pgbouncer_auth.password"],
            [arn("monitor"), "password", "/etc/pgha/pgbouncer/secrets/monitor.password"],
        ]);
        const replica = userData(named(resources, T.instance, "pgha-prod-replica-1"));
        expect(
            [...replica.matchAll(/retry fetch_secret '([^']+)' (\w+) '([^']+)'$/gm)].map((m) => [
                m[1],
                m[2],
                m[3],
            ]),
        ).toEqual(postgresFetches);
    });

    test("the nodes' configuration: pg_hba admits the VPC, replicas stream from the primary's fixed address through their slots", async () => {
        const { resources } = await prod();
        const primaryIp = named(resources, T.eni, "pgha-prod-primary-eni").state.privateIp;
        const primary = userData(named(resources, T.instance, "pgha-prod-primary"));
        expect(writtenFile(primary, "/etc/pgha/pg_hba.conf")).toContain(
            "host replication replicator 10.42.0.0/16 scram-sha-256\n",
        );
        expect(writtenFile(primary, "/etc/pgha/pg_hba.conf")).toContain(
            "host all all 10.42.0.0/16 scram-sha-256\n",
        );
        expect(writtenFile(primary, "/etc/pgha/postgresql.conf")).toContain(
            "synchronous_standby_names = 'ANY 1 (*)'\n",
        );
        expect(primary).toContain("retry apt_get install pgbackrest postgresql-16 postgresql-client-16\n");
        for (const n of [1, 2]) {
            const replica = userData(named(resources, T.instance, `pgha-prod-replica-${n}`));
            const replicaIp = named(resources, T.eni, `pgha-prod-replica-${n}-eni`).state.privateIp;
            // The role script writes primary_conninfo from these at start (and after a failover).
            expect(writtenFile(replica, "/etc/pgha/node.env")).toContain(
                `PGHA_HOST="${replicaIp}"\nPGHA_PRIMARY_HOST="${primaryIp}"\nPGHA_SLOT="pgha_replica_${n}"\n`,
            );
            expect(writtenFile(replica, "/etc/pgha/postgresql.conf")).toContain(
                "include_if_exists = '/run/pgha/upstream.conf'\n",
            );
        }
        const pgbouncer = userData(named(resources, T.instance, "pgha-prod-pgbouncer"));
        expect(pgbouncer).toContain("retry apt_get install pgbouncer postgresql-client-16\n");
        expect(pgbouncer).not.toContain("mount_data_volume");
        // The slot job's document is told the primary's address; the slots come from the association.
        const content = JSON.parse(named(resources, T.document, "pgha-prod-slots").inputs.content);
        const script = content.mainSteps[0].inputs.runCommand.join("\n");
        expect(script).toContain(`PGHA_PRIMARY_HOST="${primaryIp}"\n`);
        expect(script).toContain("expected='{{ expectedSlots }}'\n");
        expect(named(resources, T.document, "pgha-prod-slots").inputs).toMatchObject({
            documentType: "Command",
            documentFormat: "JSON",
            targetType: "/AWS::EC2::Instance",
        });
        expect(named(resources, T.association, "pgha-prod-slots").inputs).toMatchObject({
            name: named(resources, T.document, "pgha-prod-slots").state.name,
            documentVersion: "1",
            associationName: "pgha-prod-slots",
            scheduleExpression: "rate(30 minutes)",
            waitForSuccessTimeoutSeconds: 1200,
        });
    });

    test("an existing VPC: no VPC, subnet, gateway or route is created; nodes go into the given subnets", async () => {
        const { resources, outputs } = await prod({
            awsVpcId: "vpc-0feed",
            awsSubnetIds: ["subnet-0a1", "subnet-0b1", "subnet-0c1"],
            replicas: 2,
        });
        for (const type of [T.vpc, T.subnet, T.nat, T.eip, T.igw, T.routeTable, T.route, T.rta]) {
            expect([type, ofType(resources, type)]).toEqual([type, []]);
        }
        for (const group of ofType(resources, T.sg)) {
            expect(group.inputs.vpcId).toBe("vpc-0feed");
        }
        const subnetOf = (n: string) => named(resources, T.eni, `pgha-prod-${n}-eni`).inputs.subnetId;
        expect(["primary", "replica-1", "replica-2", "pgbouncer"].map(subnetOf)).toEqual([
            "subnet-0a1",
            "subnet-0b1",
            "subnet-0c1",
            "subnet-0a1",
        ]);
        for (const n of ["primary", "replica-1", "replica-2"]) {
            expect(named(resources, T.volume, `pgha-prod-${n}-data`).inputs.availabilityZone).toBe(
                MOCK_SUBNETS[subnetOf(n)].availabilityZone,
            );
        }
        // pg_hba admits the existing VPC's CIDR block.
        expect(
            writtenFile(userData(named(resources, T.instance, "pgha-prod-primary")), "/etc/pgha/pg_hba.conf"),
        ).toContain("host all all 10.8.0.0/16 scram-sha-256\n");
        expect(outputs.primaryEndpoint.value).toEqual({
            host: named(resources, T.eni, "pgha-prod-primary-eni").state.privateIp,
            port: 5432,
        });
    });

    test("an existing subnet of another VPC, or more zones than the region has, fail the deployment naming the key", () => {
        // Both are only known from a lookup, so they fail inside an output; checked here as the functions they are.
        expect(() => checkNodeSubnet("subnet-0f1", MOCK_SUBNETS["subnet-0f1"], "vpc-0feed")).toThrow(
            "pgha:awsSubnetIds: subnet-0f1 is in vpc-0other, not in pgha:awsVpcId vpc-0feed",
        );
        expect(checkNodeSubnet("subnet-0a1", MOCK_SUBNETS["subnet-0a1"], "vpc-0feed")).toBeUndefined();
        expect(
            checkNodeSubnet("subnet-0a1", { vpcId: "vpc-0feed", mapPublicIpOnLaunch: true }, "vpc-0feed"),
        ).toContain("subnet-0a1 assigns public IPs on launch");
        expect(() => pickZones(["eu-west-1a", "eu-west-1b", "eu-west-1c"], 4)).toThrow(
            "pgha:awsAvailabilityZones is 4, but the region has 3 available zones (eu-west-1a, eu-west-1b, eu-west-1c): lower it",
        );
        expect(pickZones(["eu-west-1a", "eu-west-1b", "eu-west-1c"], 2)).toEqual([
            "eu-west-1a",
            "eu-west-1b",
        ]);
    });

    test("every taggable AWS resource carries Name, pgha:cluster, pgha:role and pgha:stack", async () => {
        const { resources } = await prod({ awsAppSecurityGroupIds: ["sg-0a99"] });
        const aws = resources.filter((r) => r.custom && r.type.startsWith("aws:"));
        // 70, and the S3 gateway endpoint.
        expect(aws).toHaveLength(71);
        for (const r of aws.filter((x) => !UNTAGGABLE.has(x.type))) {
            expect([r.type, r.name, r.inputs.tags]).toEqual([
                r.type,
                r.name,
                {
                    Name: expect.stringMatching(/^pgha-prod-/),
                    "pgha:cluster": "pgha-prod",
                    "pgha:role": expect.stringMatching(
                        /^(network|security|secrets|iam|primary|replica|pgbouncer|slots|backup)$/,
                    ),
                    "pgha:stack": "prod",
                },
            ]);
        }
    });

    test("outputs: the nodes' private addresses in the same contract as dev, nothing secret in clear", async () => {
        const { resources, outputs } = await prod({ replicas: 1 });
        const ip = (n: string) => named(resources, T.eni, `pgha-prod-${n}-eni`).state.privateIp;
        const values = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
        expect(values).toEqual({
            platform: "aws",
            clusterName: "pgha-prod",
            primaryNode: "primary",
            primaryEndpoint: { host: ip("primary"), port: 5432 },
            replicaEndpoints: [
                {
                    name: "replica-1",
                    host: ip("replica-1"),
                    port: 5432,
                    slotName: "pgha_replica_1",
                    applicationName: "replica_1",
                },
            ],
            pgbouncerEndpoint: { host: ip("pgbouncer"), port: 6432 },
            databaseName: "app",
            readOnlyDatabaseName: "app_ro",
            synchronousMode: "any1",
            synchronousStrict: true,
            failover: "manual",
            writeConnectionString: `postgresql://app:${mockPassword("pgha-prod-secrets-app")}@${ip("pgbouncer")}:6432/app`,
            readConnectionString: `postgresql://app:${mockPassword("pgha-prod-secrets-app")}@${ip("pgbouncer")}:6432/app_ro`,
            monitorUser: "pgha_monitor",
            monitorPassword: mockPassword("pgha-prod-secrets-monitor"),
            // Exact values in test/unit/prodBackups.test.ts.
            backup: expect.objectContaining({
                stanza: "main",
                repository: expect.objectContaining({
                    endpoint: "s3.eu-west-1.amazonaws.com",
                    path: "/pgha-prod",
                }),
            }),
            backupAccess: expect.objectContaining({ platform: "aws", etc: "/etc/pgha/backup" }),
            awsNetwork: defaultAwsNetwork(resources),
        });
        expect((values.awsNetwork as { s3EndpointId: string }).s3EndpointId).toMatch(/^vpce-0[0-9a-f]{16}$/);
        for (const [key, output] of Object.entries(outputs)) {
            const secret = ["writeConnectionString", "readConnectionString", "monitorPassword"].includes(key);
            expect([key, output.secret]).toEqual([key, secret]);
        }
        const colocated = await prod({ awsPgbouncerColocated: true });
        expect(colocated.outputs.pgbouncerEndpoint.value).toEqual({
            host: named(colocated.resources, T.eni, "pgha-prod-primary-eni").state.privateIp,
            port: 6432,
        });
    });

    test("running the program twice declares identical inputs, user data included (a second `pulumi up` replaces nothing)", async () => {
        const canonical = (run: { resources: RecordedResource[] }) =>
            run.resources.map((r) => JSON.stringify([r.type, r.name, r.inputs])).sort();
        expect(canonical(await runProgram("prod"))).toEqual(canonical(await runProgram("prod")));
    });

    test("adding a replica leaves the primary and the other replicas untouched: only PgBouncer and the slot parameter change", async () => {
        const two = await prod();
        const three = await prod({ replicas: 3 });
        const changed = three.resources
            .filter((r) => r.custom)
            .filter((r) => {
                const before = two.resources.find((b) => b.custom && b.type === r.type && b.name === r.name);
                return !before || JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
            })
            .map((r) => `${r.type.split(":").pop()} ${r.name}`)
            .sort();
        expect(changed).toEqual(
            [
                "Association pgha-prod-slots",
                "Instance pgha-prod-pgbouncer",
                "Instance pgha-prod-replica-3",
                "NetworkInterface pgha-prod-replica-3-eni",
                "Volume pgha-prod-replica-3-data",
                "VolumeAttachment pgha-prod-replica-3-data",
            ].sort(),
        );
    });

    test("invalid AWS settings fail before any resource is declared", async () => {
        const fail = (overrides: Record<string, unknown>) =>
            runProgram("prod", overrides).then(
                () => undefined,
                (e: Error & { resources?: RecordedResource[] }) => e,
            );
        const xen = await fail({ awsReplicaInstanceType: "m4.large" });
        expect(xen?.message).toContain(
            "pgha:awsReplicaInstanceType m4.large is a Xen-based (previous generation) type",
        );
        expect(xen?.resources?.filter((r) => r.custom && r.type.startsWith("aws:"))).toEqual([]);
        const cidr = await fail({ awsVpcCidr: "10.0.0.0/8" });
        expect(cidr?.message).toContain("pgha:awsVpcCidr must be a /16 to /24 block");
        const open = await fail({ awsAppCidrs: ["0.0.0.0/0"] });
        expect(open?.message).toContain("pgha:awsAppCidrs must not contain a block wider than /8");
    });
});
