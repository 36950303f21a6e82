/**
 * `npm run destroy`'s guard, on the real engine: a container that is not the cluster's (an app
 * started with README's compose snippet) left on the cluster network makes Docker refuse to remove
 * the network, so `pulumi destroy` would stop half-way. The cleanup step names it and exits 3
 * before the destroy. A stand-in cluster (a network and one container named like the cluster's)
 * is enough: no stack is deployed.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { foreignContainers } from "../../scripts/restore/cleanup";
import { docker } from "./support/docker";

const CLUSTER = "pgha-guardtest";
const NETWORK = `${CLUSTER}-net`;
const OWN = `${CLUSTER}-primary`;
const APP = "guardtest-app";
const IMAGE = "pgha-base:bookworm";
const ROOT = path.join(__dirname, "..", "..");

async function removeAll(): Promise<void> {
    for (const name of [OWN, APP]) {
        await docker
            .getContainer(name)
            .remove({ force: true })
            .catch(() => undefined);
    }
    await docker
        .getNetwork(NETWORK)
        .remove()
        .catch(() => undefined);
}

async function sleeper(name: string): Promise<void> {
    const c = await docker.createContainer({
        name,
        Image: IMAGE,
        Cmd: ["sleep", "600"],
        HostConfig: { NetworkMode: NETWORK },
        Labels: { "pgha.e2e": "true" },
    });
    await c.start();
}

describe("npm run destroy stops before the destroy when an app is on the cluster network", () => {
    beforeAll(async () => {
        await removeAll();
        await docker.createNetwork({ Name: NETWORK, Labels: { "pgha.e2e": "true" } });
        await sleeper(OWN);
    }, 60_000);
    afterAll(removeAll, 60_000);

    test("only the cluster's own containers: nothing foreign, the cleanup exits 0", async () => {
        expect(await foreignContainers(CLUSTER)).toEqual([]);
        const run = spawnSync("npx", ["tsx", "scripts/restore/cleanup.ts", "--cluster", CLUSTER], {
            cwd: ROOT,
            encoding: "utf8",
        });
        expect(run.status).toBe(0);
    }, 60_000);

    test("an app container on the network is named, with the commands that free the network, and the cleanup exits 3", async () => {
        await sleeper(APP);
        expect(await foreignContainers(CLUSTER)).toEqual([APP]);
        const run = spawnSync("npx", ["tsx", "scripts/restore/cleanup.ts", "--cluster", CLUSTER], {
            cwd: ROOT,
            encoding: "utf8",
        });
        expect(run.status).toBe(3);
        expect(run.stderr).toContain(`are on its network ${NETWORK}: ${APP}`);
        expect(run.stderr).toContain(`docker rm -f ${APP}`);
        // What the guard prevents: Docker refuses to remove the network while the app is on it.
        await expect(docker.getNetwork(NETWORK).remove()).rejects.toThrow(/active endpoints/);
    }, 60_000);

    test("a cluster whose network does not exist has nothing foreign", async () => {
        expect(await foreignContainers("pgha-guardtest-none")).toEqual([]);
    });
});
