import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, InputError } from "../../../scripts/verify/errors";
import { main, type MainDeps } from "../../../scripts/verify/main";
import {
    outputSecrets,
    parseClusterOutputs,
    readOutputsFile,
    readStackOutputs,
    type CommandResult,
    type PulumiRunner,
} from "../../../scripts/verify/outputs";
import { APP_PASSWORD, PASSWORD, validOutputs } from "./fixtures";

function problemsOf(raw: unknown): string {
    try {
        parseClusterOutputs(raw, "outputs in x.json");
    } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        const message = (err as InputError).message;
        expect(message).not.toContain(PASSWORD);
        expect(message).not.toContain(APP_PASSWORD);
        return message;
    }
    throw new Error("expected the outputs to be rejected");
}

const tmp = mkdtempSync(join(tmpdir(), "pgha-verify-outputs-"));
function file(name: string, content: string): string {
    const path = join(tmp, name);
    writeFileSync(path, content);
    return path;
}

describe("parseClusterOutputs", () => {
    test("accepts the contract and ignores unknown keys", () => {
        const raw = { ...validOutputs(), somethingNew: { x: 1 }, clusterEndpoint: "y" };
        const parsed = parseClusterOutputs(raw);
        expect(parsed.replicaEndpoints).toHaveLength(2);
        expect(parsed).not.toHaveProperty("somethingNew");
        expect(parsed.monitorPassword).toBe(PASSWORD);
    });

    test("accepts zero replicas with synchronousMode off, and aws", () => {
        expect(
            parseClusterOutputs({ ...validOutputs(), replicaEndpoints: [], platform: "aws" })
                .replicaEndpoints,
        ).toEqual([]);
    });

    type Mutate = (o: Record<string, any>) => void;
    test.each<[string, Mutate, RegExp]>([
        [
            "clusterName missing",
            (o) => delete o.clusterName,
            /clusterName is missing: it must be the cluster name/,
        ],
        ["platform wrong", (o) => (o.platform = "k8s"), /platform must be one of "docker", "aws", got "k8s"/],
        [
            "primaryEndpoint missing",
            (o) => delete o.primaryEndpoint,
            /primaryEndpoint is missing: it must be an object \{ host, port \}/,
        ],
        [
            "primaryEndpoint a string",
            (o) => (o.primaryEndpoint = "127.0.0.1:5432"),
            /primaryEndpoint must be an object \{ host, port \}, got "127.0.0.1:5432"/,
        ],
        [
            "primary port a string",
            (o) => (o.primaryEndpoint.port = "5432"),
            /primaryEndpoint\.port must be an integer port from 1 to 65535, got "5432"/,
        ],
        [
            "primary port 0",
            (o) => (o.primaryEndpoint.port = 0),
            /primaryEndpoint\.port must be an integer port from 1 to 65535, got 0/,
        ],
        [
            "primary port fractional",
            (o) => (o.primaryEndpoint.port = 5432.5),
            /primaryEndpoint\.port must be an integer port/,
        ],
        [
            "primary host empty",
            (o) => (o.primaryEndpoint.host = ""),
            /primaryEndpoint\.host must be a host name or IP address/,
        ],
        [
            "replicaEndpoints an object",
            (o) => (o.replicaEndpoints = {}),
            /replicaEndpoints must be an array of/,
        ],
        [
            "replica entry null",
            (o) => (o.replicaEndpoints[1] = null),
            /replicaEndpoints\[1\] must be an object \{ name, host, port, slotName, applicationName \}/,
        ],
        [
            "replica port too high",
            (o) => (o.replicaEndpoints[0].port = 70000),
            /replicaEndpoints\[0\]\.port must be an integer port from 1 to 65535, got 70000/,
        ],
        [
            "replica slot not a slot name",
            (o) => (o.replicaEndpoints[0].slotName = "replica-1"),
            /replicaEndpoints\[0\]\.slotName must be a physical slot name such as pgha_replica_1, or replica_1 under Patroni/,
        ],
        [
            "replica applicationName missing",
            (o) => delete o.replicaEndpoints[1].applicationName,
            /replicaEndpoints\[1\]\.applicationName is missing/,
        ],
        [
            "replica names twice",
            (o) => (o.replicaEndpoints[1].name = "replica-1"),
            /replicaEndpoints\[1\]\.name must be unique: "replica-1" is also replicaEndpoints\[0\]\.name/,
        ],
        [
            "slot twice",
            (o) => (o.replicaEndpoints[1].slotName = "pgha_replica_1"),
            /replicaEndpoints\[1\]\.slotName must be unique/,
        ],
        [
            "applicationName twice",
            (o) => (o.replicaEndpoints[1].applicationName = "replica_1"),
            /replicaEndpoints\[1\]\.applicationName must be unique/,
        ],
        [
            "applicationName primary",
            (o) => (o.replicaEndpoints[0].applicationName = "primary"),
            /replicaEndpoints\[0\] must not be the primary node "primary" \(primaryNode\)/,
        ],
        [
            "failed over: the promoted node still listed",
            (o) => (o.primaryNode = "replica-2"),
            /replicaEndpoints\[1\] must not be the primary node "replica-2" \(primaryNode\)/,
        ],
        ["pgbouncerEndpoint missing", (o) => delete o.pgbouncerEndpoint, /pgbouncerEndpoint is missing/],
        [
            "databaseName not an identifier",
            (o) => (o.databaseName = "my db"),
            /databaseName must be a database name such as app, got "my db"/,
        ],
        [
            "readOnlyDatabaseName missing",
            (o) => delete o.readOnlyDatabaseName,
            /readOnlyDatabaseName is missing/,
        ],
        [
            "ro = rw",
            (o) => (o.readOnlyDatabaseName = "app"),
            /readOnlyDatabaseName must differ from databaseName/,
        ],
        [
            "synchronousMode on",
            (o) => (o.synchronousMode = "on"),
            /synchronousMode must be one of "off", "any1", got "on"/,
        ],
        [
            "any1 without replicas",
            (o) => ((o.synchronousMode = "any1"), (o.replicaEndpoints = [])),
            /synchronousMode "any1" needs at least one entry in replicaEndpoints/,
        ],
        [
            "writeConnectionString not a URL",
            (o) => (o.writeConnectionString = `host=x password=${PASSWORD}`),
            /writeConnectionString must be a postgresql:\/\/ \(or postgres:\/\/\) URL naming user, password, host, port and database$/m,
        ],
        [
            "readConnectionString http",
            (o) => (o.readConnectionString = `http://app:${APP_PASSWORD}@x/app`),
            /readConnectionString must be a postgresql:\/\/ .* URL naming user, password, host, port and database$/m,
        ],
        ["monitorUser missing", (o) => delete o.monitorUser, /monitorUser is missing/],
        [
            "monitorPassword empty",
            (o) => (o.monitorPassword = ""),
            /monitorPassword must be a non-empty string$/m,
        ],
        [
            "monitorPassword a number",
            (o) => (o.monitorPassword = 12345),
            /monitorPassword must be a non-empty string$/m,
        ],
        [
            "monitorPassword not shown",
            (o) => (o.monitorPassword = "[secret]"),
            /monitorPassword is "\[secret\]": export the outputs with `pulumi stack output --json --show-secrets`/,
        ],
    ])("%s", (_name, mutate, message) => {
        const raw = validOutputs();
        mutate(raw);
        const text = problemsOf(raw);
        expect(text).toMatch(/^outputs in x\.json are not usable \(\d+ problems?\):/);
        expect(text).toMatch(message);
    });

    test("reports every problem at once", () => {
        const raw = validOutputs();
        delete raw.clusterName;
        raw.primaryEndpoint.port = "x";
        raw.replicaEndpoints[0].slotName = "no-pe";
        raw.synchronousMode = "sync";
        raw.monitorPassword = "";
        const text = problemsOf(raw);
        expect(text).toMatch(/\(5 problems\)/);
        for (const key of [
            "clusterName",
            "primaryEndpoint.port",
            "replicaEndpoints[0].slotName",
            "synchronousMode",
            "monitorPassword",
        ]) {
            expect(text).toContain(`  - ${key} `);
        }
    });

    test.each([[null], [[]], ["text"], [42]])("rejects %j as a whole", (raw) => {
        expect(problemsOf(raw)).toMatch(/outputs must be a JSON object/);
    });

    test("outputSecrets lists the monitor password and the connection-string passwords", () => {
        const raw = validOutputs();
        raw.readConnectionString = "postgresql://app:p%40ss%2Fword@127.0.0.1:6432/app_ro";
        expect(outputSecrets(parseClusterOutputs(raw))).toEqual(
            expect.arrayContaining([PASSWORD, APP_PASSWORD, "p%40ss%2Fword", "p@ss/word"]),
        );
    });
});

describe("readOutputsFile", () => {
    test("reads a valid file", async () => {
        const outputs = await readOutputsFile(file("ok.json", JSON.stringify(validOutputs())));
        expect(outputs.clusterName).toBe("pgha-dev");
    });

    test.each<[string, () => string, RegExp]>([
        ["a missing file", () => join(tmp, "nope.json"), /^--outputs: file .*nope\.json does not exist$/],
        [
            "a directory",
            () => (mkdirSync(join(tmp, "dir"), { recursive: true }), join(tmp, "dir")),
            /^--outputs: .*dir is a directory, not a JSON file$/,
        ],
        [
            "an empty file",
            () => file("empty.json", ""),
            /^--outputs: .*empty\.json is not valid JSON \(it is empty\)$/,
        ],
        [
            "not JSON",
            () => file("bad.json", `{"monitorPassword": "${PASSWORD}", oops}`),
            /^--outputs: .*bad\.json is not valid JSON \(at line 1 column \d+\)$/,
        ],
        [
            "YAML",
            () => file("y.json", `clusterName: pgha-dev\nmonitorPassword: ${PASSWORD}\n`),
            /^--outputs: .*y\.json is not valid JSON/,
        ],
        [
            "a JSON array",
            () => file("arr.json", "[]"),
            /^outputs in .*arr\.json are not usable \(1 problem\):\n  - outputs must be a JSON object/,
        ],
        [
            "a malformed shape",
            () =>
                file(
                    "shape.json",
                    JSON.stringify({ ...validOutputs(), replicaEndpoints: [{ name: "replica-1" }] }),
                ),
            /replicaEndpoints\[0\]\.host is missing/,
        ],
    ])("rejects %s with exit 2 and a clear message", async (_name, make, message) => {
        const err = await readOutputsFile(make()).then(
            () => undefined,
            (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).exitCode).toBe(EXIT.usage);
        expect((err as InputError).message).toMatch(message);
        expect((err as InputError).message).not.toContain(PASSWORD);
    });
});

describe("readStackOutputs", () => {
    const ok =
        (stdout: string): PulumiRunner =>
        async () => ({ exitCode: 0, stdout, stderr: "" });

    test("runs pulumi stack output --json --show-secrets --stack <name>", async () => {
        const calls: (readonly string[])[] = [];
        const run: PulumiRunner = async (args) => {
            calls.push(args);
            return { exitCode: 0, stdout: JSON.stringify(validOutputs()), stderr: "" };
        };
        const outputs = await readStackOutputs("acme/dev", run);
        expect(outputs.databaseName).toBe("app");
        expect(calls).toEqual([["stack", "output", "--json", "--show-secrets", "--stack", "acme/dev"]]);
    });

    test("pulumi not found → exit 2 telling what to do", async () => {
        const run: PulumiRunner = async () => {
            throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
        };
        const err = (await readStackOutputs("dev", run).catch((e: unknown) => e)) as InputError;
        expect(err).toBeInstanceOf(InputError);
        expect(err.exitCode).toBe(2);
        expect(err.message).toMatch(/--stack needs the Pulumi CLI, but `pulumi` was not found on PATH/);
        expect(err.message).toMatch(/pass --outputs <file\.json>/);
    });

    test.each<[string, CommandResult | Error, RegExp]>([
        [
            "no such stack",
            { exitCode: 255, stdout: "", stderr: "error: no stack named 'dev' found\n" },
            /failed \(exit 255\):\n    error: no stack named 'dev' found/,
        ],
        [
            "not JSON",
            { exitCode: 0, stdout: "Current stack outputs (3):", stderr: "" },
            /the output of `pulumi stack output` for stack dev is not valid JSON/,
        ],
        [
            "secrets hidden",
            {
                exitCode: 0,
                stdout: JSON.stringify({ ...validOutputs(), monitorPassword: "[secret]" }),
                stderr: "",
            },
            /monitorPassword is "\[secret\]"/,
        ],
        [
            "a timeout",
            Object.assign(new Error("killed"), { killed: true }),
            /did not finish within 2 minutes/,
        ],
        [
            "stderr with a connection string",
            { exitCode: 1, stdout: "", stderr: `error: postgresql://app:${APP_PASSWORD}@db/app refused` },
            /postgresql:\/\/app:\*\*\*@db\/app refused/,
        ],
    ])("%s → exit 2", async (_name, answer, message) => {
        const run: PulumiRunner = async () => {
            if (answer instanceof Error) throw answer;
            return answer;
        };
        const err = (await readStackOutputs("dev", run).catch((e: unknown) => e)) as InputError;
        expect(err).toBeInstanceOf(InputError);
        expect(err.message).toMatch(message);
        expect(err.message).not.toContain(APP_PASSWORD);
    });

    test("main --stack without pulumi exits 2 with the message on stderr", async () => {
        const out: string[] = [];
        const errs: string[] = [];
        const deps: MainDeps = {
            stdout: (t) => out.push(t),
            stderr: (t) => errs.push(t),
            runPulumi: async () => {
                throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
            },
            connector: () => {
                throw new Error("must not connect");
            },
        };
        expect(await main(["--stack", "dev"], deps)).toBe(2);
        expect(errs.join("")).toMatch(
            /^verify-replication: --stack needs the Pulumi CLI, but `pulumi` was not found on PATH/,
        );
        expect(out).toEqual([]);
        // with --json, machines also get a JSON answer on stdout
        expect(await main(["--stack", "dev", "--json"], deps)).toBe(2);
        expect(JSON.parse(out.join(""))).toMatchObject({
            ok: false,
            checks: [],
            error: expect.stringMatching(/pulumi/),
        });
    });

    test("the real runner reports ENOENT when pulumi is not on PATH", async () => {
        const { runPulumi } = await import("../../../scripts/verify/outputs");
        const path = process.env.PATH;
        process.env.PATH = tmp;
        try {
            const err = (await readStackOutputs("dev", runPulumi).catch((e: unknown) => e)) as InputError;
            expect(err.message).toMatch(/was not found on PATH/);
        } finally {
            process.env.PATH = path;
        }
    });

    test("parses what pulumi prints", async () => {
        await expect(readStackOutputs("dev", ok(JSON.stringify(validOutputs())))).resolves.toHaveProperty(
            "clusterName",
            "pgha-dev",
        );
    });
});
