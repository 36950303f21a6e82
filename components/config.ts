import { z } from "zod";
import { isImageReference } from "./imageReference";
import { SQL_RESERVED_KEYWORDS } from "./postgres/sqlKeywords";

/** Where the cluster runs: containers on a local Docker engine, or EC2 instances on AWS. */
export type Platform = "docker" | "aws";

/** `off`: asynchronous replication. `any1`: a commit waits for any one replica (no committed-data loss). */
export type SynchronousMode = "off" | "any1";

/** PgBouncer's pool_mode. */
export type PoolMode = "session" | "transaction" | "statement";

/** Names that the cluster reserves for its own roles. */
export const RESERVED_ROLES = ["postgres", "replicator", "pgbouncer_auth", "pgha_monitor"] as const;

/** Databases the application's may not be: PostgreSQL's templates and maintenance database, PgBouncer's console. */
export const RESERVED_DATABASES: readonly string[] = ["template0", "template1", "postgres", "pgbouncer"];

/**
 * The longest `pgha:databaseName`: PgBouncer's read-only entry `<databaseName>_ro` must fit its
 * 63-byte database names (PostgreSQL's NAMEDATALEN - 1).
 */
export const MAX_DATABASE_NAME_LENGTH = 60;

const identifier = (key: string, maxLength = 63) =>
    z
        .string({ error: `${key} must be a string` })
        .regex(new RegExp(`^[a-z_][a-z0-9_]{0,${maxLength - 1}}$`), {
            error: `${key} must be a lower-case SQL identifier (a-z, 0-9, _; starts with a letter or _; at most ${maxLength} characters${maxLength < 63 ? `, so that PgBouncer's read-only entry <name>_ro fits in 63` : ""})`,
        });

/** Why PostgreSQL (or PgBouncer) would refuse `name` as the application's database, or undefined. */
export function databaseNameProblem(name: string): string | undefined {
    if (SQL_RESERVED_KEYWORDS.has(name)) return "it is a reserved SQL keyword";
    if (RESERVED_DATABASES.includes(name))
        return "it is PostgreSQL's template or maintenance database (or PgBouncer's admin console), shared with the cluster's own tools";
    return undefined;
}

/** Why PostgreSQL would refuse `name` as the application's role, or undefined. */
export function appUserProblem(name: string): string | undefined {
    if (SQL_RESERVED_KEYWORDS.has(name)) return "it is a reserved SQL keyword";
    if (name === "public" || name === "none") return "PostgreSQL reserves it as a role name";
    if (name.startsWith("pg_")) return "PostgreSQL reserves role names starting with pg_";
    if ((RESERVED_ROLES as readonly string[]).includes(name))
        return `it is one of the cluster's own roles (${RESERVED_ROLES.join(", ")})`;
    return undefined;
}

/** A name of the application's that PostgreSQL must accept: `problem` says why not. */
const sqlName = (key: string, maxLength: number, problem: (name: string) => string | undefined) =>
    identifier(key, maxLength).superRefine((name, ctx) => {
        const why = problem(name);
        if (why) ctx.addIssue({ code: "custom", message: `${key} must not be "${name}": ${why}` });
    });

const integer = (key: string, min: number, max: number) =>
    z
        .number({ error: `${key} must be an integer from ${min} to ${max}` })
        .int({ error: `${key} must be an integer from ${min} to ${max}` })
        .min(min, { error: `${key} must be an integer from ${min} to ${max}` })
        .max(max, { error: `${key} must be an integer from ${min} to ${max}` });

const port = (key: string) => integer(key, 1024, 65535);

const ipv4 = (key: string) =>
    z
        .string({ error: `${key} must be an IPv4 address` })
        .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, {
            error: `${key} must be an IPv4 address such as 127.0.0.1 (or 0.0.0.0 to listen on every interface)`,
        });

const cidr = (key: string) =>
    z
        .string({ error: `${key} must be IPv4 CIDR blocks such as 10.0.0.0/16` })
        .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/, {
            error: `${key} must be IPv4 CIDR blocks such as 10.0.0.0/16`,
        });

const imageReference = (key: string, example: string) =>
    z.string({ error: `${key} must be a string` }).refine(isImageReference, {
        error: `${key} must be a Docker image reference such as ${example} ([registry[:port]/]name[:tag][@sha256:digest]; the name in lower case)`,
    });

const oneOf = <T extends string>(key: string, values: readonly [T, ...T[]]) =>
    z.enum(values, { error: `${key} must be one of ${values.map((v) => `"${v}"`).join(", ")}` });

const instanceType = (key: string, example: string) =>
    z
        .string({ error: `${key} must be an EC2 instance type such as ${example}` })
        .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
            error: `${key} must be an EC2 instance type such as ${example}`,
        });

/**
 * `pgha:archiveQueueMaxMb`'s default: WAL the primary keeps for an unreachable backup repository
 * before pgBackRest drops it (a gap in point-in-time recovery). 4 GiB is 40% of the smallest EC2
 * data volume the config allows (10 GB); on AWS the bound must stay within half the data volume.
 */
export const DEFAULT_ARCHIVE_QUEUE_MAX_MB = 4096;

/** The most replicas a cluster may have (`pgha:replicas`). */
export const MAX_REPLICAS = 15;

/** The widest application range `pgha:awsAppCidrs` admits: no block shorter than /8 (`0.0.0.0/1` is half the internet). */
export const MIN_APP_CIDR_PREFIX = 8;

/** The schema of every `pgha:*` key, with its default. Pulumi.yaml documents the same keys. */
export const configSchema = z
    .object({
        platform: oneOf("pgha:platform", ["docker", "aws"]),
        replicas: integer("pgha:replicas", 0, MAX_REPLICAS).default(2),
        postgresVersion: z
            .union([z.literal(15), z.literal(16), z.literal(17)], {
                error: "pgha:postgresVersion must be one of 15, 16, 17",
            })
            .default(16),
        databaseName: sqlName("pgha:databaseName", MAX_DATABASE_NAME_LENGTH, databaseNameProblem).default(
            "app",
        ),
        appUser: sqlName("pgha:appUser", 63, appUserProblem).default("app"),
        baseImage: imageReference("pgha:baseImage", "postgres:16").optional(),
        bindAddress: ipv4("pgha:bindAddress").default("127.0.0.1"),
        primaryPort: port("pgha:primaryPort").default(5432),
        replicaBasePort: port("pgha:replicaBasePort").default(5433),
        pgbouncerPort: port("pgha:pgbouncerPort").default(6432),
        primaryNode: z
            .string({ error: "pgha:primaryNode must be a string" })
            .regex(/^(primary|replica-([1-9]|1[0-5]))$/, {
                error: 'pgha:primaryNode must be "primary" or "replica-<n>" (the node `npm run failover` promoted)',
            })
            .default("primary"),
        synchronousMode: oneOf("pgha:synchronousMode", ["off", "any1"]).default("off"),
        failover: oneOf("pgha:failover", ["manual", "automatic"]).default("manual"),
        synchronousStrict: z.boolean({ error: "pgha:synchronousStrict must be true or false" }).default(true),
        readMaxLagMb: integer("pgha:readMaxLagMb", 1, 1048576).default(16),
        maxConnections: integer("pgha:maxConnections", 20, 10000).default(200),
        poolMode: oneOf("pgha:poolMode", ["session", "transaction", "statement"]).default("transaction"),
        poolSize: integer("pgha:poolSize", 1, 1000).default(20),
        maxClientConnections: integer("pgha:maxClientConnections", 1, 100000).default(1000),
        walKeepSizeMb: integer("pgha:walKeepSizeMb", 0, 1048576).default(512),
        maxSlotWalKeepSizeMb: integer("pgha:maxSlotWalKeepSizeMb", 64, 10485760).default(8192),
        backupEnabled: z.boolean({ error: "pgha:backupEnabled must be true or false" }).default(true),
        backupIntervalHours: integer("pgha:backupIntervalHours", 1, 168).default(6),
        backupFullIntervalDays: integer("pgha:backupFullIntervalDays", 1, 365).default(7),
        backupRetentionDays: integer("pgha:backupRetentionDays", 1, 3650).default(30),
        archiveTimeoutSeconds: integer("pgha:archiveTimeoutSeconds", 10, 3600).default(60),
        archiveQueueMaxMb: integer("pgha:archiveQueueMaxMb", 64, 1048576).default(
            DEFAULT_ARCHIVE_QUEUE_MAX_MB,
        ),
        backupFromReplica: z
            .boolean({ error: "pgha:backupFromReplica must be true or false" })
            .default(false),
        backupS3Image: imageReference(
            "pgha:backupS3Image",
            "registry.example.com:5000/s3-server:v1",
        ).optional(),
        keepDataOnDestroy: z.boolean({ error: "pgha:keepDataOnDestroy must be true or false" }).default(true),
        backupS3Endpoint: z
            .string()
            .regex(
                /^[a-z0-9.-]+(:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?$/,
                {
                    error: "pgha:backupS3Endpoint must be a host name with an optional port, such as s3.eu-west-1.amazonaws.com (no scheme: TLS is always used)",
                },
            )
            .optional(),
        backupS3Bucket: z
            .string()
            .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
                error: "pgha:backupS3Bucket must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)",
            })
            .optional(),
        backupS3Region: z
            .string()
            .regex(/^[a-z0-9-]+$/, { error: "pgha:backupS3Region must be a region name such as us-east-1" })
            .default("us-east-1"),
        backupS3AccessKey: z.string().optional(),
        backupS3SecretKey: z.string().optional(),
        awsVpcId: z
            .string({ error: "pgha:awsVpcId must look like vpc-0123abcd" })
            .regex(/^vpc-[0-9a-f]+$/, { error: "pgha:awsVpcId must look like vpc-0123abcd" })
            .optional(),
        awsSubnetIds: z
            .array(
                z.string().regex(/^subnet-[0-9a-f]+$/, {
                    error: "pgha:awsSubnetIds entries must look like subnet-0123abcd",
                }),
                {
                    error: "pgha:awsSubnetIds must be a list of subnet ids",
                },
            )
            .default([]),
        awsVpcCidr: cidr("pgha:awsVpcCidr").default("10.42.0.0/16"),
        awsAvailabilityZones: integer("pgha:awsAvailabilityZones", 2, 6).default(3),
        awsNatGateways: oneOf("pgha:awsNatGateways", ["single", "perZone"]).default("single"),
        awsS3EndpointRouteTableIds: z
            .array(
                z.string().regex(/^rtb-[0-9a-f]+$/, {
                    error: "pgha:awsS3EndpointRouteTableIds entries must look like rtb-0123abcd",
                }),
                { error: "pgha:awsS3EndpointRouteTableIds must be a list of route table ids" },
            )
            .default([]),
        awsPrimaryInstanceType: instanceType("pgha:awsPrimaryInstanceType", "m7i.large").default("m7i.large"),
        awsReplicaInstanceType: instanceType("pgha:awsReplicaInstanceType", "m7i.large").default("m7i.large"),
        awsPgbouncerInstanceType: instanceType("pgha:awsPgbouncerInstanceType", "t3.small").default(
            "t3.small",
        ),
        awsPgbouncerColocated: z
            .boolean({ error: "pgha:awsPgbouncerColocated must be true or false" })
            .default(false),
        awsAmiId: z
            .string({ error: "pgha:awsAmiId must look like ami-0123abcd" })
            .regex(/^ami-[0-9a-f]+$/, { error: "pgha:awsAmiId must look like ami-0123abcd" })
            .optional(),
        awsDataVolumeSizeGb: integer("pgha:awsDataVolumeSizeGb", 10, 16384).default(100),
        awsAppCidrs: z
            .array(cidr("pgha:awsAppCidrs"), { error: "pgha:awsAppCidrs must be a list of CIDR blocks" })
            .default([]),
        awsAppSecurityGroupIds: z
            .array(
                z.string().regex(/^sg-[0-9a-f]+$/, {
                    error: "pgha:awsAppSecurityGroupIds entries must look like sg-0123abcd",
                }),
                {
                    error: "pgha:awsAppSecurityGroupIds must be a list of security group ids",
                },
            )
            .default([]),
    })
    .strict()
    .superRefine((c, ctx) => {
        if (c.synchronousMode === "any1" && c.replicas < 1) {
            ctx.addIssue({
                code: "custom",
                path: ["synchronousMode"],
                message: `pgha:synchronousMode "any1" needs at least 1 replica (pgha:replicas is 0): commits would wait forever`,
            });
        }
        const replicaNumber = Number(/^replica-(\d+)$/.exec(c.primaryNode)?.[1] ?? 0);
        if (replicaNumber > 0 && replicaNumber > c.replicas) {
            ctx.addIssue({
                code: "custom",
                path: ["primaryNode"],
                message: `pgha:primaryNode "${c.primaryNode}" is not a node of this cluster: pgha:replicas is ${c.replicas}, so it must be "primary" or replica-1 to replica-${c.replicas}`,
            });
        }
        if (c.platform === "aws" && c.primaryNode !== "primary") {
            ctx.addIssue({
                code: "custom",
                path: ["primaryNode"],
                message:
                    'pgha:primaryNode must be "primary" on platform aws: failover on EC2 is not supported yet',
            });
        }
        if (c.failover === "automatic" && c.platform === "aws") {
            ctx.addIssue({
                code: "custom",
                path: ["failover"],
                message:
                    'pgha:failover "automatic" is for platform docker for now: the EC2 stack does not run Patroni yet',
            });
        }
        if (c.failover === "automatic" && c.primaryNode !== "primary") {
            ctx.addIssue({
                code: "custom",
                path: ["primaryNode"],
                message:
                    'pgha:primaryNode must stay "primary" with pgha:failover "automatic": Patroni chooses the leader, and a redeploy never moves it',
            });
        }
        if (!c.synchronousStrict && c.synchronousMode !== "any1") {
            ctx.addIssue({
                code: "custom",
                path: ["synchronousStrict"],
                message:
                    'pgha:synchronousStrict false would be ignored: it applies to pgha:synchronousMode "any1" only',
            });
        }
        if (c.synchronousStrict === false && c.failover !== "automatic") {
            ctx.addIssue({
                code: "custom",
                path: ["synchronousStrict"],
                message:
                    'pgha:synchronousStrict false needs pgha:failover "automatic": without Patroni nothing lifts the synchronous requirement when no replica confirms',
            });
        }
        if (c.maxSlotWalKeepSizeMb < c.walKeepSizeMb) {
            ctx.addIssue({
                code: "custom",
                path: ["maxSlotWalKeepSizeMb"],
                message: `pgha:maxSlotWalKeepSizeMb (${c.maxSlotWalKeepSizeMb}) must be at least pgha:walKeepSizeMb (${c.walKeepSizeMb})`,
            });
        }
        if (c.poolSize >= c.maxConnections - 10) {
            ctx.addIssue({
                code: "custom",
                path: ["poolSize"],
                message: `pgha:poolSize (${c.poolSize}) must be below pgha:maxConnections - 10 (${c.maxConnections - 10}): PostgreSQL keeps slots for replication and admin`,
            });
        }
        if (c.platform === "docker") {
            const ports = [
                ["pgha:primaryPort", c.primaryPort],
                ["pgha:pgbouncerPort", c.pgbouncerPort],
                ...Array.from(
                    { length: c.replicas },
                    (_, i) =>
                        [`replica ${i + 1} (pgha:replicaBasePort + ${i})`, c.replicaBasePort + i] as const,
                ),
            ] as const;
            const seen = new Map<number, string>();
            for (const [name, p] of ports) {
                if (p > 65535) {
                    ctx.addIssue({
                        code: "custom",
                        path: ["replicaBasePort"],
                        message: `${name} would be port ${p}, above 65535: lower pgha:replicaBasePort`,
                    });
                } else if (seen.has(p)) {
                    ctx.addIssue({
                        code: "custom",
                        path: ["replicaBasePort"],
                        message: `${name} and ${seen.get(p)} would both publish port ${p}: choose ports that do not overlap`,
                    });
                }
                seen.set(p, name);
            }
        }
        if (
            c.platform === "docker" &&
            c.backupS3Endpoint !== undefined &&
            (c.backupS3AccessKey === undefined || c.backupS3SecretKey === undefined)
        ) {
            ctx.addIssue({
                code: "custom",
                path: ["backupS3Endpoint"],
                message:
                    "pgha:backupS3Endpoint needs pgha:backupS3AccessKey and pgha:backupS3SecretKey (set the secret with `pulumi config set --secret`)",
            });
        }
        if (c.platform === "docker" && c.backupS3Endpoint !== undefined && c.backupS3Bucket === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["backupS3Bucket"],
                message:
                    "pgha:backupS3Endpoint needs pgha:backupS3Bucket: name your own bucket (there is no default name on a real S3 service)",
            });
        }
        if (c.platform === "docker" && c.backupS3Endpoint === undefined) {
            const unused = (["backupS3Bucket", "backupS3AccessKey", "backupS3SecretKey"] as const).filter(
                (k) => c[k] !== undefined,
            );
            if (unused.length > 0) {
                ctx.addIssue({
                    code: "custom",
                    path: [unused[0]],
                    message: `${unused.map((k) => `pgha:${k}`).join(", ")} would be ignored: they are for a real bucket, set with pgha:backupS3Endpoint`,
                });
            }
        }
        if (c.platform === "aws") {
            const dockerOnly = (
                [
                    "backupS3Image",
                    "backupS3Endpoint",
                    "backupS3Bucket",
                    "backupS3AccessKey",
                    "backupS3SecretKey",
                ] as const
            ).filter((k) => c[k] !== undefined);
            if (dockerOnly.length > 0) {
                ctx.addIssue({
                    code: "custom",
                    path: [dockerOnly[0]],
                    message: `${dockerOnly.map((k) => `pgha:${k}`).join(", ")} apply to pgha:platform "docker" only: on "aws" the stack creates its own bucket`,
                });
            }
        }
        if (c.backupS3Image !== undefined && c.backupS3Endpoint !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["backupS3Image"],
                message:
                    "pgha:backupS3Image (a local S3-compatible server) and pgha:backupS3Endpoint (a real bucket) exclude each other: set one, or neither for a repository on a Docker volume",
            });
        }
        if (c.backupFromReplica && (!c.backupEnabled || c.replicas < 1)) {
            ctx.addIssue({
                code: "custom",
                path: ["backupFromReplica"],
                message: `pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica (pgha:backupEnabled is ${c.backupEnabled}, pgha:replicas is ${c.replicas})`,
            });
        }
        if (c.platform === "aws" && c.archiveQueueMaxMb > (c.awsDataVolumeSizeGb * 1024) / 2) {
            ctx.addIssue({
                code: "custom",
                path: ["archiveQueueMaxMb"],
                message: `pgha:archiveQueueMaxMb (${c.archiveQueueMaxMb}) must be at most half the data volume (pgha:awsDataVolumeSizeGb ${c.awsDataVolumeSizeGb} GB: ${(c.awsDataVolumeSizeGb * 1024) / 2} MB), or WAL waiting for an unreachable repository could fill it`,
            });
        }
        if ((c.awsVpcId === undefined) !== (c.awsSubnetIds.length === 0)) {
            ctx.addIssue({
                code: "custom",
                path: ["awsVpcId"],
                message:
                    "pgha:awsVpcId and pgha:awsSubnetIds go together: set both to use an existing VPC, or neither to create one",
            });
        }
        if (c.awsVpcId === undefined && c.awsS3EndpointRouteTableIds.length > 0) {
            ctx.addIssue({
                code: "custom",
                path: ["awsS3EndpointRouteTableIds"],
                message:
                    "pgha:awsS3EndpointRouteTableIds is for an existing VPC (pgha:awsVpcId): the VPC this program creates gets an S3 gateway endpoint on its own route tables",
            });
        }
        if (c.awsVpcId !== undefined && c.awsNatGateways !== "single") {
            ctx.addIssue({
                code: "custom",
                path: ["awsNatGateways"],
                message:
                    'pgha:awsNatGateways is for the VPC this program creates: with pgha:awsVpcId the existing VPC\'s NAT gateways are used, leave it "single"',
            });
        }
        if (c.awsSubnetIds.length === 1) {
            ctx.addIssue({
                code: "custom",
                path: ["awsSubnetIds"],
                message: "pgha:awsSubnetIds needs at least 2 private subnets in different availability zones",
            });
        }
        const wide = c.awsAppCidrs.filter(
            (cidrBlock) => Number(cidrBlock.split("/")[1]) < MIN_APP_CIDR_PREFIX,
        );
        if (wide.length > 0) {
            ctx.addIssue({
                code: "custom",
                path: ["awsAppCidrs"],
                message: `pgha:awsAppCidrs must not contain a block wider than /${MIN_APP_CIDR_PREFIX} (got ${wide.join(", ")}): the database is never reachable from the internet, and /0 split into halves is still the internet`,
            });
        }
        // The S3 bucket's lifecycle safety net must outlast the oldest backup pgBackRest keeps (components/aws/clusterBackups.ts).
        if (
            c.platform === "aws" &&
            c.backupEnabled &&
            c.backupRetentionDays + c.backupFullIntervalDays > 3650
        ) {
            ctx.addIssue({
                code: "custom",
                path: ["backupRetentionDays"],
                message: `pgha:backupRetentionDays (${c.backupRetentionDays}) + pgha:backupFullIntervalDays (${c.backupFullIntervalDays}) must be at most 3650 days on platform aws (the bucket's lifecycle rule keeps backups that long at most)`,
            });
        }
    });

/** The validated stack configuration, with every default filled in. */
export type ClusterConfig = Omit<z.infer<typeof configSchema>, "baseImage"> & {
    /** Image the node image builds FROM; defaults to the official `postgres:<postgresVersion>`. */
    readonly baseImage: string;
    /** The AWS provider's region (`aws:region`), required when platform is aws. */
    readonly awsRegion?: string;
};

/** Thrown when the stack configuration is invalid; its message lists every problem. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`,
        );
        this.name = "ConfigError";
    }
}

/** The `pgha:` keys this program reads, in the order README lists them. */
export const CONFIG_KEYS = Object.keys(configSchema.shape);

const OPTIONAL_STRING_KEYS = new Set([
    "baseImage",
    "backupS3Image",
    "awsVpcId",
    "awsAmiId",
    "backupS3Endpoint",
    "backupS3Bucket",
    "backupS3AccessKey",
    "backupS3SecretKey",
]);

const STRING_KEYS = new Set([
    "baseImage",
    "databaseName",
    "appUser",
    "backupS3Image",
    "backupS3Endpoint",
    "backupS3Bucket",
    "backupS3AccessKey",
    "backupS3SecretKey",
    "backupS3Region",
]);

/** Pulumi stores scalar config values as strings: `replicas: 2` arrives as "2". */
function parseValue(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

/**
 * Validates the raw `pgha:*` config of a stack (as `pulumi.runtime.allConfig()` returns it:
 * `{"pgha:replicas": "2", ...}`) and fills in defaults. Keys of other namespaces are ignored.
 * @throws ConfigError naming every bad or unknown key and what is allowed, before anything is created.
 */
export function parseClusterConfig(all: Record<string, string>, namespace = "pgha"): ClusterConfig {
    const prefix = `${namespace}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) {
            const name = key.slice(prefix.length);
            // Pulumi.yaml declares optional strings with an empty default: empty means unset.
            if (value === "" && OPTIONAL_STRING_KEYS.has(name)) {
                continue;
            }
            // String-typed keys stay strings even if they look like JSON (a database called "123").
            raw[name] = STRING_KEYS.has(name) ? value : parseValue(value);
        }
    }
    const result = configSchema.safeParse(raw, { reportInput: true });
    const problems = result.success
        ? []
        : result.error.issues.map((issue) => withKey(describeIssue(issue, prefix), issue, prefix));
    const awsRegion = all["aws:region"];
    if (raw.platform === "aws" && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(awsRegion ?? "")) {
        problems.push(
            `aws:region must be set to an AWS region such as eu-west-1 when pgha:platform is "aws", got ${JSON.stringify(awsRegion ?? null)}`,
        );
    }
    if (!result.success || problems.length > 0) {
        throw new ConfigError(problems);
    }
    return {
        ...result.data,
        baseImage: result.data.baseImage ?? `postgres:${result.data.postgresVersion}`,
        awsRegion,
    };
}

function describeIssue(issue: z.core.$ZodIssue, prefix: string): string {
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length ? `${prefix}${issue.path.join(".")}.` : prefix;
        return `unknown config key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => where + k).join(", ")}; allowed: ${allowedKeys(issue.path, prefix)}`;
    }
    if (
        issue.code === "invalid_value" ||
        issue.code === "invalid_type" ||
        issue.code === "custom" ||
        issue.code === "too_small" ||
        issue.code === "too_big" ||
        issue.code === "invalid_format" ||
        issue.code === "invalid_union"
    ) {
        return "input" in issue && issue.code !== "custom"
            ? `${issue.message}, got ${JSON.stringify(issue.input)}`
            : issue.message;
    }
    return `${prefix}${issue.path.join(".")}: ${issue.message}`;
}

/** A message that does not name its key (zod's own, e.g. for a wrong type) gets the key in front. */
function withKey(message: string, issue: z.core.$ZodIssue, prefix: string): string {
    const key = issue.path.filter((p) => typeof p === "string").join(".");
    return message.includes(prefix) || key === "" ? message : `${prefix}${key}: ${message}`;
}

function allowedKeys(path: PropertyKey[], prefix: string): string {
    const where = path.length ? `${prefix}${path.join(".")}.` : prefix;
    return CONFIG_KEYS.map((k) => where + k).join(", ");
}
