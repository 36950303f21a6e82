import { s3DefaultEncryption, s3PublicAccessBlocked } from "../../../policy/s3";
import { TYPES } from "../../../policy/types";
import { StackResource, UNKNOWN_STRING, urnOf, validateStack } from "./policyArgs";

/** A new backups bucket during preview: its name is auto-named, its computed outputs unknown. */
const bucket: StackResource = {
    type: TYPES.bucket,
    name: "pgha-prod-backups",
    props: {
        bucket: "pgha-prod-backups-1a2b3c4",
        forceDestroy: false,
        serverSideEncryptionConfiguration: UNKNOWN_STRING,
        tags: { "pgha:role": "backup" },
    },
};
/** The settings point at the bucket through `bucket: backups.id`, unknown until the bucket exists. */
const sse: StackResource = {
    type: TYPES.bucketSseV2,
    name: "pgha-prod-backups",
    props: {
        bucket: UNKNOWN_STRING,
        rules: [
            {
                applyServerSideEncryptionByDefault: {
                    sseAlgorithm: "aws:kms",
                    kmsMasterKeyId: UNKNOWN_STRING,
                },
                bucketKeyEnabled: true,
            },
        ],
    },
    propertyDependencies: { bucket: ["pgha-prod-backups"] },
};
const block = (flags: Record<string, boolean> = {}): StackResource => ({
    type: TYPES.bucketPublicAccessBlock,
    name: "pgha-prod-backups",
    props: {
        bucket: UNKNOWN_STRING,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
        ...flags,
    },
    propertyDependencies: { bucket: ["pgha-prod-backups"] },
});
const bucketUrn = urnOf(TYPES.bucket, "pgha-prod-backups");

describe("s3-default-encryption (mandatory)", () => {
    test("is mandatory", () => expect(s3DefaultEncryption.enforcementLevel).toBe("mandatory"));

    test("passes a new bucket with an encryption configuration that depends on it", () => {
        expect(validateStack(s3DefaultEncryption, [bucket, sse, block()])).toEqual({ violations: [] });
    });

    test("passes an existing bucket whose configuration names it (no dependency recorded)", () => {
        const existing = {
            ...bucket,
            props: { bucket: "pgha-prod-backups-1a2b3c4", id: "pgha-prod-backups-1a2b3c4" },
        };
        const config = {
            ...sse,
            props: { ...sse.props, bucket: "pgha-prod-backups-1a2b3c4" },
            propertyDependencies: {},
        };
        expect(validateStack(s3DefaultEncryption, [existing, config])).toEqual({ violations: [] });
    });

    test("fails a bucket without default encryption, on the bucket's URN", () => {
        expect(validateStack(s3DefaultEncryption, [bucket, block()])).toEqual({
            violations: [
                {
                    message:
                        'bucket pgha-prod-backups has no default encryption: add an aws.s3.BucketServerSideEncryptionConfiguration for it (sseAlgorithm "aws:kms" or "AES256")',
                    urn: bucketUrn,
                },
            ],
        });
    });

    test("fails a configuration that belongs to another bucket, and one without an algorithm", () => {
        const other: StackResource = { type: TYPES.bucketV2, name: "logs", props: { bucket: "logs-1" } };
        const forOther = {
            ...sse,
            name: "logs",
            propertyDependencies: { bucket: ["logs"] },
            props: { bucket: UNKNOWN_STRING, rules: [{ bucketKeyEnabled: true }] },
        };
        const outcome = validateStack(s3DefaultEncryption, [bucket, other, forOther]);
        expect(outcome).toEqual({
            violations: [
                {
                    message:
                        "encryption configuration logs has no rule with applyServerSideEncryptionByDefault.sseAlgorithm",
                    urn: urnOf(TYPES.bucketSseV2, "logs"),
                },
                {
                    message: expect.stringMatching(/^bucket pgha-prod-backups has no default encryption/),
                    urn: bucketUrn,
                },
                {
                    message: expect.stringMatching(/^bucket logs has no default encryption/),
                    urn: urnOf(TYPES.bucketV2, "logs"),
                },
            ],
        });
    });
});

describe("s3-public-access-blocked (mandatory)", () => {
    test("is mandatory", () => expect(s3PublicAccessBlocked.enforcementLevel).toBe("mandatory"));

    test("passes a bucket with all four switches on, or an account-wide block", () => {
        expect(validateStack(s3PublicAccessBlocked, [bucket, sse, block()])).toEqual({ violations: [] });
        const account: StackResource = {
            type: TYPES.accountPublicAccessBlock,
            name: "account",
            props: {
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
        };
        expect(validateStack(s3PublicAccessBlocked, [bucket, account])).toEqual({ violations: [] });
    });

    test("fails a bucket without a public access block", () => {
        expect(validateStack(s3PublicAccessBlocked, [bucket, sse])).toEqual({
            violations: [
                {
                    message:
                        "bucket pgha-prod-backups has no aws.s3.BucketPublicAccessBlock: add one with blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true",
                    urn: bucketUrn,
                },
            ],
        });
    });

    test("fails a block that leaves switches off, naming them", () => {
        expect(
            validateStack(s3PublicAccessBlocked, [
                bucket,
                block({ blockPublicPolicy: false, restrictPublicBuckets: false }),
            ]),
        ).toEqual({
            violations: [
                {
                    message:
                        "public access block pgha-prod-backups must set blockPublicPolicy: true, restrictPublicBuckets: true",
                    urn: urnOf(TYPES.bucketPublicAccessBlock, "pgha-prod-backups"),
                },
            ],
        });
    });
});
