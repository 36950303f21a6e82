import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, ConfigError, parseClusterConfig } from "../../components/config";
import { stackConfig } from "./support/programMocks";

const dev = (overrides: Record<string, unknown> = {}) => stackConfig("dev", overrides);

function problemsOf(config: Record<string, string>): string[] {
    try {
        parseClusterConfig(config);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("expected the config to be rejected");
}

describe("stack config validation", () => {
    test("the dev stack validates with Pulumi.yaml defaults", () => {
        const c = parseClusterConfig(dev());
        expect(c).toMatchObject({
            platform: "docker",
            replicas: 2,
            postgresVersion: 16,
            baseImage: "postgres:16",
            bindAddress: "127.0.0.1",
        });
    });

    test("the prod stack validates already", () => {
        const c = parseClusterConfig(stackConfig("prod"));
        expect(c).toMatchObject({
            platform: "aws",
            awsRegion: "eu-west-1",
            synchronousMode: "any1",
            // The range of the new VPC left to the application (components/aws/cidr.ts applicationRange), not the whole VPC.
            awsAppCidrs: ["10.42.128.0/19"],
            awsNatGateways: "single",
            awsS3EndpointRouteTableIds: [],
        });
    });

    test("pgha:backupFromReplica is accepted on platform aws (backups on, at least one replica) and refused there without a replica, naming the key", () => {
        expect(parseClusterConfig(stackConfig("prod", { backupFromReplica: true }))).toMatchObject({
            platform: "aws",
            backupFromReplica: true,
            backupEnabled: true,
        });
        expect(
            problemsOf(stackConfig("prod", { backupFromReplica: true, replicas: 0, synchronousMode: "off" })),
        ).toEqual([
            "pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica (pgha:backupEnabled is true, pgha:replicas is 0)",
        ]);
        expect(problemsOf(stackConfig("prod", { backupFromReplica: true, backupEnabled: false }))).toEqual([
            "pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica (pgha:backupEnabled is false, pgha:replicas is 2)",
        ]);
    });

    test("Pulumi.yaml documents every key with a type, a description and the program's own default", () => {
        const project: any = yaml.load(
            fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8"),
        );
        const fromProgram = parseClusterConfig({ "pgha:platform": "docker" }) as Record<string, unknown>;
        const keys = Object.keys(project.config);
        for (const key of keys) {
            const spec = project.config[key];
            expect([key, typeof spec.description, typeof spec.type]).toEqual([key, "string", "string"]);
            // Empty strings mean "unset" for optional keys.
            const expected = spec.default === "" ? undefined : spec.default;
            if (key !== "baseImage") {
                expect([key, fromProgram[key]]).toEqual([key, expected]);
            }
        }
        expect(keys.sort()).toEqual([...CONFIG_KEYS].sort());
    });

    test.each<[string, Record<string, unknown>, string]>([
        [
            "replica count below range",
            { replicas: -1 },
            "pgha:replicas must be an integer from 0 to 15, got -1",
        ],
        [
            "replica count above range",
            { replicas: 16 },
            "pgha:replicas must be an integer from 0 to 15, got 16",
        ],
        [
            "fractional replica count",
            { replicas: 1.5 },
            "pgha:replicas must be an integer from 0 to 15, got 1.5",
        ],
        [
            "replica count as a word",
            { replicas: "two" },
            'pgha:replicas must be an integer from 0 to 15, got "two"',
        ],
        [
            "unknown platform",
            { platform: "kubernetes" },
            'pgha:platform must be one of "docker", "aws", got "kubernetes"',
        ],
        [
            "unsupported PostgreSQL",
            { postgresVersion: 12 },
            "pgha:postgresVersion must be one of 15, 16, 17, got 12",
        ],
        [
            "database name with a dash",
            { databaseName: "my-app" },
            "pgha:databaseName must be a lower-case SQL identifier",
        ],
        [
            "reserved app user",
            { appUser: "replicator" },
            'pgha:appUser must not be "replicator": it is one of the cluster\'s own roles (postgres, replicator, pgbouncer_auth, pgha_monitor)',
        ],
        [
            "database name whose read-only entry PgBouncer refuses (61 characters)",
            { databaseName: "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" },
            "pgha:databaseName must be a lower-case SQL identifier (a-z, 0-9, _; starts with a letter or _; at most 60 characters, so that PgBouncer's read-only entry <name>_ro fits in 63)",
        ],
        [
            "app user of 64 characters",
            { appUser: "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu" },
            "pgha:appUser must be a lower-case SQL identifier (a-z, 0-9, _; starts with a letter or _; at most 63 characters)",
        ],
        [
            "database name a reserved keyword",
            { databaseName: "user" },
            'pgha:databaseName must not be "user": it is a reserved SQL keyword',
        ],
        [
            "database name a function-name keyword",
            { databaseName: "left" },
            'pgha:databaseName must not be "left": it is a reserved SQL keyword',
        ],
        [
            "app user a reserved keyword",
            { appUser: "user" },
            'pgha:appUser must not be "user": it is a reserved SQL keyword',
        ],
        [
            "app user public",
            { appUser: "public" },
            'pgha:appUser must not be "public": PostgreSQL reserves it as a role name',
        ],
        [
            "app user none",
            { appUser: "none" },
            'pgha:appUser must not be "none": PostgreSQL reserves it as a role name',
        ],
        [
            "app user in PostgreSQL's pg_ namespace",
            { appUser: "pg_app" },
            'pgha:appUser must not be "pg_app": PostgreSQL reserves role names starting with pg_',
        ],
        ...["template0", "template1", "postgres", "pgbouncer"].map(
            (db) =>
                [
                    `database name ${db}`,
                    { databaseName: db },
                    `pgha:databaseName must not be "${db}": it is PostgreSQL's template or maintenance database (or PgBouncer's admin console)`,
                ] as [string, Record<string, unknown>, string],
        ),
        [
            "host name as bind address",
            { bindAddress: "localhost" },
            'pgha:bindAddress must be an IPv4 address such as 127.0.0.1 (or 0.0.0.0 to listen on every interface), got "localhost"',
        ],
        [
            "privileged port",
            { primaryPort: 80 },
            "pgha:primaryPort must be an integer from 1024 to 65535, got 80",
        ],
        [
            "synchronous mode typo",
            { synchronousMode: "on" },
            'pgha:synchronousMode must be one of "off", "any1", got "on"',
        ],
        [
            "synchronous mode without replicas",
            { replicas: 0, synchronousMode: "any1" },
            'pgha:synchronousMode "any1" needs at least 1 replica (pgha:replicas is 0)',
        ],
        [
            "primary node typo",
            { primaryNode: "replica1" },
            'pgha:primaryNode must be "primary" or "replica-<n>"',
        ],
        [
            "primary node not in the cluster",
            { replicas: 1, primaryNode: "replica-2" },
            'pgha:primaryNode "replica-2" is not a node of this cluster: pgha:replicas is 1, so it must be "primary" or replica-1 to replica-1',
        ],
        [
            "failed-over primary on AWS",
            { platform: "aws", "aws:region": "eu-west-1", primaryNode: "replica-1" },
            'pgha:primaryNode must be "primary" on platform aws',
        ],
        [
            "pool mode typo",
            { poolMode: "transactions" },
            'pgha:poolMode must be one of "session", "transaction", "statement", got "transactions"',
        ],
        [
            "pool larger than the server",
            { poolSize: 195 },
            "pgha:poolSize (195) must be below pgha:maxConnections - 10 (190)",
        ],
        [
            "slot WAL limit below wal_keep_size",
            { walKeepSizeMb: 1024, maxSlotWalKeepSizeMb: 512 },
            "pgha:maxSlotWalKeepSizeMb (512) must be at least pgha:walKeepSizeMb (1024)",
        ],
        [
            "replica port overlapping PgBouncer",
            { replicaBasePort: 6431 },
            "replica 2 (pgha:replicaBasePort + 1) and pgha:pgbouncerPort would both publish port 6432",
        ],
        [
            "replica ports past 65535",
            { replicaBasePort: 65535 },
            "replica 2 (pgha:replicaBasePort + 1) would be port 65536, above 65535",
        ],
        [
            "misspelt key",
            { replica: 3 },
            "unknown config key pgha:replica; allowed: pgha:platform, pgha:replicas",
        ],
        [
            "AWS without a region",
            { platform: "aws", "aws:region": undefined },
            'aws:region must be set to an AWS region such as eu-west-1 when pgha:platform is "aws"',
        ],
        [
            "AWS VPC without subnets",
            { platform: "aws", "aws:region": "eu-west-1", awsVpcId: "vpc-0abc" },
            "pgha:awsVpcId and pgha:awsSubnetIds go together",
        ],
        [
            "AWS app CIDR open to the internet",
            { platform: "aws", "aws:region": "eu-west-1", awsAppCidrs: ["0.0.0.0/0"] },
            "pgha:awsAppCidrs must not contain a block wider than /8 (got 0.0.0.0/0)",
        ],
        [
            "AWS app CIDRs that together are the internet",
            { platform: "aws", "aws:region": "eu-west-1", awsAppCidrs: ["0.0.0.0/1", "128.0.0.0/1"] },
            "pgha:awsAppCidrs must not contain a block wider than /8 (got 0.0.0.0/1, 128.0.0.0/1)",
        ],
        [
            "S3 endpoint without a bucket",
            { backupS3Endpoint: "s3.example.com", backupS3AccessKey: "a", backupS3SecretKey: "b" },
            "pgha:backupS3Endpoint needs pgha:backupS3Bucket",
        ],
        [
            "S3 endpoint port out of range",
            {
                backupS3Endpoint: "s3.example.com:99999",
                backupS3Bucket: "b-1",
                backupS3AccessKey: "a",
                backupS3SecretKey: "b",
            },
            "pgha:backupS3Endpoint must be a host name with an optional port",
        ],
        [
            "S3 bucket and keys without an endpoint",
            { backupS3Bucket: "mine", backupS3AccessKey: "a", backupS3SecretKey: "b" },
            "pgha:backupS3Bucket, pgha:backupS3AccessKey, pgha:backupS3SecretKey would be ignored",
        ],
        [
            "a local S3 server on AWS",
            { platform: "aws", "aws:region": "eu-west-1", backupS3Image: "s3:1" },
            'pgha:backupS3Image apply to pgha:platform "docker" only',
        ],
        [
            "a number as the VPC id",
            {
                platform: "aws",
                "aws:region": "eu-west-1",
                awsVpcId: 10,
                awsSubnetIds: ["subnet-1", "subnet-2"],
            },
            "pgha:awsVpcId must look like vpc-0123abcd",
        ],
        [
            "a number as an app CIDR",
            { platform: "aws", "aws:region": "eu-west-1", awsAppCidrs: [10] },
            "pgha:awsAppCidrs must be IPv4 CIDR blocks",
        ],
        [
            "AWS archive queue bound above half the data volume",
            { platform: "aws", "aws:region": "eu-west-1", awsDataVolumeSizeGb: 10, archiveQueueMaxMb: 6000 },
            "pgha:archiveQueueMaxMb (6000) must be at most half the data volume (pgha:awsDataVolumeSizeGb 10 GB: 5120 MB)",
        ],
        [
            "archive queue bound below one segment's worth",
            { archiveQueueMaxMb: 16 },
            "pgha:archiveQueueMaxMb must be an integer from 64 to 1048576, got 16",
        ],
        [
            "AWS instance type typo",
            { platform: "aws", "aws:region": "eu-west-1", awsPrimaryInstanceType: "large" },
            "pgha:awsPrimaryInstanceType must be an EC2 instance type such as m7i.large",
        ],
    ])("rejects %s", (_, overrides, message) => {
        const problems = problemsOf(dev(overrides));
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain(message);
    });

    test.each([
        ["a 60-character database name (its _ro entry is 63)", { databaseName: "d".repeat(60) }],
        ["a 63-character application role", { appUser: "u".repeat(63) }],
        ["a non-reserved keyword as names", { databaseName: "name", appUser: "role" }],
        ["names that only look like reserved ones", { databaseName: "postgres_app", appUser: "pgapp" }],
    ])("accepts %s", (_, overrides) => {
        expect(parseClusterConfig(dev(overrides))).toMatchObject(overrides);
    });

    test("lists every problem at once, in one message", () => {
        let error: unknown;
        try {
            parseClusterConfig(dev({ replicas: 99, poolMode: "x", bindAddress: "::1", replica: 1 }));
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const message = (error as Error).message;
        expect(message).toMatch(/^Invalid stack configuration \(4 problems\):/);
        for (const key of [
            "pgha:replicas",
            "pgha:poolMode",
            "pgha:bindAddress",
            "unknown config key pgha:replica",
        ]) {
            expect(message).toContain(key);
        }
    });
});
