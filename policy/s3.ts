/**
 * S3 buckets (the backups' bucket): default encryption, and public access blocked.
 *
 * Both are stack policies: the settings are separate resources (`BucketServerSideEncryptionConfiguration`,
 * `BucketPublicAccessBlock`) that point at their bucket. A setting is matched to its bucket through
 * the engine's property dependencies (`bucket` depends on the bucket resource: known even during
 * the preview of a new bucket) or, for an existing bucket, by the bucket's name or id.
 */
import type { PolicyResource } from "@pulumi/policy";
import { BUCKET_TYPES, StackPolicy, TYPES } from "./types";
import { peek, peekArray, UNKNOWN } from "./values";

/** One violation of a stack policy, attached to a resource. */
export interface Finding {
    readonly message: string;
    readonly urn: string;
}

/** Whether the setting resource `setting` (its `bucket` input) points at `bucket`. */
function pointsAt(setting: PolicyResource, bucket: PolicyResource): boolean {
    if ((setting.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn)) {
        return true;
    }
    const target = peek(setting.props, "bucket");
    if (typeof target !== "string") {
        return false;
    }
    return [peek(bucket.props, "bucket"), peek(bucket.props, "id")].some(
        (v) => typeof v === "string" && v === target,
    );
}

const label = (r: PolicyResource) => `bucket ${r.name}`;

/** Whether an SSE configuration resource has a rule with a default algorithm. */
function hasDefaultAlgorithm(setting: PolicyResource): boolean | typeof UNKNOWN {
    const rules = peekArray(setting.props, "rules");
    if (rules === UNKNOWN) return UNKNOWN;
    return rules.some((rule) => {
        const algorithm = peek(peek(rule, "applyServerSideEncryptionByDefault"), "sseAlgorithm");
        return algorithm === UNKNOWN || (typeof algorithm === "string" && algorithm !== "");
    });
}

/**
 * Whether a bucket declares default encryption inline (the deprecated in-bucket form). Unknown does
 * not count: during preview a new bucket's computed value is unknown, and a declared one is known.
 */
function inlineEncryption(bucket: PolicyResource): boolean {
    for (const key of ["serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations"]) {
        const value = peek(bucket.props, key);
        if (value === UNKNOWN || value === undefined || value === null) continue;
        if (!Array.isArray(value) || peek(value, "length") !== 0) return true;
    }
    return false;
}

/**
 * Buckets without default encryption: neither an inline configuration nor a
 * `BucketServerSideEncryptionConfiguration[V2]` with a rule naming `sseAlgorithm` that points at it.
 */
export function unencryptedBuckets(resources: readonly PolicyResource[]): Finding[] {
    const settings = resources.filter((r) => r.type === TYPES.bucketSse || r.type === TYPES.bucketSseV2);
    const findings: Finding[] = [];
    for (const setting of settings) {
        if (hasDefaultAlgorithm(setting) === false) {
            findings.push({
                message: `encryption configuration ${setting.name} has no rule with applyServerSideEncryptionByDefault.sseAlgorithm`,
                urn: setting.urn,
            });
        }
    }
    for (const bucket of resources.filter((r) => BUCKET_TYPES.includes(r.type))) {
        const configured = settings.some((s) => pointsAt(s, bucket) && hasDefaultAlgorithm(s) !== false);
        if (!configured && !inlineEncryption(bucket)) {
            findings.push({
                message: `${label(bucket)} has no default encryption: add an aws.s3.BucketServerSideEncryptionConfiguration for it (sseAlgorithm "aws:kms" or "AES256")`,
                urn: bucket.urn,
            });
        }
    }
    return findings;
}

/** The four switches of a public access block, all of which must be true. */
export const PUBLIC_ACCESS_FLAGS = [
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
] as const;

/** The flags of a public access block that are not `true` (unknown counts as set: checked again at `up`). */
function openFlags(block: PolicyResource): string[] {
    return PUBLIC_ACCESS_FLAGS.filter((flag) => {
        const value = peek(block.props, flag);
        return value !== true && value !== UNKNOWN;
    });
}

/**
 * Buckets whose public access is not fully blocked: no `BucketPublicAccessBlock` points at them
 * (and no `AccountPublicAccessBlock` of the stack blocks everything), or the one that does leaves
 * one of its four flags off.
 */
export function publicBuckets(resources: readonly PolicyResource[]): Finding[] {
    const findings: Finding[] = [];
    const blocks = resources.filter((r) => r.type === TYPES.bucketPublicAccessBlock);
    for (const block of blocks) {
        const open = openFlags(block);
        if (open.length) {
            findings.push({
                message: `public access block ${block.name} must set ${open.map((f) => `${f}: true`).join(", ")}`,
                urn: block.urn,
            });
        }
    }
    const accountWide = resources.some(
        (r) => r.type === TYPES.accountPublicAccessBlock && openFlags(r).length === 0,
    );
    if (accountWide) {
        return findings;
    }
    for (const bucket of resources.filter((r) => BUCKET_TYPES.includes(r.type))) {
        if (!blocks.some((b) => pointsAt(b, bucket))) {
            findings.push({
                message: `${label(bucket)} has no aws.s3.BucketPublicAccessBlock: add one with ${PUBLIC_ACCESS_FLAGS.map((f) => `${f}: true`).join(", ")}`,
                urn: bucket.urn,
            });
        }
    }
    return findings;
}

/** Mandatory: every bucket has default encryption. */
export const s3DefaultEncryption: StackPolicy = {
    name: "s3-default-encryption",
    description: "Every S3 bucket has default (server-side) encryption configured.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const f of unencryptedBuckets(args.resources)) reportViolation(f.message, f.urn);
    },
};

/** Mandatory: every bucket blocks public access with all four switches. */
export const s3PublicAccessBlocked: StackPolicy = {
    name: "s3-public-access-blocked",
    description: "Every S3 bucket has a public access block with all four switches on.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const f of publicBuckets(args.resources)) reportViolation(f.message, f.urn);
    },
};
