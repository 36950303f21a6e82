import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig } from "../config";
import { ClusterFacts, clusterNodes, primaryPlan, pgbouncerPlan, replicaPlan, RolePlan, secretEnv, slotsPlan } from "../postgres";
import { ReplicationSecrets } from "../secrets/replicationSecrets";
import { ClusterEndpoints } from "../endpoints";
import { ClusterNetwork } from "./network";
import { ContainerContext } from "./nodeContainer";
import { NodeImage } from "./nodeImage";
import { Pgbouncer } from "./pgbouncer";
import { PostgresNode } from "./postgresNode";
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

    constructor(name: string, args: DockerPostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:PostgresCluster", name, {}, opts);
        const { config, secrets } = args;
        const nodes = clusterNodes(config.replicas);
        const containerName = (suffix: string) => `${name}-${suffix}`;
        const primaryHost = containerName(nodes.primary.name);
        const labels = [
            { label: "pgha.cluster", value: name },
            { label: "pgha.stack", value: pulumi.getStack() },
        ];

        const image = new NodeImage(`${name}-image`, { baseImage: config.baseImage, imageName: `${name}-node:pg${config.postgresVersion}` }, { parent: this });
        const network = new ClusterNetwork(`${name}-network`, { networkName: `${name}-net`, labels }, { parent: this });
        const context: ContainerContext = { image: image.ref, networkName: network.networkName, labels, bindAddress: config.bindAddress };
        const facts: ClusterFacts = {
            pgMajor: config.postgresVersion,
            postgres: config,
            bootstrap: config,
            // Docker publishes ports through the network's gateway, which is on the same subnet.
            clusterCidrs: ["samenet"],
            clientCidrs: ["samenet"],
        };
        // On Docker the secrets ship as container environment (Pulumi secrets), apart from the
        // readable config files; the primary gets verifiers only.
        const withSecrets = (plan: RolePlan) => ({
            files: plan.files,
            secretEnvs: plan.secrets.map((s) => secretEnv(s.credential, (s.form === "verifier" ? secrets.verifiers : secrets.passwords)[s.credential])),
        });

        const primary = new PostgresNode(
            `${name}-primary`,
            { context, node: nodes.primary, containerName: primaryHost, hostPort: config.primaryPort, ...withSecrets(primaryPlan(facts, nodes.primary)) },
            { parent: this },
        );
        const slots = new ReplicationSlots(
            `${name}-slots`,
            { context, containerName: containerName("slots"), ...withSecrets(slotsPlan(facts, nodes.replicas, primaryHost)) },
            { parent: this, dependsOn: [primary.container] },
        );
        const replicas = nodes.replicas.map(
            (node, i) =>
                new PostgresNode(
                    `${name}-${node.name}`,
                    {
                        context,
                        node,
                        containerName: containerName(node.name),
                        hostPort: config.replicaBasePort + i,
                        ...withSecrets(replicaPlan(facts, node, primaryHost)),
                    },
                    { parent: this, dependsOn: [primary.container, slots.job] },
                ),
        );
        new Pgbouncer(
            `${name}-pgbouncer`,
            {
                context,
                containerName: containerName("pgbouncer"),
                hostPort: config.pgbouncerPort,
                ...withSecrets(
                    pgbouncerPlan(facts, {
                        ...config,
                        readOnlyDatabaseName: `${config.databaseName}_ro`,
                        primaryHost,
                        replicaHosts: replicas.map((r) => r.hostName),
                    }),
                ),
            },
            { parent: this, dependsOn: [primary.container, ...replicas.map((r) => r.container)] },
        );

        // What a client on this machine dials: the bind address, or loopback when bound to every interface.
        const host = config.bindAddress === "0.0.0.0" ? "127.0.0.1" : config.bindAddress;
        this.primaryEndpoint = pulumi.output({ host, port: config.primaryPort });
        this.replicaEndpoints = pulumi.output(
            nodes.replicas.map((node, i) => ({ name: node.name, host, port: config.replicaBasePort + i, slotName: node.slotName ?? "", applicationName: node.identity })),
        );
        this.pgbouncerEndpoint = pulumi.output({ host, port: config.pgbouncerPort });
        this.registerOutputs({ primaryEndpoint: this.primaryEndpoint, replicaEndpoints: this.replicaEndpoints, pgbouncerEndpoint: this.pgbouncerEndpoint });
    }
}
