/**
 * `npx tsx scripts/restore/cleanup.ts --cluster <name>`: removes the containers and volumes
 * `npm run restore` made for a cluster (labels `pgha.cluster=<name>`, `pgha.role=restore`), then
 * checks that no other container is left on the cluster network `<name>-net` (an app started with
 * README's compose snippet): Docker refuses to remove a network with endpoints, so `pulumi destroy`
 * would stop half-way. `npm run destroy` runs it before `pulumi destroy`.
 * Exit 0 done, 1 Docker failed, 2 bad flags, 3 foreign containers on the network (named).
 */
import Docker from "dockerode";
import { parseArgs } from "node:util";

/** Removes a cluster's restore containers and volumes; returns their names. */
export async function removeRestores(cluster: string, docker: Docker = new Docker()): Promise<string[]> {
    const filters = { label: [`pgha.cluster=${cluster}`, "pgha.role=restore"] };
    const removed: string[] = [];
    for (const c of await docker.listContainers({ all: true, filters })) {
        await docker.getContainer(c.Id).remove({ force: true });
        removed.push(c.Names[0].replace(/^\//, ""));
    }
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
        await docker.getVolume(v.Name).remove();
        removed.push(v.Name);
    }
    return removed;
}

/**
 * The containers on the cluster network `<cluster>-net` that are not the cluster's own (whose
 * names start with `<cluster>-`); none when the network does not exist.
 */
export async function foreignContainers(cluster: string, docker: Docker = new Docker()): Promise<string[]> {
    const network = `${cluster}-net`;
    const found = await docker.listNetworks({ filters: { name: [network] } });
    const net = found.find((n) => n.Name === network);
    if (!net) return [];
    const details = await docker.getNetwork(net.Id).inspect();
    return Object.values((details.Containers ?? {}) as Record<string, { Name: string }>)
        .map((c) => c.Name)
        .filter((name) => !name.startsWith(`${cluster}-`))
        .sort();
}

if (require.main === module) {
    let cluster: string | undefined;
    try {
        cluster = parseArgs({ options: { cluster: { type: "string" } } }).values.cluster;
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
    }
    if (!cluster) {
        process.stderr.write("usage: tsx scripts/restore/cleanup.ts --cluster <pgha-stack>\n");
        process.exit(2);
    }
    const name = cluster;
    removeRestores(name).then(
        async (removed) => {
            process.stdout.write(
                removed.length
                    ? `removed restore leftovers: ${removed.join(", ")}\n`
                    : "no restore leftovers\n",
            );
            const foreign = await foreignContainers(name);
            if (foreign.length > 0) {
                process.stderr.write(
                    `containers that are not the cluster's are on its network ${name}-net: ${foreign.join(", ")}. ` +
                        `Docker cannot remove a network with endpoints: stop them (docker rm -f ${foreign.join(" ")}) ` +
                        `or disconnect them (docker network disconnect ${name}-net <name>), then destroy again\n`,
                );
                process.exit(3);
            }
        },
        (err) => {
            process.stderr.write(`removing restore leftovers failed: ${(err as Error).message}\n`);
            process.exit(1);
        },
    );
}
