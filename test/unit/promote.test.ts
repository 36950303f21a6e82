import type { ConfigMap, OutputMap } from "@pulumi/pulumi/automation";
import { parsePromoteArgs } from "../../scripts/promote/args";
import {
    describeOutputs,
    EXIT,
    promote,
    PromoteDeps,
    PromoteStack,
    rawConfig,
} from "../../scripts/promote/pipeline";
import { stackConfig } from "./support/programMocks";

const PASSWORD = "Zx8sQ2mN4vB7cL1kP9dR3tY6wE5uI0oA";

/** The dev stack's outputs as `stack.outputs()` returns them (index.ts's exports). */
const devOutputs: OutputMap = {
    platform: { value: "docker", secret: false },
    clusterName: { value: "pgha-dev", secret: false },
    primaryEndpoint: { value: { host: "127.0.0.1", port: 5432 }, secret: false },
    replicaEndpoints: {
        value: [
            {
                name: "replica-1",
                host: "127.0.0.1",
                port: 5433,
                slotName: "pgha_replica_1",
                applicationName: "replica_1",
            },
        ],
        secret: false,
    },
    pgbouncerEndpoint: { value: { host: "127.0.0.1", port: 6432 }, secret: false },
    databaseName: { value: "app", secret: false },
    readOnlyDatabaseName: { value: "app_ro", secret: false },
    synchronousMode: { value: "off", secret: false },
    writeConnectionString: { value: `postgresql://app:${PASSWORD}@127.0.0.1:6432/app`, secret: true },
    readConnectionString: { value: `postgresql://app:${PASSWORD}@127.0.0.1:6432/app_ro`, secret: true },
    monitorUser: { value: "pgha_monitor", secret: false },
    monitorPassword: { value: PASSWORD, secret: true },
};

/** The prod stack's config as `stack.getAllConfig()` returns it (Pulumi.prod.yaml). */
function prodConfig(overrides: Record<string, { value: string; secret?: boolean }> = {}): ConfigMap {
    const config: ConfigMap = Object.fromEntries(
        Object.entries(stackConfig("prod")).map(([k, v]) => [k, { value: v, secret: false }]),
    );
    return { ...config, ...overrides };
}

interface Fake {
    deps: PromoteDeps;
    /** Every call the pipeline made, in order. */
    calls: string[];
    out: string[];
    err: string[];
    previewOptions: unknown[];
    upOptions: unknown[];
}

interface FakeOptions {
    stacks?: string[];
    outputs?: OutputMap;
    config?: ConfigMap;
    verify?: Record<string, number>;
    interactive?: boolean;
    answer?: boolean;
    preview?: () => Promise<any>;
    up?: () => Promise<any>;
    policyPackProblem?: string;
}

function fake(o: FakeOptions = {}): Fake {
    const f: Fake = {
        calls: [],
        out: [],
        err: [],
        previewOptions: [],
        upOptions: [],
        deps: undefined as never,
    };
    const stack = (name: string): PromoteStack =>
        ({
            name,
            outputs: async () => {
                f.calls.push(`outputs ${name}`);
                return o.outputs ?? devOutputs;
            },
            getAllConfig: async () => {
                f.calls.push(`config ${name}`);
                return o.config ?? prodConfig();
            },
            preview: async (opts: unknown) => {
                f.calls.push(`preview ${name}`);
                f.previewOptions.push(opts);
                return o.preview
                    ? o.preview()
                    : { stdout: "", stderr: "", changeSummary: { create: 31, same: 0 } };
            },
            up: async (opts: unknown) => {
                f.calls.push(`up ${name}`);
                f.upOptions.push(opts);
                return o.up
                    ? o.up()
                    : {
                          stdout: "",
                          stderr: "",
                          outputs: {},
                          summary: { result: "succeeded", resourceChanges: { create: 31 } },
                      };
            },
        }) as unknown as PromoteStack;
    f.deps = {
        selectStack: async (name) => {
            f.calls.push(`select ${name}`);
            if (!(o.stacks ?? ["dev", "prod"]).includes(name))
                throw new Error(`stack '${name}' not found\nmore detail`);
            return stack(name);
        },
        verify: async (name, throughTunnel) => {
            f.calls.push(`verify ${name}${throughTunnel ? " through the SSM tunnel" : ""}`);
            return o.verify?.[name] ?? 0;
        },
        confirm: async (question) => {
            f.calls.push(`confirm: ${question}`);
            return o.answer ?? false;
        },
        interactive: o.interactive ?? false,
        policyPacks: ["/repo/policy"],
        policyPackProblem: () => o.policyPackProblem,
        log: (line) => f.out.push(line),
        error: (line) => f.err.push(line),
        stream: (chunk) => f.out.push(chunk),
    };
    return f;
}

const ALL_GATES = [
    "select dev",
    "outputs dev",
    "verify dev",
    "select prod",
    "config prod",
    "preview prod",
    "up prod",
    "verify prod through the SSM tunnel",
];

describe("npm run promote: the happy path", () => {
    test("with --yes runs every gate in order, previews and deploys prod with the policy pack, exits 0", async () => {
        const f = fake();
        expect(await promote(["--yes"], f.deps)).toBe(EXIT.ok);
        expect(f.calls).toEqual(ALL_GATES);
        expect(f.previewOptions).toEqual([
            { diff: true, policyPacks: ["/repo/policy"], onOutput: f.deps.stream },
        ]);
        expect(f.upOptions).toEqual([{ policyPacks: ["/repo/policy"], onOutput: f.deps.stream }]);
        expect(f.out.filter((l) => l.startsWith("== gate"))).toEqual([
            "== gate 1/5: dev stack dev deployed and verified",
            "== gate 2/5: prod stack prod config valid",
            "== gate 3/5: preview of prod shown",
            "== gate 4/5: pulumi up on prod",
            "== gate 5/5: prod stack prod verified",
        ]);
        expect(f.out).toContain("prod config: platform aws eu-west-1, 2 replicas, synchronousMode any1");
        expect(f.out).toContain("preview of prod: create 31");
        expect(f.out[f.out.length - 1]).toBe("promote: dev → prod done, all 5 gates passed");
        expect(f.err).toEqual([]);
    });

    test("without --yes asks at the terminal before up, and deploys on yes", async () => {
        const f = fake({ interactive: true, answer: true });
        expect(await promote([], f.deps)).toBe(EXIT.ok);
        expect(f.calls).toEqual([
            ...ALL_GATES.slice(0, 6),
            'confirm: Deploy the changes above to stack prod? Type "yes" to continue: ',
            "up prod",
            "verify prod through the SSM tunnel",
        ]);
    });

    test("--dev and --prod choose the stacks", async () => {
        const f = fake({ stacks: ["staging", "org/pgha/live"] });
        expect(await promote(["-y", "--dev", "staging", "--prod", "org/pgha/live"], f.deps)).toBe(EXIT.ok);
        expect(f.calls).toEqual(
            ALL_GATES.map((c) =>
                c
                    .replace(/dev$/, "staging")
                    .replace(/prod$/, "org/pgha/live")
                    .replace("verify prod ", "verify org/pgha/live "),
            ),
        );
    });

    test("prints outputs only as non-secret keys, and no secret anywhere", async () => {
        const f = fake();
        await promote(["--yes"], f.deps);
        expect(f.out).toContain(
            "dev outputs: clusterName, databaseName, monitorUser, pgbouncerEndpoint, platform, primaryEndpoint, readOnlyDatabaseName, replicaEndpoints, synchronousMode (+3 secret outputs, not shown)",
        );
        expect([...f.out, ...f.err].join("\n")).not.toContain(PASSWORD);
        expect(describeOutputs({ a: { value: 1, secret: false }, b: { value: "x", secret: true } })).toBe(
            "a (+1 secret output, not shown)",
        );
    });
});

/** Runs the pipeline and returns what it said and did. */
async function failing(o: FakeOptions, argv: string[] = ["--yes"]) {
    const f = fake(o);
    const code = await promote(argv, f.deps);
    return { code, calls: f.calls, err: f.err.join("\n"), out: f.out.join("\n") };
}

describe("each failing gate stops the pipeline, names itself, and later gates do not run", () => {
    test("gate 1: the dev stack does not exist", async () => {
        const r = await failing({ stacks: ["prod"] });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(["select dev"]);
        expect(r.err).toBe(
            "promote: gate 1/5 \"dev stack dev deployed and verified\" failed: stack 'dev' not found\n    more detail\npromote: stopped; the 4 later gates were not run",
        );
    });

    test("gate 1: no Pulumi CLI on PATH", async () => {
        const f = fake();
        const deps = {
            ...f.deps,
            selectStack: async () =>
                Promise.reject(
                    new Error(
                        "code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT",
                    ),
                ),
        };
        expect(await promote(["--yes"], deps)).toBe(EXIT.gateFailed);
        expect(f.err[0]).toBe(
            'promote: gate 1/5 "dev stack dev deployed and verified" failed: the pulumi CLI was not found on PATH: the Automation API drives it; install it and log in (pulumi login)',
        );
    });

    test("gate 1: the dev stack has no outputs (never deployed)", async () => {
        const r = await failing({ outputs: {} });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(["select dev", "outputs dev"]);
        expect(r.err).toMatch(
            /^promote: gate 1\/5 "dev stack dev deployed and verified" failed: stack dev has no outputs: deploy it first \(pulumi up --stack dev\)$/m,
        );
    });

    test.each([
        [1, "a replication check failed"],
        [2, "unusable input: see verify-replication's message above"],
        [137, "unexpected exit code"],
    ])("gate 1: verify-replication on dev exits %i", async (code, meaning) => {
        const r = await failing({ verify: { dev: code } });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(["select dev", "outputs dev", "verify dev"]);
        expect(r.err).toContain(
            `promote: gate 1/5 "dev stack dev deployed and verified" failed: verify-replication on stack dev exited ${code} (${meaning})`,
        );
    });

    test("gate 2: the prod config is invalid; the message lists the problems", async () => {
        const r = await failing({
            config: prodConfig({ "pgha:replicas": { value: "16" }, "aws:region": { value: "mars" } }),
        });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(["select dev", "outputs dev", "verify dev", "select prod", "config prod"]);
        expect(r.err).toContain(
            'promote: gate 2/5 "prod stack prod config valid" failed: Invalid stack configuration (2 problems):',
        );
        expect(r.err).toContain("pgha:replicas must be an integer from 0 to 15, got 16");
        expect(r.err).toContain(
            'aws:region must be set to an AWS region such as eu-west-1 when pgha:platform is "aws", got "mars"',
        );
        expect(r.err).toContain("the 3 later gates were not run");
    });

    test("gate 2: a secret config value never appears in the message", async () => {
        const r = await failing({
            config: prodConfig({ "pgha:awsAmiId": { value: "hunter2-secret-ami", secret: true } }),
        });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.err).toContain('pgha:awsAmiId must look like ami-0123abcd, got "[secret]"');
        expect(r.err).not.toContain("hunter2");
    });

    test("gate 3: the policy pack's dependencies are missing", async () => {
        const r = await failing({
            policyPackProblem:
                "the policy pack's dependencies are not installed: run `npm ci --prefix policy`",
        });
        expect(r.calls).toEqual(["select dev", "outputs dev", "verify dev", "select prod", "config prod"]);
        expect(r.err).toContain(
            'promote: gate 3/5 "preview of prod shown" failed: the policy pack\'s dependencies are not installed',
        );
    });

    test("gate 3: the preview fails (a mandatory policy, a program error)", async () => {
        const r = await failing({
            preview: async () => {
                throw new Error(
                    "code: 255\n stdout: Policies:\n    ❌ pgha@v0.1.0 (local: policy)\n        - [mandatory]  no-public-database-ports",
                );
            },
        });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual([
            "select dev",
            "outputs dev",
            "verify dev",
            "select prod",
            "config prod",
            "preview prod",
        ]);
        expect(r.err).toMatch(
            /^promote: gate 3\/5 "preview of prod shown" failed: code: 255\n.*no-public-database-ports/s,
        );
        expect(r.err).toContain("the 2 later gates were not run");
    });

    test("gate 4: the confirmation is refused: nothing is deployed", async () => {
        const r = await failing({ interactive: true, answer: false }, []);
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual([
            ...ALL_GATES.slice(0, 6),
            'confirm: Deploy the changes above to stack prod? Type "yes" to continue: ',
        ]);
        expect(r.err).toBe(
            'promote: gate 4/5 "pulumi up on prod" failed: not confirmed: nothing was deployed to prod\npromote: stopped; the 1 later gate was not run',
        );
    });

    test("gate 4: no terminal and no --yes: stops without asking", async () => {
        const r = await failing({ interactive: false }, []);
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(ALL_GATES.slice(0, 6));
        expect(r.err).toContain(
            'promote: gate 4/5 "pulumi up on prod" failed: no terminal to confirm on: read the preview above, then run again with --yes to deploy to prod',
        );
    });

    test("gate 4: the update fails", async () => {
        const r = await failing({
            up: async () => ({ stdout: "", stderr: "", outputs: {}, summary: { result: "failed" } }),
        });
        expect(r.calls).toEqual(ALL_GATES.slice(0, 7));
        expect(r.err).toContain(
            'promote: gate 4/5 "pulumi up on prod" failed: pulumi up on prod ended "failed"',
        );
    });

    test("gate 5: verify-replication on prod fails", async () => {
        const r = await failing({ verify: { prod: 1 } });
        expect(r.code).toBe(EXIT.gateFailed);
        expect(r.calls).toEqual(ALL_GATES);
        expect(r.err).toBe(
            'promote: gate 5/5 "prod stack prod verified" failed: verify-replication on stack prod exited 1 (a replication check failed)',
        );
    });
});

describe("flags", () => {
    test.each([
        [["--bogus"], "unknown flag --bogus; the flags are --yes, --dev <stack>, --prod <stack>, --help"],
        [["--dev"], "--dev needs a stack name"],
        [["--prod", "--yes"], "--prod needs a stack name"],
        [["--yes=true"], "--yes takes no value"],
        [
            ["prod"],
            'unexpected argument "prod": stack names follow their flag (--dev <stack>, --prod <stack>)',
        ],
        [["--prod", "dev"], '--dev and --prod must name different stacks, both are "dev"'],
        [["--dev", "my stack"], '--dev must be a stack name such as dev or org/pgha/dev, got "my stack"'],
    ])("%j exits 2 naming the flag", async (argv, message) => {
        const f = fake();
        expect(await promote(argv, f.deps)).toBe(EXIT.usage);
        expect(f.err).toEqual([`promote: ${message} (see npm run promote -- --help)`]);
        expect(f.calls).toEqual([]);
    });

    test("defaults, --yes and -y", () => {
        expect(parsePromoteArgs([])).toEqual({
            help: false,
            options: { dev: "dev", prod: "prod", yes: false },
        });
        expect(parsePromoteArgs(["-y", "--prod=org/pgha/prod"])).toEqual({
            help: false,
            options: { dev: "dev", prod: "org/pgha/prod", yes: true },
        });
    });

    test("--help prints the usage with the gates and exit codes, and runs nothing", async () => {
        const f = fake();
        expect(await promote(["--help"], f.deps)).toBe(EXIT.ok);
        expect(f.out.join("\n")).toMatch(
            /^Usage: npm run promote -- \[--yes\] \[--dev <stack>\] \[--prod <stack>\][\s\S]*Exit codes: 0 every gate passed, 1 a gate failed, 2 bad flags\.$/,
        );
        expect(f.calls).toEqual([]);
    });
});

test("rawConfig gives the program's {key: string} shape, structured values as JSON text", () => {
    expect(
        rawConfig({
            "pgha:replicas": { value: "2", secret: false },
            "pgha:awsAppCidrs": { value: '["10.42.0.0/16"]', secret: false },
        }),
    ).toEqual({
        "pgha:replicas": "2",
        "pgha:awsAppCidrs": '["10.42.0.0/16"]',
    });
});
