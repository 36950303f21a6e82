import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CREDENTIAL_NAMES, CredentialName } from "../secrets/replicationSecrets";
import { clusterTags } from "./tags";

/** Options of {@link CredentialStore}. */
export interface CredentialStoreArgs {
    /** Name of the cluster, for tags and descriptions. */
    readonly clusterName: string;
    /** Password of each credential; secret Outputs. */
    readonly passwords: Record<CredentialName, pulumi.Input<string>>;
    /** SCRAM-SHA-256 verifier of each credential; secret Outputs. */
    readonly verifiers: Record<CredentialName, pulumi.Input<string>>;
}

/**
 * The cluster's credentials in AWS Secrets Manager, where the nodes fetch them at boot with their
 * instance role (user data only names the secrets' ARNs). One secret per credential, its value
 * `{"password": ..., "verifier": ...}`, encrypted with a KMS key made for the cluster so that
 * reading a secret takes kms:Decrypt on that key as well as secretsmanager:GetSecretValue.
 */
export class CredentialStore extends pulumi.ComponentResource {
    /** The cluster's KMS key. */
    public readonly key: aws.kms.Key;
    /** The secrets by credential. */
    public readonly secrets: Record<CredentialName, aws.secretsmanager.Secret>;
    /** The secret versions (the values); nodes start only after these exist. */
    public readonly versions: aws.secretsmanager.SecretVersion[];

    constructor(name: string, args: CredentialStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:CredentialStore", name, {}, opts);
        const tags = (suffix: string) => clusterTags(args.clusterName, "secrets", suffix);
        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `pgha ${args.clusterName}: encrypts the cluster's credentials in Secrets Manager`,
                enableKeyRotation: true,
                tags: tags("credentials"),
            },
            { parent: this },
        );
        new aws.kms.Alias(
            `${name}-key`,
            { name: `alias/${args.clusterName}-credentials`, targetKeyId: this.key.keyId },
            { parent: this },
        );

        const secrets = {} as Record<CredentialName, aws.secretsmanager.Secret>;
        this.versions = CREDENTIAL_NAMES.map((credential) => {
            // No fixed secret name: a deleted secret's name stays reserved for its recovery window.
            const secret = new aws.secretsmanager.Secret(
                `${name}-${credential}`,
                {
                    description: `pgha ${args.clusterName}: the ${credential} credential, {"password", "verifier"} (SCRAM-SHA-256)`,
                    kmsKeyId: this.key.arn,
                    tags: tags(`credentials-${credential}`),
                },
                { parent: this },
            );
            secrets[credential] = secret;
            return new aws.secretsmanager.SecretVersion(
                `${name}-${credential}`,
                {
                    secretId: secret.id,
                    secretString: pulumi.secret(
                        pulumi.jsonStringify({
                            password: args.passwords[credential],
                            verifier: args.verifiers[credential],
                        }),
                    ),
                },
                { parent: this },
            );
        });
        this.secrets = secrets;
        this.registerOutputs({ keyArn: this.key.arn });
    }

    /** The secrets' ARNs by credential, resolved together. */
    public arns(): pulumi.Output<Record<CredentialName, string>> {
        return pulumi.all(
            Object.fromEntries(CREDENTIAL_NAMES.map((c) => [c, this.secrets[c].arn])),
        ) as pulumi.Output<Record<CredentialName, string>>;
    }
}
