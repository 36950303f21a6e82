import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PGBACKREST_TLS_PORT, PGBOUNCER_PORT, POSTGRES_PORT } from "../postgres";
import { clusterTags } from "./tags";

/** Options of {@link ClusterSecurityGroups}. */
export interface ClusterSecurityGroupsArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    readonly vpcId: pulumi.Input<string>;
    /** Networks allowed to reach PgBouncer (`pgha:awsAppCidrs`); never a /0 (the config refuses it). */
    readonly appCidrs: readonly string[];
    /** Security groups allowed to reach PgBouncer (`pgha:awsAppSecurityGroupIds`). */
    readonly appSecurityGroupIds: readonly string[];
    /** Whether the PostgreSQL nodes run pgBackRest's TLS server for one another (`pgha:backupFromReplica`). Default false. */
    readonly backupServers?: boolean;
}

/**
 * The cluster's two security groups, with every rule a resource of its own:
 *
 * - `postgres` (primary and replicas): 5432 from members of `postgres` (replication, the slot job)
 *   and from `pgbouncer`; with `backupServers`, also pgBackRest's TLS port 8432 from members of
 *   `postgres` only (a backup copying files from a replica); nothing else comes in.
 * - `pgbouncer`: 6432 from the application's CIDR blocks and security groups only.
 *
 * No group admits port 22: nodes are reached through SSM Session Manager. Egress is 5432 to the
 * PostgreSQL nodes and HTTPS/HTTP to the internet: apt repositories, Secrets Manager, KMS and SSM
 * through the NAT gateway, the region's S3 (backups, the SSM agent package) through the S3
 * gateway endpoint's route, which the same 443 rule covers. AWS removes the default allow-all
 * egress rule of a group the provider creates.
 */
export class ClusterSecurityGroups extends pulumi.ComponentResource {
    /** The PostgreSQL nodes' group. */
    public readonly postgres: aws.ec2.SecurityGroup;
    /** PgBouncer's group (on its own instance, or added to the primary's when co-located). */
    public readonly pgbouncer: aws.ec2.SecurityGroup;

    constructor(name: string, args: ClusterSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:ClusterSecurityGroups", name, {}, opts);
        if (args.appCidrs.some((c) => c.endsWith("/0"))) {
            throw new Error(
                "pgha:awsAppCidrs must not contain a /0 block: PgBouncer is never open to the internet",
            );
        }
        if (args.appCidrs.length === 0 && args.appSecurityGroupIds.length === 0) {
            void pulumi.log.warn(
                "pgha:awsAppCidrs and pgha:awsAppSecurityGroupIds are both empty: no application can reach PgBouncer (only SSM port forwarding)",
                this,
            );
        }
        const tags = (suffix: string) => clusterTags(args.clusterName, "security", suffix);
        const group = (suffix: string, description: string) =>
            new aws.ec2.SecurityGroup(
                `${name}-${suffix}`,
                { vpcId: args.vpcId, description, tags: tags(suffix) },
                { parent: this },
            );
        this.postgres = group(
            "postgres",
            "pgha PostgreSQL nodes: 5432 from cluster members and PgBouncer only",
        );
        this.pgbouncer = group("pgbouncer", "pgha PgBouncer: 6432 from the application only");

        const tcp = (port: number) => ({ ipProtocol: "tcp", fromPort: port, toPort: port });
        const ingress = (
            suffix: string,
            groupId: pulumi.Input<string>,
            rule: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">,
        ) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${suffix}`,
                { ...rule, securityGroupId: groupId, tags: tags(suffix) },
                { parent: this },
            );
        const egress = (
            suffix: string,
            groupId: pulumi.Input<string>,
            rule: Omit<aws.vpc.SecurityGroupEgressRuleArgs, "securityGroupId">,
        ) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${suffix}`,
                { ...rule, securityGroupId: groupId, tags: tags(suffix) },
                { parent: this },
            );

        ingress("postgres-from-members", this.postgres.id, {
            ...tcp(POSTGRES_PORT),
            referencedSecurityGroupId: this.postgres.id,
            description: "replication and the slot job",
        });
        ingress("postgres-from-pgbouncer", this.postgres.id, {
            ...tcp(POSTGRES_PORT),
            referencedSecurityGroupId: this.pgbouncer.id,
            description: "PgBouncer's server connections",
        });
        if (args.backupServers ?? false) {
            // Only the cluster's own PostgreSQL nodes: the backup on the primary reaches the replicas' pgbackrest servers.
            ingress("backup-server-from-members", this.postgres.id, {
                ...tcp(PGBACKREST_TLS_PORT),
                referencedSecurityGroupId: this.postgres.id,
                description: "pgBackRest TLS server, from the backup on another node",
            });
            egress("postgres-to-backup-servers", this.postgres.id, {
                ...tcp(PGBACKREST_TLS_PORT),
                referencedSecurityGroupId: this.postgres.id,
                description: "pgBackRest TLS servers of the other nodes",
            });
        }
        args.appCidrs.forEach((cidr, i) =>
            ingress(`pgbouncer-from-cidr-${i + 1}`, this.pgbouncer.id, {
                ...tcp(PGBOUNCER_PORT),
                cidrIpv4: cidr,
                description: `application network ${cidr}`,
            }),
        );
        args.appSecurityGroupIds.forEach((id, i) =>
            ingress(`pgbouncer-from-group-${i + 1}`, this.pgbouncer.id, {
                ...tcp(PGBOUNCER_PORT),
                referencedSecurityGroupId: id,
                description: `application group ${id}`,
            }),
        );

        for (const [suffix, groupId] of [
            ["postgres", this.postgres.id],
            ["pgbouncer", this.pgbouncer.id],
        ] as const) {
            egress(`${suffix}-to-postgres`, groupId, {
                ...tcp(POSTGRES_PORT),
                referencedSecurityGroupId: this.postgres.id,
                description: "PostgreSQL nodes",
            });
            egress(`${suffix}-to-https`, groupId, {
                ...tcp(443),
                cidrIpv4: "0.0.0.0/0",
                description: "AWS APIs, SSM, apt.postgresql.org",
            });
            egress(`${suffix}-to-http`, groupId, {
                ...tcp(80),
                cidrIpv4: "0.0.0.0/0",
                description: "Debian package mirror",
            });
        }
        this.registerOutputs({ postgresGroupId: this.postgres.id, pgbouncerGroupId: this.pgbouncer.id });
    }
}
