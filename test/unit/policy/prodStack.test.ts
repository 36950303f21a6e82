import { prodHasBackupBucket, prodHasReplica } from "../../../policy/prodStack";
import { TYPES } from "../../../policy/types";
import { StackResource, UNKNOWN_STRING, validateStack } from "./policyArgs";

const node = (name: string, role: string, tags: "tags" | "tagsAll" = "tags"): StackResource => ({
    type: TYPES.instance,
    name,
    props: {
        ami: "ami-0123abcd",
        instanceType: "m7i.large",
        [tags]: { Name: name, "pgha:cluster": "pgha-prod", "pgha:role": role, "pgha:stack": "prod" },
    },
});
const securityGroup: StackResource = {
    type: TYPES.securityGroup,
    name: "pgha-prod-sg-postgres",
    props: { vpcId: "vpc-0123abcd", tagsAll: UNKNOWN_STRING },
};
const bucket: StackResource = {
    type: TYPES.bucket,
    name: "pgha-prod-backups",
    props: { bucket: "pgha-prod-backups-1a2b3c4" },
};
/** What the Docker dev stack declares: no aws: resource at all. */
const devStack: StackResource[] = [
    {
        type: "random:index/randomPassword:RandomPassword",
        name: "pgha-dev-secrets-app",
        props: { length: 32, special: false },
    },
    { type: TYPES.dockerContainer, name: "pgha-dev-primary", props: { name: "pgha-dev-primary" } },
];

describe("prod-has-replica (mandatory)", () => {
    test("is mandatory", () => expect(prodHasReplica.enforcementLevel).toBe("mandatory"));

    test("passes the AWS stack with a primary and a replica (tags from the inputs or from tagsAll)", () => {
        expect(
            validateStack(prodHasReplica, [
                securityGroup,
                node("primary", "primary"),
                node("replica-1", "replica"),
            ]),
        ).toEqual({ violations: [] });
        expect(
            validateStack(prodHasReplica, [
                node("primary", "primary"),
                node("replica-1", "replica", "tagsAll"),
            ]),
        ).toEqual({ violations: [] });
    });

    test("fails the AWS stack without a replica", () => {
        expect(
            validateStack(prodHasReplica, [
                securityGroup,
                node("primary", "primary"),
                node("pgbouncer", "pgbouncer"),
            ]),
        ).toEqual({
            violations: [
                {
                    message:
                        "the AWS stack has 0 EC2 instances tagged pgha:role=replica; prod needs at least 1 streaming replica: set pgha:replicas to 1 or more (replica instances carry the tag through clusterTags)",
                    urn: undefined,
                },
            ],
        });
    });

    test("does not apply to the Docker dev stack", () => {
        expect(validateStack(prodHasReplica, devStack)).toEqual({
            notApplicable: "not the AWS platform: the stack declares no aws: resources",
        });
    });
});

describe("prod-has-backup-bucket (advisory until backups land)", () => {
    test("is advisory", () => expect(prodHasBackupBucket.enforcementLevel).toBe("advisory"));

    test("passes the AWS stack with a bucket", () => {
        expect(
            validateStack(prodHasBackupBucket, [
                node("primary", "primary"),
                node("replica-1", "replica"),
                bucket,
            ]),
        ).toEqual({ violations: [] });
    });

    test("warns when the AWS stack has no bucket, saying why it is only advisory", () => {
        expect(
            validateStack(prodHasBackupBucket, [node("primary", "primary"), node("replica-1", "replica")]),
        ).toEqual({
            violations: [
                {
                    message: expect.stringMatching(
                        /^the AWS stack has no S3 bucket for backups: .*Advisory until the backup feature lands; then this check becomes mandatory$/,
                    ),
                    urn: undefined,
                },
            ],
        });
    });

    test("does not apply to the Docker dev stack", () => {
        expect(validateStack(prodHasBackupBucket, devStack)).toEqual({
            notApplicable: expect.stringMatching(/^not the AWS platform/),
        });
    });
});
