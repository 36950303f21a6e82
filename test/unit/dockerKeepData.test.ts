import * as pulumi from "@pulumi/pulumi";
import { mockPassword } from "./support/programMocks";

void pulumi.runtime.setMocks(
    {
        newResource(args) {
            const state: Record<string, unknown> = { ...args.inputs };
            if (args.type === "random:index/randomPassword:RandomPassword")
                state.result = mockPassword(args.name, args.inputs.length);
            if (
                args.type === "docker:index/remoteImage:RemoteImage" ||
                args.type === "docker:index/image:Image"
            )
                state.repoDigest = "sha256:0123456789abcdef";
            // The slot job is a one-shot container the program checks the exit code of.
            if (args.type === "docker:index/container:Container" && args.inputs.attach) state.exitCode = 0;
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            throw new Error(`unmocked call ${args.token}`);
        },
    },
    "pgha",
    "unit",
    false,
);

/** The retainOnDelete of every Docker volume of a dev cluster, captured by a component transformation. */
async function volumesRetained(extra: Record<string, string>): Promise<Record<string, boolean | undefined>> {
    const { parseClusterConfig } = await import("../../components/config");
    const { DockerPostgresCluster } = await import("../../components/docker");
    const { ReplicationSecrets } = await import("../../components/secrets/replicationSecrets");
    const config = parseClusterConfig({ "pgha:platform": "docker", "pgha:replicas": "1", ...extra });
    const retained: Record<string, boolean | undefined> = {};
    const capture: pulumi.ResourceTransformation = (a) => {
        if (a.type === "docker:index/volume:Volume")
            retained[a.name] = (a.opts as pulumi.CustomResourceOptions).retainOnDelete;
        return undefined;
    };
    const name = `pgha-keep-${Math.random().toString(36).slice(2, 6)}`;
    const secrets = new ReplicationSecrets(`${name}-secrets`);
    new DockerPostgresCluster(name, { config, secrets }, { transformations: [capture] });
    await new Promise((r) => setTimeout(r, 200));
    return Object.fromEntries(Object.entries(retained).map(([k, v]) => [k.replace(name, "<cluster>"), v]));
}

describe("pgha:keepDataOnDestroy on Docker", () => {
    test("by default the primary's data volume and the repository volume are retained on delete; replicas' clones and the socket volume are not", async () => {
        expect(await volumesRetained({})).toEqual({
            "<cluster>-backups": true,
            "<cluster>-primary-data": true,
            "<cluster>-primary-run": undefined,
            "<cluster>-replica-1-data": false,
        });
        // After a failover the primary is replica-1: its volume is the one kept.
        expect(await volumesRetained({ "pgha:primaryNode": "replica-1" })).toEqual({
            "<cluster>-backups": true,
            "<cluster>-primary-data": false,
            "<cluster>-replica-1-data": true,
            "<cluster>-replica-1-run": undefined,
        });
    });

    test("with a local S3 server its data volume is retained instead", async () => {
        expect(await volumesRetained({ "pgha:backupS3Image": "pgha-s3:local" })).toEqual({
            "<cluster>-s3-data": true,
            "<cluster>-primary-data": true,
            "<cluster>-primary-run": undefined,
            "<cluster>-replica-1-data": false,
        });
    });

    test("false: every volume is deleted with the stack", async () => {
        expect(await volumesRetained({ "pgha:keepDataOnDestroy": "false" })).toEqual({
            "<cluster>-backups": false,
            "<cluster>-primary-data": false,
            "<cluster>-primary-run": undefined,
            "<cluster>-replica-1-data": false,
        });
    });
});
