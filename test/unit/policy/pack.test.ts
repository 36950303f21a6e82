/**
 * The pack as the Pulumi engine runs it: served over gRPC by policy/index.ts, asked to analyze
 * resources whose properties are serialized the way the engine sends them (secrets wrapped in the
 * secret signature, unknowns as sentinels).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { policies } from "../../../policy/policies";
import { TYPES } from "../../../policy/types";
import { UNKNOWN_STRING } from "./policyArgs";

const root = path.join(__dirname, "..", "..", "..");
const policyDir = path.join(root, "policy");

describe("the policy pack", () => {
    test("lists every policy once, mandatory except the two that may only advise", () => {
        const levels = Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel]));
        expect(Object.keys(levels)).toHaveLength(policies.length);
        expect(levels).toEqual({
            "no-public-database-ports": "mandatory",
            "docker-database-ports-local": "advisory",
            "ebs-encrypted": "mandatory",
            "ec2-no-public-ip": "mandatory",
            "ec2-imdsv2-required": "mandatory",
            "s3-default-encryption": "mandatory",
            "s3-public-access-blocked": "mandatory",
            "prod-has-replica": "mandatory",
            "prod-has-backup-bucket": "advisory",
            "prod-backups-skip-nat": "mandatory",
            "docker-secret-envs-marked-secret": "mandatory",
            "secret-inputs-marked-secret": "mandatory",
        });
    });

    test("is a nodejs policy pack with exact versions, the same @pulumi/policy the root tests use", () => {
        const manifest: any = yaml.load(fs.readFileSync(path.join(policyDir, "PulumiPolicy.yaml"), "utf8"));
        expect(manifest.runtime).toBe("nodejs");
        const pkg = JSON.parse(fs.readFileSync(path.join(policyDir, "package.json"), "utf8"));
        const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
        for (const [name, version] of Object.entries<string>({
            ...pkg.dependencies,
            ...pkg.devDependencies,
        })) {
            expect([name, version]).toEqual([name, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
        }
        expect(pkg.dependencies["@pulumi/policy"]).toBe(rootPkg.devDependencies["@pulumi/policy"]);
        const lock = JSON.parse(fs.readFileSync(path.join(policyDir, "package-lock.json"), "utf8"));
        expect(lock.packages[""].dependencies).toEqual(pkg.dependencies);
    });
});

describe("the pack served over gRPC, as the engine runs it", () => {
    // The engine's side of the protocol, from @pulumi/pulumi and its own dependencies.
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const fromPulumi = (id: string) => require(require.resolve(id, { paths: [pulumiDir] }));
    const grpc = fromPulumi("@grpc/grpc-js");
    const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
    const pb = require("@pulumi/pulumi/proto/analyzer_pb.js");
    const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
    const secret = (value: unknown) => ({
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        value,
    });

    let server: ChildProcess;
    let client: any;

    beforeAll(async () => {
        // `pulumi preview --policy-pack policy` runs index.ts in policy/ and reads the port it prints.
        server = spawn(path.join(root, "node_modules", ".bin", "tsx"), ["index.ts"], {
            cwd: policyDir,
            stdio: ["ignore", "pipe", "pipe"],
        });
        const port = await new Promise<string>((resolve, reject) => {
            let err = "";
            server.stderr!.on("data", (d) => (err += d));
            server.stdout!.once("data", (d) => resolve(String(d).trim()));
            server.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
        });
        client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    }, 60_000);

    afterAll(() => {
        client?.close();
        server?.kill();
    });

    const options = (additionalSecretOutputs: string[] = []) => {
        const o = new pb.AnalyzerResourceOptions();
        o.setAdditionalsecretoutputsList(additionalSecretOutputs);
        return o;
    };
    type Diagnostic = [policy: string, level: "advisory" | "mandatory", message: string];
    const diagnostics = (resp: any): Diagnostic[] =>
        resp
            .getDiagnosticsList()
            .map((d: any) => [
                d.getPolicyname(),
                d.getEnforcementlevel() === 1 ? "mandatory" : "advisory",
                d.getMessage().split("\n").pop(),
            ]);

    function analyze(
        type: string,
        name: string,
        props: object,
        additionalSecretOutputs?: string[],
    ): Promise<Diagnostic[]> {
        const req = new pb.AnalyzeRequest();
        req.setType(type);
        req.setName(name);
        req.setUrn(`urn:pulumi:dev::pgha::${type}::${name}`);
        req.setProperties(Struct.fromJavaScript(props));
        req.setOptions(options(additionalSecretOutputs));
        return new Promise((resolve, reject) =>
            client.analyze(req, (err: Error, resp: any) => (err ? reject(err) : resolve(diagnostics(resp)))),
        );
    }

    test("a secret env arrives unwrapped: only additionalSecretOutputs tells the policy it is secret", async () => {
        const props = {
            name: "pgha-dev-primary",
            envs: [secret("PGHA_SECRET_REPLICATOR=s3cr3t-value")],
            ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1" }],
        };
        expect(await analyze(TYPES.dockerContainer, "primary", props)).toEqual([
            [
                "docker-secret-envs-marked-secret",
                "mandatory",
                expect.stringMatching(
                    /^container pgha-dev-primary: envs carry PGHA_SECRET_REPLICATOR but "envs" is not in additionalSecretOutputs/,
                ),
            ],
        ]);
        expect(await analyze(TYPES.dockerContainer, "primary", props, ["envs"])).toEqual([]);
    });

    test("mandatory and advisory violations come back with their levels; an unknown CIDR is reported as not checkable in preview", async () => {
        expect(
            await analyze(TYPES.dockerContainer, "pgbouncer", {
                name: "pgha-dev-pgbouncer",
                ports: [{ internal: 6432, external: 6432, ip: "0.0.0.0" }],
            }),
        ).toEqual([
            [
                "docker-database-ports-local",
                "advisory",
                expect.stringMatching(
                    /^container pgha-dev-pgbouncer publishes port 6432 as 6432 on 0\.0\.0\.0/,
                ),
            ],
        ]);
        expect(
            await analyze(TYPES.securityGroupIngressRule, "open", {
                ipProtocol: "tcp",
                fromPort: 6432,
                toPort: 6432,
                cidrIpv4: "0.0.0.0/0",
            }),
        ).toEqual([
            [
                "no-public-database-ports",
                "mandatory",
                expect.stringMatching(/^ingress rule open opens port 6432 to 0\.0\.0\.0\/0/),
            ],
        ]);
        expect(
            await analyze(TYPES.securityGroupIngressRule, "later", {
                ipProtocol: "tcp",
                fromPort: 6432,
                toPort: 6432,
                cidrIpv4: UNKNOWN_STRING,
            }),
        ).toEqual([
            [
                "no-public-database-ports",
                "advisory",
                expect.stringMatching(
                    /can't run policy 'no-public-database-ports' .* during preview: string value at \.cidrIpv4 can't be known during preview/,
                ),
            ],
        ]);
    });

    test("stack policies see the whole AWS stack", async () => {
        const resource = (type: string, name: string, props: object) => {
            const r = new pb.AnalyzerResource();
            r.setType(type);
            r.setName(name);
            r.setUrn(`urn:pulumi:prod::pgha::${type}::${name}`);
            r.setProperties(Struct.fromJavaScript(props));
            r.setOptions(options());
            return r;
        };
        const req = new pb.AnalyzeStackRequest();
        req.setResourcesList([
            resource(TYPES.instance, "primary", {
                tags: { "pgha:role": "primary" },
                tagsAll: UNKNOWN_STRING,
            }),
        ]);
        const found: Diagnostic[] = await new Promise((resolve, reject) =>
            client.analyzeStack(req, (err: Error, resp: any) =>
                err ? reject(err) : resolve(diagnostics(resp)),
            ),
        );
        expect(found).toEqual([
            [
                "prod-has-replica",
                "mandatory",
                expect.stringMatching(/^the AWS stack has 0 EC2 instances tagged pgha:role=replica/),
            ],
            [
                "prod-has-backup-bucket",
                "advisory",
                expect.stringMatching(/^the AWS stack has no S3 bucket for backups/),
            ],
        ]);
    });
});
