import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig } from "../config";
import { ClusterEndpoints } from "../endpoints";
import {
    BackupSettings,
    clusterNodes,
    PGBOUNCER_PORT,
    POSTGRES_PORT,
    ROLE_SCRIPT,
    STANZA,
} from "../postgres";
import { BackupTlsCertificates } from "../secrets/backupTlsCertificates";
import { CREDENTIAL_NAMES, CredentialName, ReplicationSecrets } from "../secrets/replicationSecrets";
import { assertNitroInstanceType, DebianArch, instanceArchitecture, latestDebianAmi } from "./ami";
import { BackupTlsSecretName, BackupTlsSecrets } from "./backupTlsSecrets";
import { ClusterBackups } from "./clusterBackups";
import { CredentialStore } from "./credentialStore";
import { AppPlacement, ClusterNetwork, VpcChoice } from "./network";
import { NodeInstance } from "./nodeInstance";
import { NodeReservation } from "./nodeReservation";
import { NodeRole } from "./nodeRole";
import { awsBackupSettings, BACKUP_SERVICE_UNIT, SCHEDULED_BACKUP_ETC } from "./nodeBackups";
import { composeEc2Nodes, Ec2Composition } from "./nodeRoles";
import { RoleOnNode } from "./nodeScript";
import { ReplicationSlots } from "./replicationSlots";
import { ClusterSecurityGroups } from "./securityGroups";
import { renderSlotsDocument } from "./slotsDocument";
import { encodeUserData, renderUserData } from "./userData";

/** Options of {@link AwsPostgresCluster}. */
export interface AwsPostgresClusterArgs {
    /** The validated stack configuration (platform aws, with `aws:region`). */
    readonly config: ClusterConfig;
    /** The cluster's credentials. */
    readonly secrets: ReplicationSecrets;
}

/** What every node's configuration is rendered from, resolved together. */
interface Resolved {
    arns: Record<CredentialName, string> & Partial<Record<BackupTlsSecretName, string>>;
    composition: Ec2Composition;
}

/**
 * How to reach an EC2 cluster's backups (nothing secret: the nodes use their instance role). Run
 * `PGHA_ETC=<etc> <roleScript> backup full` on the primary's instance through SSM to back up now.
 */
export interface AwsBackupAccess {
    readonly platform: "aws";
    readonly region: string;
    /** The bucket and its KMS key. */
    readonly bucketName: string;
    readonly bucketArn: string;
    readonly kmsKeyArn: string;
    /** Instance id of each PostgreSQL node (`primary`, `replica-1`, ...): SSM targets. */
    readonly postgresInstanceIds: Record<string, string>;
    /** The role script and the PGHA_ETC its `backup` and `scheduled-backup` commands read. */
    readonly roleScript: string;
    readonly etc: string;
    /** The systemd service the backup timer starts (`journalctl -u` shows its runs). */
    readonly scheduledService: string;
    readonly stanza: string;
}

/**
 * The cluster on AWS EC2, private to its VPC: the primary and each replica on their own instance,
 * spread over the subnets' availability zones (primary in the first subnet, replica i in subnet
 * (i + 1) mod n), PgBouncer on its own instance or on the primary's, the credentials in Secrets
 * Manager under a KMS key of the cluster, and the replication slots kept by an SSM association.
 * Nodes are configured by user data rendered from the same role plans as on Docker; endpoints are
 * the nodes' private IPs, reachable from the application's networks (PgBouncer) and through SSM
 * port forwarding.
 */
export class AwsPostgresCluster extends pulumi.ComponentResource implements ClusterEndpoints {
    public readonly primaryEndpoint: ClusterEndpoints["primaryEndpoint"];
    public readonly replicaEndpoints: ClusterEndpoints["replicaEndpoints"];
    public readonly pgbouncerEndpoint: ClusterEndpoints["pgbouncerEndpoint"];
    /** Instance id by node name (`primary`, `replica-1`, `pgbouncer`): SSM sessions target these. */
    public readonly instanceIds: pulumi.Output<Record<string, string>>;
    /** The pgBackRest settings every node shares (the bucket is known once created); absent when backups are off. */
    public readonly backup?: pulumi.Output<BackupSettings>;
    /** Where an application places itself: VPC, private subnets, PgBouncer's security group. */
    public readonly placement: pulumi.Output<AppPlacement>;
    /** The backup repository's bucket and key ARNs and the nodes' instance ids; absent when backups are off. */
    public readonly backupAccess?: pulumi.Output<AwsBackupAccess>;

    constructor(name: string, args: AwsPostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:PostgresCluster", name, {}, opts);
        const { config, secrets } = args;
        const region = config.awsRegion;
        if (!region) {
            throw new Error(
                "aws:region must be set when pgha:platform is aws (pulumi config set aws:region eu-west-1)",
            );
        }
        const colocated = config.awsPgbouncerColocated;
        assertNitroInstanceType("pgha:awsPrimaryInstanceType", config.awsPrimaryInstanceType);
        assertNitroInstanceType("pgha:awsReplicaInstanceType", config.awsReplicaInstanceType);
        if (!colocated) {
            assertNitroInstanceType("pgha:awsPgbouncerInstanceType", config.awsPgbouncerInstanceType);
        }
        const vpc: VpcChoice = config.awsVpcId
            ? {
                  kind: "existing",
                  vpcId: config.awsVpcId,
                  subnetIds: config.awsSubnetIds,
                  s3EndpointRouteTableIds: config.awsS3EndpointRouteTableIds,
              }
            : {
                  kind: "new",
                  cidr: config.awsVpcCidr,
                  availabilityZones: config.awsAvailabilityZones,
                  natGateways: config.awsNatGateways,
              };
        const nodes = clusterNodes(config.replicas);
        // Backups copy the data files from a replica through every PostgreSQL node's pgBackRest TLS server.
        const backupFromReplica = config.backupEnabled && config.backupFromReplica;

        const network = new ClusterNetwork(
            `${name}-network`,
            { clusterName: name, region, vpc, appCidrs: config.awsAppCidrs },
            { parent: this },
        );
        const groups = new ClusterSecurityGroups(
            `${name}-sg`,
            {
                clusterName: name,
                vpcId: network.vpcId,
                appCidrs: config.awsAppCidrs,
                appSecurityGroupIds: config.awsAppSecurityGroupIds,
                backupServers: backupFromReplica,
            },
            { parent: this },
        );
        const store = new CredentialStore(
            `${name}-credentials`,
            { clusterName: name, passwords: secrets.passwords, verifiers: secrets.verifiers },
            { parent: this },
        );
        // Addresses and data volumes first: every node's configuration names the others' addresses.
        const subnets = network.nodeSubnets;
        const postgresGroups = colocated ? [groups.postgres.id, groups.pgbouncer.id] : [groups.postgres.id];
        const primaryReservation = new NodeReservation(
            `${name}-primary`,
            {
                clusterName: name,
                nodeName: "primary",
                role: "primary",
                subnet: subnets[0],
                securityGroupIds: postgresGroups,
                dataVolumeSizeGb: config.awsDataVolumeSizeGb,
            },
            { parent: this },
        );
        const replicaReservations = nodes.replicas.map(
            (node, i) =>
                new NodeReservation(
                    `${name}-${node.name}`,
                    {
                        clusterName: name,
                        nodeName: node.name,
                        role: "replica",
                        subnet: subnets[(i + 1) % subnets.length],
                        securityGroupIds: [groups.postgres.id],
                        dataVolumeSizeGb: config.awsDataVolumeSizeGb,
                    },
                    { parent: this },
                ),
        );
        // Next to the primary: PgBouncer's server connections go there, and it follows the primary's zone anyway.
        const pgbouncerReservation = colocated
            ? undefined
            : new NodeReservation(
                  `${name}-pgbouncer`,
                  {
                      clusterName: name,
                      nodeName: "pgbouncer",
                      role: "pgbouncer",
                      subnet: subnets[0],
                      securityGroupIds: [groups.pgbouncer.id],
                  },
                  { parent: this },
              );

        // pgBackRest's TLS material: the server certificate names every PostgreSQL node's fixed address
        // (as DNS names too: pgBackRest 2.45 matches the host only against DNS names), so it stays
        // valid whichever node is the primary; keys and certificates reach the nodes through Secrets Manager.
        const postgresIps = [primaryReservation.privateIp, ...replicaReservations.map((r) => r.privateIp)];
        const backupTls = backupFromReplica
            ? new BackupTlsSecrets(
                  `${name}-backup-tls`,
                  {
                      clusterName: name,
                      kmsKeyArn: store.key.arn,
                      certificates: new BackupTlsCertificates(
                          `${name}-pgbackrest-tls`,
                          { serverDnsNames: postgresIps, serverIpAddresses: postgresIps },
                          { parent: this },
                      ),
                  },
                  { parent: this },
              )
            : undefined;
        const nodeRole = new NodeRole(
            `${name}-node`,
            {
                clusterName: name,
                region,
                secretArns: [
                    ...CREDENTIAL_NAMES.map((c) => store.secrets[c].arn),
                    ...(backupTls
                        ? [
                              backupTls.secrets.pgbackrest_server_key.arn,
                              backupTls.secrets.pgbackrest_client_key.arn,
                          ]
                        : []),
                ],
                keyArn: store.key.arn,
            },
            { parent: this },
        );
        const backups = config.backupEnabled
            ? new ClusterBackups(
                  `${name}-backups`,
                  {
                      clusterName: name,
                      retentionDays: config.backupRetentionDays,
                      fullIntervalDays: config.backupFullIntervalDays,
                      nodeRoleId: nodeRole.role.id,
                      keepOnDestroy: config.keepDataOnDestroy,
                  },
                  { parent: this },
              )
            : undefined;
        this.backup = backups?.bucket.bucketName.apply((bucketName) =>
            awsBackupSettings(config, bucketName, region, backups.prefix),
        );

        const resolved: pulumi.Output<Resolved> = pulumi
            .all([
                network.vpcCidr,
                store.arns(),
                backupTls?.arns(),
                primaryReservation.privateIp,
                pulumi.all(replicaReservations.map((s) => s.privateIp)),
                this.backup,
            ])
            .apply(([vpcCidr, arns, tlsArns, primary, replicas, backup]) => ({
                arns: { ...arns, ...tlsArns },
                composition: composeEc2Nodes(config, vpcCidr, { primary, replicas }, backup),
            }));
        const userData = (
            nodeName: string,
            dataVolumeId: pulumi.Input<string> | undefined,
            roles: (c: Ec2Composition) => RoleOnNode[],
        ) =>
            pulumi.all([resolved, dataVolumeId]).apply(([f, volumeId]) => {
                try {
                    return encodeUserData(
                        renderUserData({
                            clusterName: name,
                            nodeName,
                            region,
                            postgresVersion: config.postgresVersion,
                            roles: roles(f.composition),
                            secretArns: f.arns,
                            dataVolumeId: volumeId,
                            // Every PostgreSQL node: the timer acts wherever the primary is, also after a failover.
                            scheduledBackup: roles(f.composition).some(
                                (r) => r.role === "primary" || r.role === "replica",
                            )
                                ? f.composition.scheduledBackup
                                : undefined,
                        }),
                    );
                } catch (e) {
                    throw new pulumi.ResourceError(`user data of ${nodeName}: ${(e as Error).message}`, this);
                }
            });

        const amis = new Map<DebianArch, pulumi.Output<string>>();
        const amiFor = (instanceType: string): pulumi.Input<string> => {
            if (config.awsAmiId) return config.awsAmiId;
            const arch = instanceArchitecture(instanceType);
            if (!amis.has(arch)) amis.set(arch, latestDebianAmi(arch, { parent: this }));
            return amis.get(arch)!;
        };
        // Nodes install packages and read their secrets at boot: the route out, the values and the role's permission must exist first.
        const nodeOpts: pulumi.ComponentResourceOptions = {
            parent: this,
            dependsOn: [
                ...network.egress,
                ...store.versions,
                ...(backupTls?.versions ?? []),
                nodeRole.policy,
                ...(backups ? [backups.nodeAccess] : []),
            ],
        };
        const instance = (
            nodeName: string,
            role: "primary" | "replica" | "pgbouncer",
            instanceType: string,
            reservation: NodeReservation,
            data: pulumi.Input<string>,
        ) =>
            new NodeInstance(
                `${name}-${nodeName}`,
                {
                    clusterName: name,
                    nodeName,
                    role,
                    instanceType,
                    ami: amiFor(instanceType),
                    ignoreAmiUpdates: config.awsAmiId === undefined,
                    instanceProfile: nodeRole.instanceProfile.name,
                    networkInterfaceId: reservation.networkInterface.id,
                    dataVolumeId: reservation.dataVolume?.id,
                    userDataBase64: data,
                },
                nodeOpts,
            );

        const primary = instance(
            "primary",
            "primary",
            config.awsPrimaryInstanceType,
            primaryReservation,
            userData("primary", primaryReservation.dataVolume?.id, (c) => c.primary),
        );
        const replicas = nodes.replicas.map((node, i) =>
            instance(
                node.name,
                "replica",
                config.awsReplicaInstanceType,
                replicaReservations[i],
                userData(node.name, replicaReservations[i].dataVolume?.id, (c) => c.replicas[i]),
            ),
        );
        const pgbouncer = pgbouncerReservation
            ? instance(
                  "pgbouncer",
                  "pgbouncer",
                  config.awsPgbouncerInstanceType,
                  pgbouncerReservation,
                  userData("pgbouncer", undefined, (c) => c.pgbouncer ?? []),
              )
            : undefined;

        new ReplicationSlots(
            `${name}-slots`,
            {
                clusterName: name,
                documentContent: resolved.apply((f) =>
                    renderSlotsDocument({ region, plan: f.composition.slotJob, secretArns: f.arns }),
                ),
                primaryInstanceId: primary.instance.id,
                expectedSlots: resolved.apply((f) => f.composition.expectedSlots),
            },
            { parent: this },
        );

        this.primaryEndpoint = primaryReservation.privateIp.apply((host) => ({ host, port: POSTGRES_PORT }));
        this.replicaEndpoints = pulumi.all(replicaReservations.map((s) => s.privateIp)).apply((ips) =>
            nodes.replicas.map((node, i) => ({
                name: node.name,
                host: ips[i],
                port: POSTGRES_PORT,
                slotName: node.slotName,
                applicationName: node.identity,
            })),
        );
        this.pgbouncerEndpoint = (pgbouncerReservation ?? primaryReservation).privateIp.apply((host) => ({
            host,
            port: PGBOUNCER_PORT,
        }));
        this.placement = pulumi
            .all([
                network.vpcId,
                network.vpcCidr,
                pulumi.all(subnets.map((s) => s.id)),
                pulumi.all(subnets.map((s) => s.availabilityZone)),
                pulumi.all(network.privateRouteTableIds),
                groups.pgbouncer.id,
                network.s3Endpoint?.id,
            ])
            .apply(([vpcId, vpcCidr, privateSubnetIds, zones, tables, pgbouncerGroup, s3EndpointId]) => ({
                vpcId,
                vpcCidr,
                privateSubnetIds,
                availabilityZones: zones,
                privateRouteTableIds: tables,
                pgbouncerSecurityGroupId: pgbouncerGroup,
                appCidrs: [...config.awsAppCidrs],
                ...(s3EndpointId ? { s3EndpointId } : {}),
            }));
        const instances: Record<string, NodeInstance> = {
            primary,
            ...Object.fromEntries(replicas.map((r, i) => [nodes.replicas[i].name, r])),
            ...(pgbouncer ? { pgbouncer } : {}),
        };
        this.instanceIds = pulumi.all(
            Object.fromEntries(Object.entries(instances).map(([node, i]) => [node, i.instance.id])),
        );
        if (backups) {
            const postgresInstances = [primary, ...replicas];
            const postgresNames = ["primary", ...nodes.replicas.map((n) => n.name)];
            this.backupAccess = pulumi
                .all([
                    backups.bucket.bucketName,
                    backups.bucket.bucketArn,
                    backups.bucket.kmsKeyArn,
                    pulumi.all(postgresInstances.map((i) => i.instance.id)),
                ])
                .apply(([bucketName, bucketArn, kmsKeyArn, ids]) => ({
                    platform: "aws" as const,
                    region,
                    bucketName,
                    bucketArn,
                    kmsKeyArn,
                    postgresInstanceIds: Object.fromEntries(postgresNames.map((n, i) => [n, ids[i]])),
                    roleScript: ROLE_SCRIPT,
                    etc: SCHEDULED_BACKUP_ETC,
                    scheduledService: BACKUP_SERVICE_UNIT,
                    stanza: STANZA,
                }));
        }
        this.registerOutputs({
            backupAccess: this.backupAccess,
            primaryEndpoint: this.primaryEndpoint,
            replicaEndpoints: this.replicaEndpoints,
            pgbouncerEndpoint: this.pgbouncerEndpoint,
            instanceIds: this.instanceIds,
            placement: this.placement,
        });
    }
}
