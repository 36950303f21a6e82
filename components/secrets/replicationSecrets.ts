import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { deriveSalt, scramSha256Verifier } from "../postgres/scram";

/** The cluster's credentials, one per role. */
export type CredentialName = "superuser" | "replicator" | "app" | "pgbouncer_auth" | "monitor";

/** The credentials ReplicationSecrets creates, in a stable order. */
export const CREDENTIAL_NAMES: readonly CredentialName[] = [
    "superuser",
    "replicator",
    "app",
    "pgbouncer_auth",
    "monitor",
];

/** Options of {@link ReplicationSecrets}. */
export interface ReplicationSecretsArgs {
    /** Password length; 32 alphanumerics is about 190 bits. Default 32. */
    readonly length?: number;
}

/**
 * Random passwords for the superuser, the replicator, the application user, PgBouncer's auth user
 * and the monitoring user, each exposed only as a Pulumi secret, plus the SCRAM verifiers that
 * nodes store instead of the passwords. Passwords are alphanumeric so they need no quoting in
 * connection strings or config files.
 */
export class ReplicationSecrets extends pulumi.ComponentResource {
    /** Passwords by credential; every one a secret Output. */
    public readonly passwords: Record<CredentialName, pulumi.Output<string>>;
    /** SCRAM-SHA-256 verifiers by credential, with a stable per-role salt; secret Outputs. */
    public readonly verifiers: Record<CredentialName, pulumi.Output<string>>;

    constructor(name: string, args: ReplicationSecretsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:secrets:ReplicationSecrets", name, {}, opts);
        const length = args.length ?? 32;
        if (!Number.isInteger(length) || length < 24 || length > 128) {
            throw new Error(`ReplicationSecrets length must be an integer from 24 to 128, got ${length}`);
        }
        const generate = (credential: string, len: number) =>
            pulumi.secret(
                new random.RandomPassword(
                    `${name}-${credential}`,
                    { length: len, special: false },
                    { parent: this },
                ).result,
            );

        // One secret seed gives each role its own stable salt, so verifiers do not change between runs.
        const saltSeed = generate("scram-salt-seed", 32);
        const passwords = {} as Record<CredentialName, pulumi.Output<string>>;
        const verifiers = {} as Record<CredentialName, pulumi.Output<string>>;
        for (const credential of CREDENTIAL_NAMES) {
            passwords[credential] = generate(credential, length);
            verifiers[credential] = pulumi.secret(
                pulumi
                    .all([passwords[credential], saltSeed])
                    .apply(([password, seed]) => scramSha256Verifier(password, deriveSalt(seed, credential))),
            );
        }
        this.passwords = passwords;
        this.verifiers = verifiers;
        this.registerOutputs({});
    }
}
