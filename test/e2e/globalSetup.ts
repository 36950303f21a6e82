/**
 * Before the e2e suites: make sure Docker and the base image exist, then deploy the dev stack from
 * nothing (destroying any leftover first) and record how long it took until replication was verified.
 */
import * as fs from "fs";
import * as path from "path";
import { deployDev, destroyDev, prepareMachine, PATHS, waitUntilAllStream } from "./support/devCluster";

export default async function globalSetup(): Promise<void> {
    prepareMachine();
    await destroyDev();
    const started = Date.now();
    const run = await deployDev();
    await waitUntilAllStream(run.outputs);
    const seconds = (Date.now() - started) / 1000;
    const figures = {
        deployToStreamingSeconds: seconds,
        replicas: run.outputs.replicaEndpoints.length,
        measuredAt: new Date().toISOString(),
    };
    fs.writeFileSync(
        path.join(path.dirname(PATHS.outputsPath), "figures.json"),
        JSON.stringify(figures, null, 2) + "\n",
    );
    console.log(
        `\n[e2e] dev stack deployed from nothing to ${figures.replicas} streaming replicas in ${seconds.toFixed(1)} s`,
    );
}
