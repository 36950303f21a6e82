import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseClusterConfig } from "../../../components/config";
import { hostPorts, imagesToPull } from "../../../scripts/preflight/checks";
import { configValues } from "../../../scripts/preflight";

const config = (extra: Record<string, string> = {}) =>
    parseClusterConfig({ "pgha:platform": "docker", ...extra });

describe("preflight: what a Docker deploy needs", () => {
    test("the images it pulls: the base image, and the S3 server's only when one is configured", () => {
        expect(imagesToPull(config())).toEqual([{ key: "pgha:baseImage", image: "postgres:16" }]);
        expect(imagesToPull(config({ "pgha:backupS3Image": "pgha-s3:local" }))).toEqual([
            { key: "pgha:baseImage", image: "postgres:16" },
            { key: "pgha:backupS3Image", image: "pgha-s3:local" },
        ]);
        expect(
            imagesToPull(config({ "pgha:backupS3Image": "pgha-s3:local", "pgha:backupEnabled": "false" })),
        ).toEqual([{ key: "pgha:baseImage", image: "postgres:16" }]);
    });

    test("the host ports it publishes, each with the key that sets it", () => {
        expect(hostPorts(config())).toEqual([
            { key: "pgha:primaryPort", port: 5432, count: 1 },
            { key: "pgha:replicaBasePort", port: 5433, count: 2 },
            { key: "pgha:pgbouncerPort", port: 6432, count: 1 },
        ]);
        expect(hostPorts(config({ "pgha:replicas": "0" })).map((p) => p.key)).toEqual([
            "pgha:primaryPort",
            "pgha:pgbouncerPort",
        ]);
    });

    test("`pulumi config --json` entries become the strings the program receives", () => {
        expect(
            configValues({
                "pgha:replicas": { value: "2", secret: false },
                "pgha:awsSubnetIds": { value: ["subnet-1"], secret: false },
                "pgha:backupS3SecretKey": { secret: true },
            }),
        ).toEqual({
            "pgha:replicas": "2",
            "pgha:awsSubnetIds": '["subnet-1"]',
            "pgha:backupS3SecretKey": "[secret]",
        });
    });
});

describe("npm run deploy / destroy with a passphrase-protected stack and no terminal", () => {
    const run = (script: string, env: Record<string, string>) =>
        new Promise<{ code: number; stderr: string }>((resolve) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-passphrase-"));
            fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "encryptionsalt: v1:abc:def\nconfig: {}\n");
            const child = execFile(
                "bash",
                [path.resolve(__dirname, "../../../scripts", script), "dev"],
                // No pulumi on PATH: the script must stop before calling it.
                { cwd: dir, env: { PATH: "/usr/bin:/bin", ...env } },
                (err, _stdout, stderr) => {
                    fs.rmSync(dir, { recursive: true, force: true });
                    resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
                },
            );
            child.stdin?.end();
        });

    test.each(["deploy.sh", "destroy.sh"])("%s exits 2 naming both variables", async (script) => {
        const r = await run(script, {});
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(
            "stack dev's secrets are passphrase-protected and there is no terminal to ask on: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE\n",
        );
    });
});
