import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BackupTlsPems } from "../secrets/backupTlsCertificates";
import { PGBACKREST_TLS_SECRET_FIELDS } from "./nodeScript";
import { clusterTags } from "./tags";

/** The Secrets Manager secrets of pgBackRest's TLS material, by the SecretName a role plan asks for. */
export const BACKUP_TLS_SECRET_NAMES = ["pgbackrest_server_key", "pgbackrest_client_key"] as const;

/** One of {@link BACKUP_TLS_SECRET_NAMES}. */
export type BackupTlsSecretName = (typeof BACKUP_TLS_SECRET_NAMES)[number];

/** Options of {@link BackupTlsSecrets}. */
export interface BackupTlsSecretsArgs {
    /** Name of the cluster, for tags and descriptions. */
    readonly clusterName: string;
    /** The cluster's KMS key (CredentialStore's), which the nodes may already decrypt with through Secrets Manager. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The CA, server and client certificates and keys (BackupTlsCertificates); the keys are secret Outputs. */
    readonly certificates: BackupTlsPems;
}

/**
 * pgBackRest's TLS material in AWS Secrets Manager (`pgha:backupFromReplica` on EC2), where the
 * nodes fetch it at boot with their instance role: the private keys never go into user data, and
 * the certificates stay out of it too (EC2's 16 KB). Two secrets under the cluster's KMS key:
 * `pgbackrest_server_key` `{"password": server key, "certificate": server certificate, "ca": CA}`,
 * read by every node's `pgbackrest server`, and `pgbackrest_client_key` likewise with the client
 * certificate, read by the backup.
 */
export class BackupTlsSecrets extends pulumi.ComponentResource {
    /** The secrets by name. */
    public readonly secrets: Record<BackupTlsSecretName, aws.secretsmanager.Secret>;
    /** The secret versions (the values); nodes start only after these exist. */
    public readonly versions: aws.secretsmanager.SecretVersion[];

    constructor(name: string, args: BackupTlsSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:BackupTlsSecrets", name, {}, opts);
        const c = args.certificates;
        const values: Record<
            BackupTlsSecretName,
            { key: pulumi.Input<string>; certificate: pulumi.Input<string>; what: string }
        > = {
            pgbackrest_server_key: {
                key: c.serverKeyPem,
                certificate: c.serverCertificatePem,
                what: "server (every PostgreSQL node's pgbackrest server)",
            },
            pgbackrest_client_key: {
                key: c.clientKeyPem,
                certificate: c.clientCertificatePem,
                what: "client (the scheduled backup)",
            },
        };
        const secrets = {} as Record<BackupTlsSecretName, aws.secretsmanager.Secret>;
        const f = PGBACKREST_TLS_SECRET_FIELDS;
        this.versions = BACKUP_TLS_SECRET_NAMES.map((secretName) => {
            const suffix = secretName === "pgbackrest_server_key" ? "server" : "client";
            // No fixed secret name: a deleted secret's name stays reserved for its recovery window.
            const secret = new aws.secretsmanager.Secret(
                `${name}-${suffix}`,
                {
                    description: `pgha ${args.clusterName}: pgBackRest TLS ${values[secretName].what}, {"${f.key}": private key, "${f.certificate}", "${f.ca}"} (PEM)`,
                    kmsKeyId: args.kmsKeyArn,
                    tags: clusterTags(args.clusterName, "secrets", `pgbackrest-tls-${suffix}`),
                },
                { parent: this },
            );
            secrets[secretName] = secret;
            return new aws.secretsmanager.SecretVersion(
                `${name}-${suffix}`,
                {
                    secretId: secret.id,
                    secretString: pulumi.secret(
                        pulumi.jsonStringify({
                            [f.key]: values[secretName].key,
                            [f.certificate]: values[secretName].certificate,
                            [f.ca]: c.caCertificatePem,
                        }),
                    ),
                },
                { parent: this },
            );
        });
        this.secrets = secrets;
        this.registerOutputs({});
    }

    /** The secrets' ARNs by name, resolved together. */
    public arns(): pulumi.Output<Record<BackupTlsSecretName, string>> {
        return pulumi.all(
            Object.fromEntries(BACKUP_TLS_SECRET_NAMES.map((n) => [n, this.secrets[n].arn])),
        ) as pulumi.Output<Record<BackupTlsSecretName, string>>;
    }
}
