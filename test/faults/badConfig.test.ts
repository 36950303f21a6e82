/**
 * Bad-input sweep, stack config (issue 8): the REAL program (index.ts), run through the e2e engine
 * as `pulumi up` would run it, with one invalid config each. Every run must exit non-zero with a
 * message that names the key and what is allowed, and must create nothing: no state, no Docker
 * container, volume or network with the stack's prefix. test/unit/config.test.ts covers the
 * schema's messages in detail; this proves the entry point stops before the first resource.
 */
import * as fs from "fs";
import { defaultPaths, REPO_ROOT, runProgramProcess, RunProgramResult } from "../e2e/harness/client";
import { E2E_CONFIG } from "../e2e/support/devCluster";
import { dockerObjectsNamed, mapLimit, stateResources } from "./support/sweep";

/** One invalid stack: extra `--config` values and the lines the error must contain. */
interface BadConfig {
    what: string;
    config: Record<string, string | number>;
    expect: string[];
}

const CASES: BadConfig[] = [
    {
        what: "too many replicas",
        config: { "pgha:replicas": 16 },
        expect: ["pgha:replicas must be an integer from 0 to 15, got 16"],
    },
    {
        what: "negative replicas",
        config: { "pgha:replicas": -1 },
        expect: ["pgha:replicas must be an integer from 0 to 15, got -1"],
    },
    {
        what: "unknown platform",
        config: { "pgha:platform": "kubernetes" },
        expect: ['pgha:platform must be one of "docker", "aws", got "kubernetes"'],
    },
    {
        what: "unsupported PostgreSQL",
        config: { "pgha:postgresVersion": 14 },
        expect: ["pgha:postgresVersion must be one of 15, 16, 17, got 14"],
    },
    {
        what: "database name not an identifier",
        config: { "pgha:databaseName": "My-App" },
        expect: ["pgha:databaseName must be a lower-case SQL identifier"],
    },
    {
        what: "reserved application role",
        config: { "pgha:appUser": "postgres" },
        expect: [
            'pgha:appUser must not be "postgres": it is one of the cluster\'s own roles (postgres, replicator, pgbouncer_auth, pgha_monitor)',
        ],
    },
    {
        what: "database name of 61 characters (PgBouncer refuses its _ro entry)",
        config: { "pgha:databaseName": "d".repeat(61) },
        expect: ["pgha:databaseName must be a lower-case SQL identifier", "at most 60 characters"],
    },
    {
        what: "database name a reserved keyword",
        config: { "pgha:databaseName": "user" },
        expect: ['pgha:databaseName must not be "user": it is a reserved SQL keyword'],
    },
    {
        what: "application role a reserved keyword",
        config: { "pgha:appUser": "user" },
        expect: ['pgha:appUser must not be "user": it is a reserved SQL keyword'],
    },
    ...["public", "none"].map((role) => ({
        what: `application role ${role}`,
        config: { "pgha:appUser": role },
        expect: [`pgha:appUser must not be "${role}": PostgreSQL reserves it as a role name`],
    })),
    {
        what: "application role in PostgreSQL's pg_ namespace",
        config: { "pgha:appUser": "pg_app" },
        expect: ['pgha:appUser must not be "pg_app": PostgreSQL reserves role names starting with pg_'],
    },
    ...["template0", "template1", "postgres", "pgbouncer"].map((db) => ({
        what: `database ${db}`,
        config: { "pgha:databaseName": db },
        expect: [
            `pgha:databaseName must not be "${db}": it is PostgreSQL's template or maintenance database`,
        ],
    })),
    {
        what: "host name as bind address",
        config: { "pgha:bindAddress": "localhost" },
        expect: ["pgha:bindAddress must be an IPv4 address such as 127.0.0.1"],
    },
    {
        what: "privileged port",
        config: { "pgha:primaryPort": 80 },
        expect: ["pgha:primaryPort must be an integer from 1024 to 65535, got 80"],
    },
    {
        what: "port above 65535",
        config: { "pgha:pgbouncerPort": 70000 },
        expect: ["pgha:pgbouncerPort must be an integer from 1024 to 65535, got 70000"],
    },
    {
        what: "synchronous mode typo",
        config: { "pgha:synchronousMode": "on" },
        expect: ['pgha:synchronousMode must be one of "off", "any1", got "on"'],
    },
    {
        what: "synchronous mode without replicas",
        config: { "pgha:replicas": 0, "pgha:synchronousMode": "any1" },
        expect: ['pgha:synchronousMode "any1" needs at least 1 replica'],
    },
    {
        what: "pool mode typo",
        config: { "pgha:poolMode": "transactions" },
        expect: ['pgha:poolMode must be one of "session", "transaction", "statement", got "transactions"'],
    },
    {
        what: "pool larger than the server",
        config: { "pgha:poolSize": 195 },
        expect: ["pgha:poolSize (195) must be below pgha:maxConnections - 10 (190)"],
    },
    {
        what: "too few connections",
        config: { "pgha:maxConnections": 5 },
        expect: ["pgha:maxConnections must be an integer from 20 to 10000, got 5"],
    },
    {
        what: "slot WAL bound below its minimum",
        config: { "pgha:maxSlotWalKeepSizeMb": 32 },
        expect: ["pgha:maxSlotWalKeepSizeMb must be an integer from 64 to 10485760, got 32"],
    },
    {
        what: "slot WAL bound below wal_keep_size",
        config: { "pgha:walKeepSizeMb": 1024, "pgha:maxSlotWalKeepSizeMb": 512 },
        expect: ["pgha:maxSlotWalKeepSizeMb (512) must be at least pgha:walKeepSizeMb (1024)"],
    },
    {
        what: "replica port on PgBouncer's",
        config: { "pgha:replicaBasePort": 6431 },
        expect: ["replica 2 (pgha:replicaBasePort + 1) and pgha:pgbouncerPort would both publish port 6432"],
    },
    {
        what: "replica ports past 65535",
        config: { "pgha:replicaBasePort": 65535 },
        expect: ["replica 2 (pgha:replicaBasePort + 1) would be port 65536, above 65535"],
    },
    {
        what: "primary node not in the cluster",
        config: { "pgha:primaryNode": "replica-5" },
        expect: ['pgha:primaryNode "replica-5" is not a node of this cluster'],
    },
    {
        what: "misspelt key",
        config: { "pgha:replica": 3 },
        expect: ["unknown config key pgha:replica; allowed: pgha:platform, pgha:replicas"],
    },
    {
        what: "S3 endpoint without keys",
        config: { "pgha:backupS3Endpoint": "s3.eu-west-1.amazonaws.com" },
        expect: ["pgha:backupS3Endpoint needs pgha:backupS3AccessKey and pgha:backupS3SecretKey"],
    },
    {
        what: "S3 endpoint without a bucket",
        config: {
            "pgha:backupS3Endpoint": "s3.eu-west-1.amazonaws.com",
            "pgha:backupS3AccessKey": "AKIA0000",
            "pgha:backupS3SecretKey": "not-a-secret",
        },
        expect: ["pgha:backupS3Endpoint needs pgha:backupS3Bucket"],
    },
    {
        what: "S3 bucket and keys without an endpoint (they would be ignored)",
        config: { "pgha:backupS3Bucket": "mine", "pgha:backupS3AccessKey": "AKIA0000" },
        expect: ["pgha:backupS3Bucket, pgha:backupS3AccessKey would be ignored"],
    },
    {
        what: "S3 endpoint with a scheme",
        config: { "pgha:backupS3Endpoint": "https://s3.example.com" },
        expect: ["pgha:backupS3Endpoint must be a host name with an optional port"],
    },
    {
        what: "base image not a reference",
        config: { "pgha:baseImage": "Postgres 16" },
        expect: ["pgha:baseImage must be a Docker image reference such as postgres:16"],
    },
    {
        what: "archive timeout too short",
        config: { "pgha:archiveTimeoutSeconds": 5 },
        expect: ["pgha:archiveTimeoutSeconds must be an integer from 10 to 3600, got 5"],
    },
    {
        what: "every problem at once",
        config: { "pgha:replicas": 16, "pgha:poolMode": "fast", "pgha:replica": 1 },
        expect: [
            "Invalid stack configuration (3 problems)",
            "pgha:replicas must be",
            "pgha:poolMode must be",
            "unknown config key pgha:replica;",
        ],
    },
];

const stackOf = (i: number) => `faults-bad-${String(i + 1).padStart(2, "0")}`;
let runs: RunProgramResult[] = [];

beforeAll(async () => {
    // Leftovers of an interrupted run would make "nothing created" meaningless.
    for (let i = 0; i < CASES.length; i++)
        fs.rmSync(defaultPaths(REPO_ROOT, stackOf(i)).statePath, { force: true });
    runs = await mapLimit(CASES, 3, (c, i) =>
        runProgramProcess({ stack: stackOf(i), config: { ...E2E_CONFIG, ...c.config }, timeoutMs: 120_000 }),
    );
}, 600_000);

describe("bad stack config through the real program: rejected before any resource", () => {
    test.each(CASES.map((c, i) => [c.what, i] as const))("%s", async (_what, i) => {
        const run = runs[i];
        const stack = stackOf(i);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain("Invalid stack configuration");
        for (const line of CASES[i].expect) expect(run.stderr).toContain(line);
        expect(run.summary?.created).toEqual([]);
        expect(stateResources(defaultPaths(REPO_ROOT, stack).statePath)).toEqual([]);
        expect(await dockerObjectsNamed(`pgha-${stack}-`)).toEqual([]);
    });
});
