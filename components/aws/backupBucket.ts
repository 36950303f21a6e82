import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Days added to `retentionDays` before the lifecycle rule expires backup data (the safety net's margin). */
export const BACKUP_EXPIRATION_MARGIN_DAYS = 7;
/** Days after which S3 aborts a multipart upload pgBackRest left unfinished. */
export const MULTIPART_ABORT_DAYS = 7;
/**
 * Objects of this size or less are never expired by the retention rule. pgBackRest writes
 * `archive/<stanza>/archive.info` (and its `.copy`) only at stanza-create and stanza-upgrade, so an
 * age-based rule over the whole repository would delete them `retentionDays` + margin after the
 * stanza was created, and every `archive-push` would then fail: WAL would pile up on the primary.
 * They are a few hundred bytes (a few KiB encrypted, after many upgrades), as are the timeline
 * `.history` files a restore needs; WAL segments and backup files worth expiring are larger.
 */
export const RETENTION_RULE_MIN_OBJECT_BYTES = 16 * 1024;

/** The allowed range of `retentionDays` and `noncurrentVersionDays`. */
const MAX_DAYS = 3650;
/** A repository prefix: non-empty, `/`-separated segments of safe characters, ending with `/`. */
const PREFIX_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\/$/;
/** A KMS key ARN (not an alias ARN: IAM resources and S3 encryption need the key itself). */
const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
/** Longest component name whose auto-named bucket (`<name>-<7 random chars>`) fits S3's 63 characters. */
const MAX_NAME_LENGTH = 55;

/** Options of {@link BackupBucket}. */
export interface BackupBucketArgs {
    /**
     * Age in days, 1 to 3650, that the oldest full backup reaches before pgBackRest expires it.
     * Objects under the repository prefix older than this plus {@link BACKUP_EXPIRATION_MARGIN_DAYS}
     * are expired by S3: a safety net in case pgBackRest's own expiration stops running. With
     * `repo1-retention-full-type=time` that age is `repo1-retention-full` plus the interval between
     * full backups (incrementals reference the files of their full backup, which are as old as it).
     * The net also removes the last backups if backups stop altogether for that long: alarm on backup age.
     */
    readonly retentionDays: number;
    /** Days, 1 to 3650, a replaced or deleted object version is kept before S3 removes it. Defaults to 7. */
    readonly noncurrentVersionDays?: number;
    /**
     * The pgBackRest repository's path inside the bucket, ending with `/` and not starting with one,
     * e.g. `pgbackrest/` (the default). The nodes may touch nothing outside it.
     */
    readonly prefix?: string;
    /** ARN of an existing KMS key (not an alias) to encrypt with. Defaults to a key created here, with rotation. */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /** Whether `pulumi destroy` may delete the bucket with every backup version in it. Defaults to false. */
    readonly forceDestroy?: boolean;
    /**
     * Keep the bucket, its settings and the created KMS key when the stack is destroyed
     * (`retainOnDelete`): the backups stay readable. Defaults to false.
     */
    readonly retainOnDestroy?: boolean;
    /** Tags of the bucket and of the created KMS key. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An IAM policy document as this component writes it. */
export interface BackupPolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: {
        readonly Sid: string;
        readonly Effect: "Allow" | "Deny";
        readonly Principal?: "*";
        readonly Action: string | string[];
        readonly Resource: string | string[];
        readonly Condition?: Record<string, Record<string, string | string[]>>;
    }[];
}

/** The pgBackRest options of repository 1 on a {@link BackupBucket}, as `pgbackrest.conf` keys. */
export interface PgBackRestS3RepoOptions {
    readonly "repo1-type": "s3";
    readonly "repo1-path": string;
    readonly "repo1-s3-bucket": string;
    readonly "repo1-s3-region": string;
    readonly "repo1-s3-endpoint": string;
    readonly "repo1-s3-key-type": "auto";
}

/**
 * Checks the args of {@link BackupBucket} (and its name, which the bucket's name is derived from).
 * @throws Error naming the input and its allowed values when one is out of range.
 */
export function validateBackupBucketArgs(name: string, args: BackupBucketArgs): void {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || name.length > MAX_NAME_LENGTH || name.startsWith("xn--")) {
        throw new Error(
            `BackupBucket name must be 1 to ${MAX_NAME_LENGTH} lowercase letters, digits and hyphens, starting with a letter or digit (the S3 bucket name is derived from it), got "${name}"`,
        );
    }
    const days = (input: string, value: unknown) => {
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_DAYS) {
            throw new Error(
                `BackupBucket ${name}: \`${input}\` must be an integer from 1 to ${MAX_DAYS} (days), got ${String(value)}`,
            );
        }
    };
    days("retentionDays", args.retentionDays);
    if (args.noncurrentVersionDays !== undefined) {
        days("noncurrentVersionDays", args.noncurrentVersionDays);
    }
    if (args.prefix !== undefined && !PREFIX_PATTERN.test(args.prefix)) {
        throw new Error(
            `BackupBucket ${name}: \`prefix\` must be a path like "pgbackrest/": segments of letters, digits, ".", "_" and "-", not starting with "/" or ".", ending with "/", got "${args.prefix}"`,
        );
    }
    if (typeof args.kmsKeyArn === "string" && !KMS_KEY_ARN_PATTERN.test(args.kmsKeyArn)) {
        throw new Error(
            `BackupBucket ${name}: \`kmsKeyArn\` must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, not an alias), got "${args.kmsKeyArn}"`,
        );
    }
}

/**
 * The bucket's lifecycle rules, all limited to the repository `prefix`:
 * - `expire-old-backups`: current objects larger than {@link RETENTION_RULE_MIN_OBJECT_BYTES}
 *   expire `retentionDays` + {@link BACKUP_EXPIRATION_MARGIN_DAYS} days after they were written;
 * - `housekeeping`: replaced and deleted versions go after `noncurrentVersionDays`, then their
 *   delete markers (which would otherwise slow every listing); unfinished multipart uploads are
 *   aborted after {@link MULTIPART_ABORT_DAYS} days (a size filter would not allow that action).
 */
export function backupLifecycleRules(
    retentionDays: number,
    noncurrentVersionDays: number,
    prefix: string,
): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    return [
        {
            id: "expire-old-backups",
            status: "Enabled",
            filter: { and: { prefix, objectSizeGreaterThan: RETENTION_RULE_MIN_OBJECT_BYTES } },
            expiration: { days: retentionDays + BACKUP_EXPIRATION_MARGIN_DAYS },
        },
        {
            id: "housekeeping",
            status: "Enabled",
            filter: { prefix },
            expiration: { expiredObjectDeleteMarker: true },
            noncurrentVersionExpiration: { noncurrentDays: noncurrentVersionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: MULTIPART_ABORT_DAYS },
        },
    ];
}

/** The bucket policy: any request on the bucket or its objects not made over TLS is denied. */
export function tlsOnlyBucketPolicyDocument(bucketArn: string): BackupPolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/**
 * What pgBackRest on a node needs, and nothing more: list the bucket under `prefix`, read, write
 * and delete objects under it, and use the key for them.
 */
export function backupAccessPolicyDocument(
    bucketArn: string,
    keyArn: string,
    prefix: string,
): BackupPolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ListBackupRepository",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": `${prefix}*` } },
            },
            {
                Sid: "ReadWriteBackupRepository",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "UseBackupKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
                Resource: keyArn,
            },
        ],
    };
}

/** pgBackRest's `repo1-path` for a bucket prefix: `pgbackrest/` gives `/pgbackrest`. */
export function repoPathFor(prefix: string): string {
    return `/${prefix.replace(/\/+$/, "")}`;
}

/**
 * The `pgbackrest.conf` options of repository 1 on the bucket, credentials from the instance role
 * (`repo1-s3-key-type=auto`).
 */
export function pgbackrestS3RepoOptions(
    bucketName: string,
    region: string,
    prefix: string,
): PgBackRestS3RepoOptions {
    return {
        "repo1-type": "s3",
        "repo1-path": repoPathFor(prefix),
        "repo1-s3-bucket": bucketName,
        "repo1-s3-region": region,
        "repo1-s3-endpoint": `s3.${region}.amazonaws.com`,
        "repo1-s3-key-type": "auto",
    };
}

/**
 * An S3 bucket for pgBackRest's repository: versioned, encrypted with KMS (S3 Bucket Keys on),
 * closed to the public, ACLs disabled (BucketOwnerEnforced), TLS only, with lifecycle rules
 * ({@link backupLifecycleRules}). Without `kmsKeyArn` it creates a KMS key with yearly rotation
 * and an alias `alias/<name>-<suffix>`. {@link accessPolicyJson} is the policy the nodes' role needs.
 * @throws Error synchronously, before anything is created, when an arg is out of range
 * ({@link validateBackupBucketArgs}).
 */
export class BackupBucket extends pulumi.ComponentResource {
    /** The bucket's name (auto-named `<name>-<7 random characters>`). */
    public readonly bucketName: pulumi.Output<string>;
    /** The bucket's ARN. */
    public readonly bucketArn: pulumi.Output<string>;
    /** The bucket's region. */
    public readonly region: pulumi.Output<string>;
    /** ARN of the key objects are encrypted with: the given `kmsKeyArn` or the created key. */
    public readonly kmsKeyArn: pulumi.Output<string>;
    /** The repository prefix inside the bucket, e.g. `pgbackrest/`. */
    public readonly prefix: string;
    /** pgBackRest's `repo1-path` for {@link prefix}, e.g. `/pgbackrest`. */
    public readonly repoPath: string;
    /** The IAM policy (JSON) the nodes' role needs: {@link backupAccessPolicyDocument}. */
    public readonly accessPolicyJson: pulumi.Output<string>;
    /** The `pgbackrest.conf` options of repository 1: {@link pgbackrestS3RepoOptions}. */
    public readonly repoOptions: pulumi.Output<PgBackRestS3RepoOptions>;
    /** The bucket itself, for `dependsOn`. */
    public readonly bucket: aws.s3.Bucket;

    constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before super(): a rejected configuration must not even register the component.
        validateBackupBucketArgs(name, args);
        super("pgha:aws:BackupBucket", name, {}, opts);
        const prefix = args.prefix ?? "pgbackrest/";
        const noncurrentVersionDays = args.noncurrentVersionDays ?? 7;
        const forceDestroy = args.forceDestroy ?? false;
        this.prefix = prefix;
        this.repoPath = repoPathFor(prefix);
        // Retained, the bucket keeps its encryption, versioning, lifecycle and access settings and its
        // key: a deleted setting would leave a bucket of backups less protected, a deleted key unreadable.
        const child = { parent: this, retainOnDelete: args.retainOnDestroy ?? false };

        if (args.kmsKeyArn !== undefined) {
            this.kmsKeyArn = pulumi.output(args.kmsKeyArn);
        } else {
            const key = new aws.kms.Key(
                `${name}-key`,
                {
                    description: `pgBackRest backups in ${name}`,
                    enableKeyRotation: true,
                    deletionWindowInDays: 30,
                    tags: args.tags,
                },
                child,
            );
            // A prefix, not a fixed name: aliases are unique per account and region, stacks are not.
            new aws.kms.Alias(`${name}-key`, { namePrefix: `alias/${name}-`, targetKeyId: key.keyId }, child);
            this.kmsKeyArn = key.arn;
        }

        this.bucket = new aws.s3.Bucket(name, { forceDestroy, tags: args.tags }, child);
        const bucket = this.bucket.bucket;
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket, versioningConfiguration: { status: "Enabled" } },
            child,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: {
                            sseAlgorithm: "aws:kms",
                            kmsMasterKeyId: this.kmsKeyArn,
                        },
                        bucketKeyEnabled: true,
                    },
                ],
            },
            child,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            {
                bucket,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            child,
        );
        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
            child,
        );
        // After the public access block: S3 rejects concurrent changes of a bucket's policy settings.
        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            {
                bucket,
                policy: this.bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicyDocument(arn))),
            },
            { ...child, dependsOn: [publicAccess] },
        );
        // After versioning: noncurrent-version rules on a bucket not yet versioned are rejected.
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            { bucket, rules: backupLifecycleRules(args.retentionDays, noncurrentVersionDays, prefix) },
            { ...child, dependsOn: [versioning] },
        );

        this.bucketName = bucket;
        this.bucketArn = this.bucket.arn;
        this.region = this.bucket.region;
        this.accessPolicyJson = pulumi
            .all([this.bucket.arn, this.kmsKeyArn])
            .apply(([bucketArn, keyArn]) =>
                JSON.stringify(backupAccessPolicyDocument(bucketArn, keyArn, prefix)),
            );
        this.repoOptions = pulumi
            .all([bucket, this.region])
            .apply(([bucketName, region]) => pgbackrestS3RepoOptions(bucketName, region, prefix));
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            region: this.region,
            kmsKeyArn: this.kmsKeyArn,
            accessPolicyJson: this.accessPolicyJson,
            repoOptions: this.repoOptions,
        });
    }
}
