import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile, PATRONI_PATHS } from "../postgres";
import { ContainerContext, nodeContainer } from "./nodeContainer";

/** Options of {@link EtcdCluster}. */
export interface EtcdClusterArgs {
    /** Shared container settings. */
    readonly context: ContainerContext;
    /** Each member: its container (and host) name, files and secrets (etcdMemberPlan). */
    readonly members: readonly {
        readonly containerName: string;
        readonly files: NodeFile[];
        readonly secretEnvs: pulumi.Input<string>[];
    }[];
}

/**
 * The DCS of an automatic-failover cluster on Docker: one container per etcd member, each with its
 * data on a volume of its own, on the cluster network only (nothing published). The members start
 * side by side, since none is healthy before a quorum of them runs.
 */
export class EtcdCluster extends pulumi.ComponentResource {
    /** The members' containers; Patroni nodes depend on them. */
    public readonly containers: docker.Container[];

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:EtcdCluster", name, {}, opts);
        this.containers = args.members.map((member, i) => {
            const volume = new docker.Volume(
                `${name}-${i + 1}-data`,
                { name: `${member.containerName}-data`, labels: args.context.labels },
                { parent: this, deleteBeforeReplace: true },
            );
            return nodeContainer(
                `${name}-${i + 1}`,
                args.context,
                {
                    containerName: member.containerName,
                    role: "etcd",
                    script: PATRONI_PATHS.script,
                    files: member.files,
                    secretEnvs: member.secretEnvs,
                    volumes: [{ volumeName: volume.name, containerPath: "/var/lib/etcd" }],
                },
                { parent: this },
            );
        });
        this.registerOutputs({});
    }
}
