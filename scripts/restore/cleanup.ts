/**
 * `npx tsx scripts/restore/cleanup.ts --cluster <name>`: removes the containers and volumes
 * `npm run restore` made for a cluster (labels `pgha.cluster=<name>`, `pgha.role=restore`).
 * `npm run destroy` runs it before `pulumi destroy`. Exit 0 done, 2 bad flags.
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
    removeRestores(cluster).then(
        (removed) => {
            process.stdout.write(
                removed.length
                    ? `removed restore leftovers: ${removed.join(", ")}\n`
                    : "no restore leftovers\n",
            );
        },
        (err) => {
            process.stderr.write(`removing restore leftovers failed: ${(err as Error).message}\n`);
            process.exit(1);
        },
    );
}
