import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    backupSchedulerPlan,
    backupServerPlan,
    BackupSettings,
    ClusterFacts,
    clusterNodes,
    NodeSpec,
    pgbouncerPlan,
    postgresNodePlan,
    RolePlan,
    POSIX_REPOSITORY_PATH,
    PostgresSettings,
    SecretNeed,
    secretEnv,
    secretFileName,
    slotsPlan,
    STANZA,
    etcdMemberCount,
    etcdMemberPlan,
    PATRONI_PATHS,
    PatroniFacts,
    patroniNodePlan,
    patroniPgbouncerPlan,
} from "../postgres";
import { ClusterConfig, MAX_REPLICAS } from "../config";
import { ReplicationSecrets } from "../secrets/replicationSecrets";
import { BackupTlsCertificates } from "../secrets/backupTlsCertificates";
import { ClusterEndpoints } from "../endpoints";
import { PatroniSecrets } from "../secrets/patroniSecrets";
import { BackupScheduler } from "./backupScheduler";
import { EtcdCluster } from "./etcdCluster";
import { BackupStore } from "./backupStore";
import { ClusterNetwork } from "./network";
import { ContainerContext } from "./nodeContainer";
import { NodeImage } from "./nodeImage";
import { Pgbouncer } from "./pgbouncer";
import { backupServerHost, PostgresNode } from "./postgresNode";
import { ReplicationSlots } from "./replicationSlots";

/** Options of {@link DockerPostgresCluster}. */
export interface DockerPostgresClusterArgs {
    /** The validated stack configuration. */
    readonly config: ClusterConfig;
    /** The cluster's credentials. */
    readonly secrets: ReplicationSecrets;
}

/**
 * The cluster on a Docker engine: node image, network, primary, replicas, their slots and
 * PgBouncer. Resource and container names derive from `name`, so two clusters can share an engine.
 */
export class DockerPostgresCluster extends pulumi.ComponentResource implements ClusterEndpoints {
    public readonly primaryEndpoint: ClusterEndpoints["primaryEndpoint"];
    public readonly replicaEndpoints: ClusterEndpoints["replicaEndpoints"];
    public readonly pgbouncerEndpoint: ClusterEndpoints["pgbouncerEndpoint"];
    /** Backup settings every node shares; undefined when backups are off. */
    public readonly backup?: BackupSettings;
    /** What `npm run backup` and `npm run restore` need to reach the repository from a new container. */
    public readonly backupAccess?: pulumi.Output<DockerBackupAccess>;
    /** The Docker volume holding the backup repository, when it is on a volume (the default). */
    public readonly backupVolume?: string;
    /** The cluster's Docker network: containers on it reach the nodes and PgBouncer by name. */
    public readonly networkName: pulumi.Output<string>;
    /** PgBouncer's host name on the cluster network. */
    public readonly pgbouncerHost: string;

    constructor(name: string, args: DockerPostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:PostgresCluster", name, {}, opts);
        const { config, secrets } = args;
        const nodes = clusterNodes(config.replicas, config.primaryNode);
        const containerName = (suffix: string) => `${name}-${suffix}`;
        const primaryHost = containerName(nodes.primary.name);
        // Ports follow the node's name, not its role: a failover moves no port.
        const hostPort = (node: NodeSpec) =>
            node.index === 0 ? config.primaryPort : config.replicaBasePort + node.index - 1;
        const labels = [
            { label: "pgha.cluster", value: name },
            { label: "pgha.stack", value: pulumi.getStack() },
        ];

        const image = new NodeImage(
            `${name}-image`,
            {
                baseImage: config.baseImage,
                imageName: `${name}-node:pg${config.postgresVersion}`,
                withPatroni: config.failover === "automatic",
            },
            { parent: this },
        );
        const network = new ClusterNetwork(
            `${name}-network`,
            { networkName: `${name}-net`, labels },
            { parent: this },
        );
        const context: ContainerContext = {
            image: image.ref,
            networkName: network.networkName,
            labels,
            bindAddress: config.bindAddress,
        };

        this.networkName = network.networkName;
        this.pgbouncerHost = containerName("pgbouncer");

        // Backups: a repository on a Docker volume by default; a local S3-compatible server when
        // pgha:backupS3Image names one; a real bucket when pgha:backupS3Endpoint is set.
        // pgha:keepDataOnDestroy keeps the primary's data volume and the repository when the stack is
        // destroyed. Replicas' volumes are clones: kept, a stale one would be adopted by the replica
        // of that name at the next scale-up or deploy and could not stream; a new one is cloned.
        const keep = { retainOnDelete: config.keepDataOnDestroy };
        const repositoryVolume =
            config.backupEnabled &&
            config.backupS3Endpoint === undefined &&
            config.backupS3Image === undefined
                ? new docker.Volume(
                      `${name}-backups`,
                      { name: containerName("backups"), labels },
                      { parent: this, deleteBeforeReplace: true, ...keep },
                  )
                : undefined;
        this.backupVolume = repositoryVolume ? containerName("backups") : undefined;
        const repositoryMounts = repositoryVolume
            ? [{ volumeName: repositoryVolume.name, containerPath: POSIX_REPOSITORY_PATH }]
            : [];
        const store =
            config.backupEnabled && config.backupS3Image !== undefined
                ? new BackupStore(
                      `${name}-s3`,
                      {
                          context,
                          containerName: containerName("s3"),
                          image: config.backupS3Image,
                          keepData: config.keepDataOnDestroy,
                      },
                      { parent: this },
                  )
                : undefined;
        const s3Credentials: Record<"s3_key" | "s3_key_secret", pulumi.Output<string>> | undefined = store
            ? { s3_key: store.accessKey, s3_key_secret: store.secretKey }
            : config.backupS3AccessKey !== undefined && config.backupS3SecretKey !== undefined
              ? {
                    s3_key: pulumi.secret(config.backupS3AccessKey),
                    s3_key_secret: pulumi.secret(config.backupS3SecretKey),
                }
              : undefined;
        this.backup = config.backupEnabled
            ? dockerBackupSettings(config, name, store, repositoryVolume !== undefined)
            : undefined;
        // Backups from a replica: every replica gets a pgBackRest TLS server beside it, which the
        // scheduler reaches with a client certificate. The server certificate names the server of
        // every node the cluster may have, so neither scaling nor a failover changes it.
        const backupTls =
            this.backup && config.backupFromReplica
                ? new BackupTlsCertificates(
                      `${name}-pgbackrest-tls`,
                      {
                          serverDnsNames: clusterNodes(MAX_REPLICAS).all.map((n) =>
                              backupServerHost(containerName(n.name)),
                          ),
                      },
                      { parent: this },
                  )
                : undefined;

        const facts: ClusterFacts = {
            pgMajor: config.postgresVersion,
            postgres: this.backup
                ? { ...config, archive: { stanza: STANZA, timeoutSeconds: config.archiveTimeoutSeconds } }
                : config,
            bootstrap: config,
            // Docker publishes ports through the network's gateway, which is on the same subnet.
            clusterCidrs: ["samenet"],
            clientCidrs: ["samenet"],
            backup: this.backup,
            backupTls,
        };
        // On Docker the secrets ship as container environment (Pulumi secrets), apart from the
        // readable config files; the primary gets verifiers only.
        // Automatic failover: Patroni runs every PostgreSQL node, etcd members hold the DCS.
        const automatic = config.failover === "automatic";
        const patroniSecrets = automatic
            ? new PatroniSecrets(`${name}-patroni`, { parent: this })
            : undefined;
        const patroni: PatroniFacts | undefined = automatic
            ? {
                  scope: name,
                  etcdHosts: Array.from({ length: etcdMemberCount(nodes.all.length) }, (_, i) =>
                      containerName(`etcd-${i + 1}`),
                  ),
                  sync: { mode: config.synchronousMode, strict: config.synchronousStrict },
              }
            : undefined;
        const secretValue = (need: SecretNeed): pulumi.Output<string> => {
            if (
                need.credential === "patroni_api" ||
                need.credential === "etcd_root" ||
                need.credential === "etcd_patroni"
            ) {
                if (!patroniSecrets) throw new Error(`no Patroni secrets for ${need.credential}`);
                return patroniSecrets.passwords[need.credential];
            }
            if (need.credential === "pgbackrest_server_key" || need.credential === "pgbackrest_client_key") {
                if (!backupTls) throw new Error(`no pgBackRest TLS certificates for ${need.credential}`);
                return need.credential === "pgbackrest_server_key"
                    ? backupTls.serverKeyPem
                    : backupTls.clientKeyPem;
            }
            if (need.credential === "s3_key" || need.credential === "s3_key_secret") {
                if (!s3Credentials) throw new Error(`no S3 credentials for ${need.credential}`);
                return s3Credentials[need.credential];
            }
            return (need.form === "verifier" ? secrets.verifiers : secrets.passwords)[need.credential];
        };
        const withSecrets = (plan: RolePlan) => ({
            files: plan.files,
            secretEnvs: plan.secrets.map((need) => secretEnv(secretFileName(need), secretValue(need))),
        });

        const etcd = patroni
            ? new EtcdCluster(
                  `${name}-etcd`,
                  {
                      context,
                      members: patroni.etcdHosts.map((host) => ({
                          containerName: host,
                          ...withSecrets(etcdMemberPlan(facts, patroni, host)),
                      })),
                  },
                  { parent: this },
              )
            : undefined;
        const nodePlan = (node: NodeSpec) =>
            patroni
                ? patroniNodePlan(facts, patroni, node, containerName(node.name))
                : postgresNodePlan(facts, node, { self: containerName(node.name), primary: primaryHost });
        const postgresNode = (node: NodeSpec, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
            new PostgresNode(
                `${name}-${node.name}`,
                {
                    context,
                    node,
                    containerName: containerName(node.name),
                    hostPort: hostPort(node),
                    shareSocket: node.role === "primary" && this.backup !== undefined,
                    keepData: config.keepDataOnDestroy && node.role === "primary",
                    // Every node archives once it is the primary: all mount the repository.
                    extraVolumes: repositoryMounts,
                    ...withSecrets(nodePlan(node)),
                    ...(patroni ? { run: { role: "patroni" as const, script: PATRONI_PATHS.script } } : {}),
                    ...(backupTls && node.role === "replica"
                        ? { backupServer: withSecrets(backupServerPlan(facts, node)) }
                        : {}),
                },
                { parent: this, dependsOn },
            );
        // Under Patroni the first node bootstraps the cluster once etcd runs, the others clone from
        // the leader, and Patroni keeps a slot per member: no slot job.
        const primary = postgresNode(nodes.primary, etcd ? etcd.containers : []);
        const slots = patroni
            ? undefined
            : new ReplicationSlots(
                  `${name}-slots`,
                  {
                      context,
                      containerName: containerName("slots"),
                      ...withSecrets(slotsPlan(facts, nodes.replicas, primaryHost)),
                  },
                  { parent: this, dependsOn: [primary.container] },
              );
        // A failed slot job fails the `up` here, before any replica clones (the provider ignores its exit code).
        const replicas = nodes.replicas.map((node) =>
            postgresNode(node, slots ? [primary.container, slots.succeeded] : [primary.container]),
        );
        if (this.backup) {
            // From a replica, the first backup waits for the replicas and their servers to be up.
            const replicaServers = backupTls ? replicas.flatMap((r) => [r.container, r.backupServer!]) : [];
            new BackupScheduler(
                `${name}-backup`,
                {
                    context,
                    containerName: containerName("backup"),
                    dataVolumeName: primary.dataVolumeName,
                    socketVolumeName: primary.socketVolumeName!,
                    extraVolumes: repositoryMounts,
                    ...withSecrets(
                        backupSchedulerPlan(
                            facts,
                            config.databaseName,
                            store !== undefined,
                            backupTls ? replicas.map((r) => backupServerHost(r.hostName)) : [],
                        ),
                    ),
                },
                {
                    parent: this,
                    dependsOn: [primary.container, ...(store ? [store.container] : []), ...replicaServers],
                },
            );
        }
        const pgbouncerSettings = {
            ...config,
            readOnlyDatabaseName: `${config.databaseName}_ro`,
            primaryHost,
            replicaHosts: replicas.map((r) => r.hostName),
        };
        new Pgbouncer(
            `${name}-pgbouncer`,
            {
                context,
                containerName: containerName("pgbouncer"),
                hostPort: config.pgbouncerPort,
                ...withSecrets(
                    patroni
                        ? patroniPgbouncerPlan(facts, pgbouncerSettings, config.readMaxLagMb * 1024 * 1024)
                        : pgbouncerPlan(facts, pgbouncerSettings),
                ),
                ...(patroni ? { script: PATRONI_PATHS.script } : {}),
            },
            { parent: this, dependsOn: [primary.container, ...replicas.map((r) => r.container)] },
        );

        // What a client on this machine dials: the bind address, or loopback when bound to every interface.
        const host = config.bindAddress === "0.0.0.0" ? "127.0.0.1" : config.bindAddress;
        this.primaryEndpoint = pulumi.output({ host, port: hostPort(nodes.primary) });
        this.replicaEndpoints = pulumi.output(
            nodes.replicas.map((node) => ({
                name: node.name,
                host,
                port: hostPort(node),
                // Patroni names a member's slot after the member (its application_name).
                slotName: patroni ? node.identity : node.slotName,
                applicationName: node.identity,
            })),
        );
        this.pgbouncerEndpoint = pulumi.output({ host, port: config.pgbouncerPort });
        if (this.backup && (s3Credentials || repositoryVolume)) {
            const { caCertificatePem, ...backupSettings } = this.backup;
            this.backupAccess = pulumi.secret(
                pulumi
                    .all([
                        image.ref,
                        network.networkName,
                        s3Credentials?.s3_key,
                        s3Credentials?.s3_key_secret,
                        pulumi.output(caCertificatePem),
                        repositoryVolume?.name,
                    ])
                    .apply(([nodeImage, dockerNetwork, accessKey, secretKey, ca, volume]) => ({
                        schedulerContainer: containerName("backup"),
                        nodeImage,
                        network: dockerNetwork,
                        ...(accessKey !== undefined && secretKey !== undefined
                            ? { accessKey, secretKey }
                            : {}),
                        ...(volume !== undefined ? { repositoryVolume: volume } : {}),
                        postgresVersion: config.postgresVersion,
                        postgres: {
                            maxConnections: config.maxConnections,
                            synchronousMode: "off" as const,
                            walKeepSizeMb: config.walKeepSizeMb,
                            maxSlotWalKeepSizeMb: config.maxSlotWalKeepSizeMb,
                        },
                        backup: { ...backupSettings, ...(ca ? { caCertificatePem: ca } : {}) },
                    })),
            );
        }
        this.registerOutputs({
            primaryEndpoint: this.primaryEndpoint,
            replicaEndpoints: this.replicaEndpoints,
            pgbouncerEndpoint: this.pgbouncerEndpoint,
        });
    }
}

/** How a new container reaches the dev stack's backup repository (a secret output). */
export interface DockerBackupAccess {
    /** The scheduler container, where `pgha-node backup` runs. */
    readonly schedulerContainer: string;
    /** The node image a restore container runs. */
    readonly nodeImage: string;
    /** The cluster network, where the S3 endpoint resolves. */
    readonly network: string;
    /** The S3 key, when the repository is in S3. */
    readonly accessKey?: string;
    readonly secretKey?: string;
    /** The volume holding the repository, when it is on a volume: mount it at POSIX_REPOSITORY_PATH. */
    readonly repositoryVolume?: string;
    /** PostgreSQL major version of the node image. */
    readonly postgresVersion: number;
    /** Settings a restored server needs (it must allow at least the original max_connections). */
    readonly postgres: PostgresSettings;
    /** The repository and schedule, with the CA certificate's PEM. */
    readonly backup: BackupSettings;
}

/**
 * The dev stack's repository: a volume, the local server (verified against its own certificate),
 * or the configured endpoint.
 */
function dockerBackupSettings(
    config: ClusterConfig,
    clusterName: string,
    store: BackupStore | undefined,
    onVolume: boolean,
): BackupSettings {
    const schedule = {
        retentionDays: config.backupRetentionDays,
        intervalHours: config.backupIntervalHours,
        fullIntervalDays: config.backupFullIntervalDays,
        archiveTimeoutSeconds: config.archiveTimeoutSeconds,
    };
    if (onVolume) {
        return { repository: { type: "posix", path: POSIX_REPOSITORY_PATH }, ...schedule };
    }
    const [host, port] = store
        ? [store.endpoint.host, store.endpoint.port]
        : (config.backupS3Endpoint ?? "").split(":");
    return {
        repository: {
            endpoint: String(host),
            port: Number(port ?? 443) || 443,
            bucket: store ? "pgha-backups" : (config.backupS3Bucket ?? "pgha-backups"),
            region: config.backupS3Region,
            path: `/${clusterName}`,
            uriStyle: "path",
            verifyTls: true,
            keyType: "shared",
            ...(store ? { caFile: "/etc/pgha/s3-ca.crt" } : {}),
        },
        retentionDays: config.backupRetentionDays,
        intervalHours: config.backupIntervalHours,
        fullIntervalDays: config.backupFullIntervalDays,
        archiveTimeoutSeconds: config.archiveTimeoutSeconds,
        caCertificatePem: store?.certificatePem,
    };
}
