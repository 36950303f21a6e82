import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "./support/programMocks";

const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const BUCKET = "aws:s3/bucket:Bucket";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls";
const POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const KEY = "aws:kms/key:Key";
const ALIAS = "aws:kms/alias:Alias";
const COMPONENT = "pgha:aws:BackupBucket";

const resources: RecordedResource[] = [];

void pulumi.runtime.setMocks(
    {
        newResource(args) {
            resources.push({
                type: args.type,
                name: args.name,
                inputs: args.inputs,
                custom: args.custom ?? true,
            });
            const state: Record<string, unknown> = { ...args.inputs };
            if (args.type === BUCKET) {
                state.bucket = `${args.name}-abc1234`;
                state.arn = `arn:aws:s3:::${args.name}-abc1234`;
                state.region = REGION;
            }
            if (args.type === KEY) {
                state.keyId = `${args.name}-key-id`;
                state.arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${args.name}-key-id`;
            }
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            throw new Error(`unmocked call ${args.token}`);
        },
    },
    "pgha",
    "unit",
    false,
);

// After setMocks, so the component's provider modules see the mocked runtime.
let mod: typeof import("../../components/aws/backupBucket");
beforeAll(async () => {
    mod = await import("../../components/aws/backupBucket");
});

/** Resolves a plain value from an Output (the mocks run with dryRun false: everything is known). */
const value = <T>(output: pulumi.Output<T>): Promise<T> =>
    new Promise((resolve) => output.apply((v) => resolve(v)));

/** Waits until no new registration has arrived for a few ticks, then returns (and forgets) what was recorded. */
async function declared(): Promise<RecordedResource[]> {
    let count = -1;
    let stable = 0;
    while (stable < 3) {
        await new Promise((r) => setTimeout(r, 20));
        stable = resources.length === count ? stable + 1 : 0;
        count = resources.length;
    }
    return resources.splice(0);
}

const one = (recorded: RecordedResource[], type: string): RecordedResource => {
    const found = recorded.filter((r) => r.type === type);
    expect(found).toHaveLength(1);
    return found[0];
};

beforeEach(async () => {
    await declared();
});

describe("BackupBucket", () => {
    test("declares exactly the bucket, its settings, and a rotated key with an alias, all named after the component", async () => {
        const backups = new mod.BackupBucket("pgha-prod-backups", {
            retentionDays: 14,
            tags: { "pgha:cluster": "pgha" },
        });
        await value(backups.accessPolicyJson);
        const recorded = await declared();

        expect(recorded.map((r) => [r.type, r.name]).sort()).toEqual(
            [
                [COMPONENT, "pgha-prod-backups"],
                [KEY, "pgha-prod-backups-key"],
                [ALIAS, "pgha-prod-backups-key"],
                [BUCKET, "pgha-prod-backups"],
                [VERSIONING, "pgha-prod-backups-versioning"],
                [ENCRYPTION, "pgha-prod-backups-encryption"],
                [PUBLIC_ACCESS, "pgha-prod-backups-public-access"],
                [OWNERSHIP, "pgha-prod-backups-ownership"],
                [POLICY, "pgha-prod-backups-tls-only"],
                [LIFECYCLE, "pgha-prod-backups-lifecycle"],
            ].sort(),
        );
        const bucketName = "pgha-prod-backups-abc1234";
        const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/pgha-prod-backups-key-key-id`;

        expect(one(recorded, BUCKET).inputs).toEqual({
            forceDestroy: false,
            tags: { "pgha:cluster": "pgha" },
        });
        expect(one(recorded, KEY).inputs).toEqual({
            description: "pgBackRest backups in pgha-prod-backups",
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags: { "pgha:cluster": "pgha" },
        });
        expect(one(recorded, ALIAS).inputs).toEqual({
            namePrefix: "alias/pgha-prod-backups-",
            targetKeyId: "pgha-prod-backups-key-key-id",
        });
        expect(one(recorded, VERSIONING).inputs).toEqual({
            bucket: bucketName,
            versioningConfiguration: { status: "Enabled" },
        });
        expect(one(recorded, ENCRYPTION).inputs).toEqual({
            bucket: bucketName,
            rules: [
                {
                    applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
                    bucketKeyEnabled: true,
                },
            ],
        });
        expect(one(recorded, PUBLIC_ACCESS).inputs).toEqual({
            bucket: bucketName,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(one(recorded, OWNERSHIP).inputs).toEqual({
            bucket: bucketName,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        });

        expect(await value(backups.bucketName)).toBe(bucketName);
        expect(await value(backups.bucketArn)).toBe(`arn:aws:s3:::${bucketName}`);
        expect(await value(backups.kmsKeyArn)).toBe(keyArn);
        expect(backups.prefix).toBe("pgbackrest/");
        expect(backups.repoPath).toBe("/pgbackrest");
    });

    test("retainOnDestroy keeps the bucket, every setting of it and its KMS key on delete (backups stay readable); default deletes", async () => {
        const retained = async (name: string, retainOnDestroy?: boolean) => {
            const options: Record<string, boolean | undefined> = {};
            const capture: pulumi.ResourceTransformation = (a) => {
                options[`${a.type} ${a.name}`] = (a.opts as pulumi.CustomResourceOptions).retainOnDelete;
                return undefined;
            };
            const b = new mod.BackupBucket(
                name,
                { retentionDays: 14, ...(retainOnDestroy === undefined ? {} : { retainOnDestroy }) },
                { transformations: [capture] },
            );
            await value(b.accessPolicyJson);
            await declared();
            return options;
        };
        const kept = await retained("pgha-kept-backups", true);
        expect(kept).toEqual({
            [`${COMPONENT} pgha-kept-backups`]: undefined,
            [`${KEY} pgha-kept-backups-key`]: true,
            [`${ALIAS} pgha-kept-backups-key`]: true,
            [`${BUCKET} pgha-kept-backups`]: true,
            [`${VERSIONING} pgha-kept-backups-versioning`]: true,
            [`${ENCRYPTION} pgha-kept-backups-encryption`]: true,
            [`${PUBLIC_ACCESS} pgha-kept-backups-public-access`]: true,
            [`${OWNERSHIP} pgha-kept-backups-ownership`]: true,
            [`${POLICY} pgha-kept-backups-tls-only`]: true,
            [`${LIFECYCLE} pgha-kept-backups-lifecycle`]: true,
        });
        const dropped = await retained("pgha-dropped-backups");
        expect(Object.entries(dropped).filter(([, retain]) => retain)).toEqual([]);
        expect(Object.keys(dropped)).toHaveLength(10);
    });

    test("the bucket policy denies every request not made over TLS, on the bucket and its objects", async () => {
        new mod.BackupBucket("tls", { retentionDays: 30 });
        const policy = one(await declared(), POLICY);
        expect(policy.inputs.bucket).toBe("tls-abc1234");
        expect(JSON.parse(policy.inputs.policy)).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: ["arn:aws:s3:::tls-abc1234", "arn:aws:s3:::tls-abc1234/*"],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        });
    });

    test.each([
        [1, 8],
        [14, 21],
        [35, 42],
        [3650, 3657],
    ])(
        "retentionDays %i expires backup data under the prefix after %i days",
        async (retentionDays, expireAfter) => {
            new mod.BackupBucket("lc", { retentionDays });
            const lifecycle = one(await declared(), LIFECYCLE);
            expect(lifecycle.inputs).toEqual({
                bucket: "lc-abc1234",
                rules: [
                    {
                        id: "expire-old-backups",
                        status: "Enabled",
                        filter: { and: { prefix: "pgbackrest/", objectSizeGreaterThan: 16384 } },
                        expiration: { days: expireAfter },
                    },
                    {
                        id: "housekeeping",
                        status: "Enabled",
                        filter: { prefix: "pgbackrest/" },
                        expiration: { expiredObjectDeleteMarker: true },
                        noncurrentVersionExpiration: { noncurrentDays: 7 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            });
        },
    );

    test("the retention rule spares pgBackRest's small never-rewritten files (archive.info)", () => {
        // archive.info is written only at stanza-create/upgrade: an age rule must not reach it.
        const [retention] = mod.backupLifecycleRules(14, 7, "pgbackrest/");
        const archiveInfoBytes = 1024;
        expect((retention.filter as any).and.objectSizeGreaterThan).toBeGreaterThan(archiveInfoBytes);
        expect((retention.filter as any).and.prefix).toBe("pgbackrest/");
    });

    test("a given prefix, noncurrent retention, forceDestroy and key are used as given, and no key is created", async () => {
        const given = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const backups = new mod.BackupBucket("given", {
            retentionDays: 10,
            noncurrentVersionDays: 30,
            prefix: "db/main/",
            kmsKeyArn: given,
            forceDestroy: true,
        });
        const policy = JSON.parse(await value(backups.accessPolicyJson));
        const recorded = await declared();

        expect(recorded.filter((r) => r.type === KEY || r.type === ALIAS)).toEqual([]);
        expect(recorded.filter((r) => r.custom)).toHaveLength(7);
        expect(one(recorded, BUCKET).inputs).toEqual({ forceDestroy: true });
        expect(one(recorded, ENCRYPTION).inputs.rules).toEqual([
            {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: given },
                bucketKeyEnabled: true,
            },
        ]);
        expect(one(recorded, LIFECYCLE).inputs.rules).toEqual([
            {
                id: "expire-old-backups",
                status: "Enabled",
                filter: { and: { prefix: "db/main/", objectSizeGreaterThan: 16384 } },
                expiration: { days: 17 },
            },
            {
                id: "housekeeping",
                status: "Enabled",
                filter: { prefix: "db/main/" },
                expiration: { expiredObjectDeleteMarker: true },
                noncurrentVersionExpiration: { noncurrentDays: 30 },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            },
        ]);
        expect(await value(backups.kmsKeyArn)).toBe(given);
        expect(policy.Statement[2].Resource).toBe(given);
        expect(backups.repoPath).toBe("/db/main");
    });

    test("the IAM policy allows exactly the repository prefix of this bucket and this key", async () => {
        const backups = new mod.BackupBucket("iam", { retentionDays: 14 });
        const policy = JSON.parse(await value(backups.accessPolicyJson));
        await declared();
        const bucketArn = "arn:aws:s3:::iam-abc1234";
        const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/iam-key-key-id`;

        expect(policy).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ListBackupRepository",
                    Effect: "Allow",
                    Action: "s3:ListBucket",
                    Resource: bucketArn,
                    Condition: { StringLike: { "s3:prefix": "pgbackrest/*" } },
                },
                {
                    Sid: "ReadWriteBackupRepository",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    Resource: `${bucketArn}/pgbackrest/*`,
                },
                {
                    Sid: "UseBackupKey",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
                    Resource: keyArn,
                },
            ],
        });
        const statements: any[] = policy.Statement;
        const actions = statements.flatMap((s) => [s.Action].flat());
        const resources = statements.flatMap((s) => [s.Resource].flat());
        expect(statements.every((s) => s.Effect === "Allow")).toBe(true);
        expect(actions.filter((a) => a.includes("*"))).toEqual([]);
        expect(resources.filter((r) => r === "*" || r === `${bucketArn}/*`)).toEqual([]);
    });

    test("the pgBackRest repository options point at the bucket, its region and the prefix", async () => {
        const backups = new mod.BackupBucket("repo", { retentionDays: 14, prefix: "pgbackrest/prod/" });
        expect(await value(backups.repoOptions)).toEqual({
            "repo1-type": "s3",
            "repo1-path": "/pgbackrest/prod",
            "repo1-s3-bucket": "repo-abc1234",
            "repo1-s3-region": REGION,
            "repo1-s3-endpoint": `s3.${REGION}.amazonaws.com`,
            "repo1-s3-key-type": "auto",
        });
        await declared();
    });

    test("two backup buckets in one program do not collide", async () => {
        new mod.BackupBucket("alpha-backups", { retentionDays: 14 });
        new mod.BackupBucket("beta-backups", { retentionDays: 14 });
        const recorded = await declared();
        expect(recorded).toHaveLength(20);
        const urns = recorded.map((r) => `${r.type}::${r.name}`);
        expect(new Set(urns).size).toBe(urns.length);
        for (const r of recorded) {
            expect(r.name).toMatch(/^(alpha|beta)-backups(-|$)/);
        }
        expect(
            recorded
                .filter((r) => r.type === ALIAS)
                .map((r) => r.inputs.namePrefix)
                .sort(),
        ).toEqual(["alias/alpha-backups-", "alias/beta-backups-"]);
    });

    test.each<[string, Record<string, unknown>, RegExp]>([
        [
            "retentionDays 0",
            { retentionDays: 0 },
            /`retentionDays` must be an integer from 1 to 3650 \(days\), got 0$/,
        ],
        [
            "retentionDays 4000",
            { retentionDays: 4000 },
            /`retentionDays` must be an integer from 1 to 3650 \(days\), got 4000$/,
        ],
        [
            "retentionDays 1.5",
            { retentionDays: 1.5 },
            /`retentionDays` must be an integer from 1 to 3650 \(days\), got 1\.5$/,
        ],
        [
            "retentionDays missing",
            {},
            /`retentionDays` must be an integer from 1 to 3650 \(days\), got undefined$/,
        ],
        [
            "noncurrentVersionDays 0",
            { retentionDays: 14, noncurrentVersionDays: 0 },
            /`noncurrentVersionDays` must be an integer from 1 to 3650 \(days\), got 0$/,
        ],
        [
            "prefix /pgbackrest/",
            { retentionDays: 14, prefix: "/pgbackrest/" },
            /`prefix` must be a path like "pgbackrest\/".*not starting with "\/".*got "\/pgbackrest\/"$/,
        ],
        [
            "prefix without trailing slash",
            { retentionDays: 14, prefix: "pgbackrest" },
            /`prefix` must be .*ending with "\/", got "pgbackrest"$/,
        ],
        ["empty prefix", { retentionDays: 14, prefix: "" }, /`prefix` must be .*got ""$/],
        ["prefix with a wildcard", { retentionDays: 14, prefix: "pg*/" }, /`prefix` must be .*got "pg\*\/"$/],
        [
            "an alias for kmsKeyArn",
            { retentionDays: 14, kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/backups` },
            /`kmsKeyArn` must be a KMS key ARN .*got "arn:aws:kms:eu-west-1:123456789012:alias\/backups"$/,
        ],
    ])("rejects %s before creating anything", async (_case, args, message) => {
        expect(() => new mod.BackupBucket("bad", args as any)).toThrow(message);
        expect(() => new mod.BackupBucket("bad", args as any)).toThrow(/^BackupBucket bad: /);
        expect(await declared()).toEqual([]);
    });

    test("rejects a component name S3 cannot derive a bucket name from", async () => {
        expect(() => new mod.BackupBucket("PGHA_Backups", { retentionDays: 14 })).toThrow(
            'BackupBucket name must be 1 to 55 lowercase letters, digits and hyphens, starting with a letter or digit (the S3 bucket name is derived from it), got "PGHA_Backups"',
        );
        expect(() => new mod.BackupBucket("a".repeat(56), { retentionDays: 14 })).toThrow(
            /BackupBucket name must be/,
        );
        expect(await declared()).toEqual([]);
    });
});
