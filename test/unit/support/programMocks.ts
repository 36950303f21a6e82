import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

/** One resource as it reached the mock engine. */
export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs exactly as the engine received them: secrets still wrapped. */
    inputs: any;
    custom: boolean;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a value received by the mocks is a Pulumi secret. */
export function isSecret(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as any)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
}

/** The stack config as the Pulumi CLI builds it: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then overrides. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const root = path.join(__dirname, "..", "..", "..");
    const project: any = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const config: Record<string, string> = {};
    const put = (key: string, value: unknown) => {
        config[key.includes(":") ? key : `${project.name}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    };
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        if (spec && typeof spec === "object" && "default" in spec) {
            put(key, spec.default);
        }
    }
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(stackFile)) {
        const stackYaml: any = yaml.load(fs.readFileSync(stackFile, "utf8"));
        for (const [key, value] of Object.entries(stackYaml.config ?? {})) {
            put(key, value);
        }
    }
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) {
            delete config[key.includes(":") ? key : `${project.name}:${key}`];
        } else {
            put(key, value);
        }
    }
    return config;
}

/** Result of running the program under mocks. */
export interface ProgramRun {
    resources: RecordedResource[];
    /** The program's exports, resolved: { value, secret }. */
    outputs: Record<string, { value: unknown; secret: boolean }>;
}

/**
 * Runs the real index.ts for `stack` under pulumi.runtime.setMocks and records every resource.
 * Unmocked provider functions throw, so a new data-source call cannot slip by untested.
 * A program error rejects with the error, its `resources` property holding what was declared.
 */
export async function runProgram(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    const resources: RecordedResource[] = [];
    let outputs: ProgramRun["outputs"] = {};
    await new Promise<void>((resolve, reject) => {
        jest.isolateModules(() => {
            const pulumi = require("@pulumi/pulumi");
            pulumi.runtime.setAllConfig(stackConfig(stack, overrides));
            pulumi.runtime.setMocks(
                {
                    newResource(args: any) {
                        resources.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom });
                        const state: any = { ...args.inputs };
                        if (args.type === "random:index/randomPassword:RandomPassword") {
                            state.result = `pw${args.name.replace(/[^a-z0-9]/gi, "")}`.padEnd(args.inputs.length, "x").slice(0, args.inputs.length);
                        }
                        if (args.type === "docker:index/image:Image") {
                            state.repoDigest = "sha256:0123456789abcdef";
                        }
                        return { id: `${args.name}-id`, state };
                    },
                    call(args: any) {
                        throw new Error(`unmocked call ${args.token}`);
                    },
                },
                "pgha",
                stack,
                false,
            );
            (async () => {
                const program = require("../../../index");
                const entries = await Promise.all(
                    Object.entries(program).map(async ([key, value]) => {
                        const output = pulumi.output(value);
                        const [resolved, secret] = await Promise.all([output.promise(), output.isSecret]);
                        return [key, { value: resolved, secret }] as const;
                    }),
                );
                outputs = Object.fromEntries(entries);
            })().then(resolve, (error) => reject(Object.assign(error, { resources })));
        });
    });
    // Let registrations that no output waits on finish too.
    await new Promise((r) => setTimeout(r, 50));
    return { resources, outputs };
}
