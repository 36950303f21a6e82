/**
 * Checks of the whole prod stack: the AWS platform (pgha:platform "aws") must run at least one
 * streaming replica, and should have a backup bucket.
 *
 * A policy does not see the stack's config, so "the prod stack" is recognised by what it declares:
 * any `aws:` resource makes it the AWS platform (the Docker dev stack declares none). Nodes are
 * recognised by the `pgha:role` tag every AWS resource of the cluster carries (components/aws/tags.ts).
 */
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { BUCKET_TYPES, StackPolicy, TYPES } from "./types";
import { tagsOf } from "./values";

/** The outcome of a stack check: not about this stack, or its violations. */
export type StackCheck =
    | { readonly applicable: false; readonly reason: string }
    | { readonly applicable: true; readonly violations: string[] };

const NOT_AWS: StackCheck = {
    applicable: false,
    reason: "not the AWS platform: the stack declares no aws: resources",
};

/** Whether the stack deploys the cluster on AWS. */
export function isAwsStack(resources: readonly PolicyResource[]): boolean {
    return resources.some((r) => r.type.startsWith("aws:"));
}

/** EC2 instances of the stack whose `pgha:role` tag is `role`. */
export function instancesWithRole(resources: readonly PolicyResource[], role: string): PolicyResource[] {
    return resources.filter((r) => r.type === TYPES.instance && tagsOf(r.props)["pgha:role"] === role);
}

/** The AWS stack runs at least one EC2 instance tagged `pgha:role=replica`. */
export function replicaCheck(resources: readonly PolicyResource[]): StackCheck {
    if (!isAwsStack(resources)) return NOT_AWS;
    const replicas = instancesWithRole(resources, "replica").length;
    return {
        applicable: true,
        violations:
            replicas >= 1
                ? []
                : [
                      "the AWS stack has 0 EC2 instances tagged pgha:role=replica; prod needs at least 1 streaming replica: " +
                          "set pgha:replicas to 1 or more (replica instances carry the tag through clusterTags)",
                  ],
    };
}

/** The AWS stack declares an S3 bucket for backups. */
export function backupBucketCheck(resources: readonly PolicyResource[]): StackCheck {
    if (!isAwsStack(resources)) return NOT_AWS;
    const buckets = resources.filter((r) => BUCKET_TYPES.includes(r.type));
    return {
        applicable: true,
        violations:
            buckets.length > 0
                ? []
                : [
                      "the AWS stack has no S3 bucket for backups: base backups and WAL archiving are not deployed, so a lost primary " +
                          "loses the data its replicas have not replayed. Advisory until the backup feature lands; then this check becomes mandatory",
                  ],
    };
}

function report(
    check: StackCheck,
    args: StackValidationArgs,
    reportViolation: (message: string) => void,
): void {
    if (!check.applicable) {
        args.notApplicable(check.reason);
    } else {
        for (const message of check.violations) reportViolation(message);
    }
}

/** Mandatory: the AWS (prod) stack has a replica. */
export const prodHasReplica: StackPolicy = {
    name: "prod-has-replica",
    description:
        "The AWS stack runs at least 1 streaming replica (an EC2 instance tagged pgha:role=replica).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => report(replicaCheck(args.resources), args, reportViolation),
};

/** Advisory until backups exist: the AWS (prod) stack has a backup bucket. */
export const prodHasBackupBucket: StackPolicy = {
    name: "prod-has-backup-bucket",
    description: "The AWS stack has an S3 bucket for backups (advisory until the backup feature lands).",
    enforcementLevel: "advisory",
    validateStack: (args, reportViolation) =>
        report(backupBucketCheck(args.resources), args, reportViolation),
};
