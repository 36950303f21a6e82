/**
 * Helpers of the bad-input sweep: run many short processes a few at a time, and check that a
 * rejected stack left nothing behind (no state, no Docker object with its prefix).
 */
import * as fs from "fs";
import { docker } from "../../e2e/support/docker";

/** Runs `work` over `items`, at most `limit` at a time; results keep the items' order. */
export async function mapLimit<T, R>(
    items: readonly T[],
    limit: number,
    work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const lane = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await work(items[i], i);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
    return results;
}

/** Names of the engine's containers, volumes and networks that start with `prefix`. */
export async function dockerObjectsNamed(prefix: string): Promise<string[]> {
    const [containers, volumes, networks] = await Promise.all([
        docker.listContainers({ all: true }),
        docker.listVolumes(),
        docker.listNetworks(),
    ]);
    return [
        ...containers.flatMap((c) => c.Names.map((n) => n.replace(/^\//, ""))),
        ...(volumes.Volumes ?? []).map((v) => v.Name),
        ...networks.map((n) => n.Name),
    ].filter((name) => name.startsWith(prefix));
}

/** The resources an e2e engine state file records (none when the file is absent). */
export function stateResources(statePath: string): string[] {
    if (!fs.existsSync(statePath)) return [];
    const state = JSON.parse(fs.readFileSync(statePath, "utf8")) as { resources?: Record<string, unknown> };
    return Object.keys(state.resources ?? {});
}
