/**
 * Checks of the whole prod stack: the AWS platform (pgha:platform "aws") must run at least one
 * streaming replica, should have a backup bucket, and must not send its backups through a NAT
 * gateway it creates.
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

/** Whether a VPC endpoint's inputs are an S3 gateway endpoint (`com.amazonaws.<region>.s3`, type Gateway). */
function isS3GatewayEndpoint(props: Record<string, unknown>): boolean {
    return (
        /^com\.amazonaws\.[a-z0-9-]+\.s3$/.test(String(props.serviceName)) &&
        props.vpcEndpointType === "Gateway"
    );
}

/**
 * An AWS stack that creates a NAT gateway and a backup bucket also creates an S3 gateway endpoint,
 * so WAL and backups reach the bucket without the NAT gateway's per-GB charge. Not applicable to a
 * stack that creates no NAT gateway (an existing VPC's routes are not the stack's to judge).
 */
export function backupsSkipNatCheck(resources: readonly PolicyResource[]): StackCheck {
    if (!isAwsStack(resources)) return NOT_AWS;
    const nats = resources.filter((r) => r.type === TYPES.natGateway).length;
    const buckets = resources.filter((r) => BUCKET_TYPES.includes(r.type)).length;
    if (nats === 0 || buckets === 0) {
        return {
            applicable: false,
            reason: "the stack creates no NAT gateway or no backup bucket: no backup traffic of its own crosses a NAT gateway",
        };
    }
    const endpoints = resources.filter((r) => r.type === TYPES.vpcEndpoint && isS3GatewayEndpoint(r.props));
    return {
        applicable: true,
        violations:
            endpoints.length > 0
                ? []
                : [
                      `the AWS stack creates ${nats} NAT gateway${nats > 1 ? "s" : ""} and a backup bucket but no S3 gateway endpoint ` +
                          "(com.amazonaws.<region>.s3, type Gateway): WAL and backups would cross the NAT gateway, paid per GB. " +
                          "Attach one to the private route tables (components/aws/network.ts does)",
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

/** Mandatory: backups of an AWS stack that creates a NAT gateway go through an S3 gateway endpoint. */
export const prodBackupsSkipNat: StackPolicy = {
    name: "prod-backups-skip-nat",
    description:
        "An AWS stack that creates a NAT gateway and a backup bucket creates an S3 gateway endpoint, so backups never cross the NAT gateway.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
        report(backupsSkipNatCheck(args.resources), args, reportViolation),
};
