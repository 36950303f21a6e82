import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseClusterConfig } from "../../../components/config";
import * as net from "net";
import type Docker from "dockerode";
import { checkPorts, hostPorts, imagesToPull } from "../../../scripts/preflight/checks";
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

    const noContainers = { listContainers: async () => [] } as unknown as Docker;

    test("a bind address this machine does not have is one problem naming pgha:bindAddress, not every port", async () => {
        const problems = await checkPorts(
            config({ "pgha:bindAddress": "192.0.2.1" }),
            "pgha-dev",
            "dev",
            noContainers,
        );
        expect(problems).toEqual([
            {
                key: "pgha:bindAddress",
                message: expect.stringContaining(
                    "pgha:bindAddress: 192.0.2.1 is not an address of this machine",
                ),
            },
        ]);
    });

    test("a port another program holds on 127.0.0.1 names its key and suggests a free port", async () => {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1" }, resolve));
        const port = (server.address() as net.AddressInfo).port;
        try {
            const problems = await checkPorts(
                config({ "pgha:primaryPort": String(port) }),
                "pgha-dev",
                "dev",
                noContainers,
            );
            expect(problems.map((p) => p.key)).toEqual(["pgha:primaryPort"]);
            expect(problems[0].message).toContain(
                `port ${port} on 127.0.0.1 is taken by another program on this machine`,
            );
            expect(problems[0].message).toMatch(/pulumi config set pgha:primaryPort \d+ --stack dev/);
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
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
