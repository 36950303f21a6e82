import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { PatroniSecretName } from "../postgres/rolePlans";

/**
 * The passwords of automatic failover, each a Pulumi secret: Patroni's REST API user (switchover,
 * restart, config), etcd's root user (the first member manages users with it) and Patroni's etcd
 * user (which may only touch Patroni's keys).
 */
export class PatroniSecrets extends pulumi.ComponentResource {
    public readonly passwords: Record<PatroniSecretName, pulumi.Output<string>>;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:secrets:PatroniSecrets", name, {}, opts);
        const generate = (credential: PatroniSecretName) =>
            pulumi.secret(
                new random.RandomPassword(
                    `${name}-${credential}`,
                    { length: 32, special: false },
                    { parent: this },
                ).result,
            );
        this.passwords = {
            patroni_api: generate("patroni_api"),
            etcd_root: generate("etcd_root"),
            etcd_patroni: generate("etcd_patroni"),
        };
        this.registerOutputs({});
    }
}
