import { dockerSecretEnvsMarked, secretInputsMarked } from "../../../policy/secrets";
import { TYPES } from "../../../policy/types";
import { UNKNOWN_STRING, validate } from "./policyArgs";

/**
 * What the policy receives for the dev stack's containers: `envs` came from pulumi.secret(...), but
 * the SDK has already unwrapped it, so only additionalSecretOutputs can tell.
 */
const container = {
    name: "pgha-dev-replica-1",
    image: "sha256:0123",
    envs: [
        "PGHA_SECRET_REPLICATOR=Zx8sQ2mN4vB7cL1kP9dR3tY6wE5uI0oA",
        "PGHA_SECRET_MONITOR=Qw3eR5tY7uI9oP1aS2dF4gH6jK8lZ0xC",
        "TZ=UTC",
    ],
};

describe("docker-secret-envs-marked-secret (mandatory)", () => {
    test("is mandatory", () => expect(dockerSecretEnvsMarked.enforcementLevel).toBe("mandatory"));

    test("passes a container whose envs are in additionalSecretOutputs, and one without PGHA_SECRET_ variables", () => {
        expect(
            validate(dockerSecretEnvsMarked, TYPES.dockerContainer, "replica-1", container, {
                additionalSecretOutputs: ["envs"],
            }),
        ).toEqual([]);
        expect(
            validate(dockerSecretEnvsMarked, TYPES.dockerContainer, "slots", {
                ...container,
                envs: ["TZ=UTC"],
            }),
        ).toEqual([]);
    });

    test("fails a container that does not mark envs, naming the variables but never their values", () => {
        const messages = validate(dockerSecretEnvsMarked, TYPES.dockerContainer, "replica-1", container);
        expect(messages).toEqual([
            'container pgha-dev-replica-1: envs carry PGHA_SECRET_REPLICATOR, PGHA_SECRET_MONITOR but "envs" is not in additionalSecretOutputs; ' +
                "a policy cannot see whether an input came from pulumi.secret() (the policy SDK unwraps secrets; pulumi/pulumi-policy#241), " +
                'so mark it on the docker.Container: { additionalSecretOutputs: ["envs"] }',
        ]);
        expect(messages.join("\n")).not.toMatch(/Zx8sQ2|Qw3eR5/);
    });

    test("entries unknown during preview cannot be read: nothing to report until up", () => {
        expect(
            validate(dockerSecretEnvsMarked, TYPES.dockerContainer, "replica-1", {
                ...container,
                envs: [UNKNOWN_STRING, UNKNOWN_STRING],
            }),
        ).toEqual([]);
    });
});

describe("secret-inputs-marked-secret (mandatory)", () => {
    test("is mandatory", () => expect(secretInputsMarked.enforcementLevel).toBe("mandatory"));

    test("passes the credential store's SecretVersion: its SDK marks secretString, and secretId is only a reference", () => {
        expect(
            validate(
                secretInputsMarked,
                "aws:secretsmanager/secretVersion:SecretVersion",
                "pgha-prod-credentials-app",
                {
                    secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
                    secretString: '{"password":"p","verifier":"v"}',
                },
                { additionalSecretOutputs: ["secretBinary", "secretString", "secretStringWo"] },
            ),
        ).toEqual([]);
    });

    test("passes booleans, lengths and empty strings named like secrets, and provider configuration", () => {
        expect(
            validate(secretInputsMarked, "aws:rds/instance:Instance", "db", {
                manageMasterUserPassword: true,
                passwordLength: 32,
                masterUserSecretKmsKeyId: "k",
                adminPassword: "",
            }),
        ).toEqual([]);
        expect(
            validate(secretInputsMarked, "pulumi:providers:aws", "default", {
                secretKey: "x",
                region: "eu-west-1",
            }),
        ).toEqual([]);
    });

    test("fails a password input that is not marked, known or still unknown, without printing it", () => {
        const messages = validate(secretInputsMarked, "command:local:Command", "bootstrap", {
            create: "psql",
            dbPassword: "hunter2-but-longer",
            clientSecret: UNKNOWN_STRING,
        });
        expect(messages).toEqual([
            'command:local:Command bootstrap: input "dbPassword" looks like a secret but is not in additionalSecretOutputs; a policy cannot see whether an input came from pulumi.secret() (the policy SDK unwraps secrets; pulumi/pulumi-policy#241), so mark it: { additionalSecretOutputs: ["dbPassword"] }',
            expect.stringMatching(
                /^command:local:Command bootstrap: input "clientSecret" looks like a secret/,
            ),
        ]);
        expect(messages.join("\n")).not.toContain("hunter2");
    });
});
