import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket, BackupBucketArgs, validateBackupBucketArgs } from "./backupBucket";
import { backupPrefixFor } from "./nodeBackups";
import { clusterTags } from "./tags";

/** Options of {@link ClusterBackups}. */
export interface ClusterBackupsArgs {
    /** Name of the cluster: the repository prefix (`<cluster>/`) and the tags. */
    readonly clusterName: string;
    /** `pgha:backupRetentionDays`: days pgBackRest keeps a full backup (repo1-retention-full, by time). */
    readonly retentionDays: number;
    /** `pgha:backupFullIntervalDays`: days between full backups. */
    readonly fullIntervalDays: number;
    /** Id (name) of the nodes' IAM role, which gets the bucket's access policy. */
    readonly nodeRoleId: pulumi.Input<string>;
    /** `pgha:keepDataOnDestroy`: `pulumi destroy` keeps the bucket and its KMS key. Defaults to true. */
    readonly keepOnDestroy?: boolean;
}

/**
 * The age the oldest full backup reaches before pgBackRest expires it: the retention plus the
 * interval between full backups (with `repo1-retention-full-type=time`, a full backup goes only
 * once a newer one is itself older than the retention). The bucket's lifecycle safety net expires
 * objects only past this age (plus its margin).
 * @throws Error naming the config keys when the sum is beyond what the bucket accepts (3650 days).
 */
export function bucketRetentionDays(retentionDays: number, fullIntervalDays: number): number {
    const days = retentionDays + fullIntervalDays;
    if (days > 3650) {
        throw new Error(
            `pgha:backupRetentionDays (${retentionDays}) + pgha:backupFullIntervalDays (${fullIntervalDays}) must be at most 3650 days on AWS, got ${days}`,
        );
    }
    return days;
}

/**
 * The backups of a cluster on AWS: its {@link BackupBucket} (the repository under `<cluster>/`),
 * and the inline policy `<name>-node-access` on the nodes' role, which may list, read, write and
 * delete only under that prefix of this bucket and use only the bucket's KMS key. `pulumi destroy`
 * keeps the bucket, its settings and its KMS key (`keepOnDestroy`, retainOnDelete); without that,
 * destroy stops at a bucket that holds backups (`forceDestroy` false).
 * @throws Error synchronously, before anything is created, when the retention is out of range.
 */
export class ClusterBackups extends pulumi.ComponentResource {
    public readonly bucket: BackupBucket;
    /** The nodes' access to the repository; instances start after it exists. */
    public readonly nodeAccess: aws.iam.RolePolicy;
    /** The repository prefix inside the bucket, `<cluster>/`. */
    public readonly prefix: string;

    constructor(name: string, args: ClusterBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        const prefix = backupPrefixFor(args.clusterName);
        const bucketArgs: BackupBucketArgs = {
            retentionDays: bucketRetentionDays(args.retentionDays, args.fullIntervalDays),
            prefix,
            tags: clusterTags(args.clusterName, "backup", "backups"),
            retainOnDestroy: args.keepOnDestroy ?? true,
        };
        // Before super(): a rejected configuration must not even register the component.
        validateBackupBucketArgs(name, bucketArgs);
        super("pgha:aws:ClusterBackups", name, {}, opts);
        this.prefix = prefix;
        this.bucket = new BackupBucket(name, bucketArgs, { parent: this });
        this.nodeAccess = new aws.iam.RolePolicy(
            `${name}-node-access`,
            { role: args.nodeRoleId, policy: this.bucket.accessPolicyJson },
            { parent: this },
        );
        this.registerOutputs({ bucketName: this.bucket.bucketName, bucketArn: this.bucket.bucketArn });
    }
}
