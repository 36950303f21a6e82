/**
 * Runs a Pulumi program once against the e2e engine ({@link DockerEngineMocks}), like one
 * `pulumi up` (or `pulumi destroy`) of a stack. Run it with tsx, one process per run:
 *
 *   tsx test/e2e/harness/runProgram.ts --stack dev [--project-root .] [--program index.ts]
 *       [--state .e2e/dev-state.json] [--outputs .e2e/dev-outputs.json]
 *       [--config pgha:replicas=1 ...] [--secret pgha:key=value ...] [--refresh] [--destroy]
 *
 * Like `pulumi up`, a run never reads live state unless `--refresh` (`pulumi up --refresh`): then
 * every provider first reads its objects back (objects that are gone leave the state, a stopped
 * container is started again rather than recreated). Relative paths are resolved against the
 * current directory. Prints one line `{"summary": {created, updated, replaced, deleted, unchanged,
 * gone}}` on stdout, writes the
 * stack outputs (shaped like `pulumi stack output --json --show-secrets`) to --outputs (mode
 * 0600), and exits non-zero with the error on stderr when the program or a resource fails.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { defaultPaths } from "./client";
import { DockerEngineMocks, EngineSummary } from "./dockerEngine";

/** The stack configuration as the Pulumi CLI would hand it to the program. */
export interface StackConfig {
    project: string;
    /** `main` from Pulumi.yaml, if set. */
    main?: string;
    /** Namespaced key (`pgha:replicas`) → string value. */
    config: Record<string, string>;
    secretKeys: string[];
}

type ConfigSchema = {
    type?: string;
    default?: unknown;
    value?: unknown;
    secret?: boolean;
    description?: string;
    items?: unknown;
};
const SCHEMA_FIELDS = new Set(["type", "default", "value", "secret", "description", "items"]);

function isSchema(v: unknown): v is ConfigSchema {
    return (
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        Object.keys(v).length > 0 &&
        Object.keys(v).every((k) => SCHEMA_FIELDS.has(k))
    );
}

/** Config values are strings; structured values are JSON, as with `pulumi config set --path`. */
function configString(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

function readYaml(file: string): Record<string, any> | undefined {
    return fs.existsSync(file)
        ? ((yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, any>)
        : undefined;
}

function splitAssignment(flag: string, arg: string): [string, string] {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new Error(`${flag} expects key=value, got ${JSON.stringify(arg)}`);
    return [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** Rejects values that do not fit the declared project config type, like the Pulumi CLI. */
function checkType(stack: string, key: string, type: string | undefined, value: string): void {
    const ok =
        type === "integer"
            ? /^-?\d+$/.test(value)
            : type === "boolean"
              ? value === "true" || value === "false"
              : type === "array"
                ? value.startsWith("[")
                : true;
    if (!ok) throw new Error(`Stack '${stack}' with configuration key '${key}' must be of type '${type}'`);
}

/**
 * Builds the config: `config:` of Pulumi.yaml (defaults, values, or plain values; bare keys mean
 * `<project>:key`), overridden by `config:` of Pulumi.<stack>.yaml, overridden by --config/--secret.
 */
export function loadStackConfig(
    projectRoot: string,
    stack: string,
    flags: string[] = [],
    secretFlags: string[] = [],
): StackConfig {
    const project = readYaml(path.join(projectRoot, "Pulumi.yaml"));
    if (!project?.name) throw new Error(`no Pulumi.yaml with a project name in ${projectRoot}`);
    const name: string = project.name;
    const qualify = (key: string) => (key.includes(":") ? key : `${name}:${key}`);
    const config: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const schemas: Record<string, ConfigSchema> = {};

    for (const [rawKey, entry] of Object.entries(project.config ?? {})) {
        const key = qualify(rawKey);
        if (!isSchema(entry)) {
            config[key] = configString(entry);
            continue;
        }
        schemas[key] = entry;
        if (entry.secret) secretKeys.add(key);
        const value = entry.value ?? entry.default;
        if (value !== undefined) config[key] = configString(value);
    }

    const stackFile = path.join(projectRoot, `Pulumi.${stack}.yaml`);
    for (const [rawKey, value] of Object.entries(readYaml(stackFile)?.config ?? {})) {
        if (typeof value === "object" && value !== null && "secure" in value) {
            throw new Error(
                `${stackFile}: ${rawKey} is an encrypted secret, which the e2e harness cannot decrypt; pass it with --secret instead`,
            );
        }
        config[qualify(rawKey)] = configString(value);
    }

    for (const flag of flags) {
        const [key, value] = splitAssignment("--config", flag);
        config[qualify(key)] = value;
    }
    for (const flag of secretFlags) {
        const [key, value] = splitAssignment("--secret", flag);
        config[qualify(key)] = value;
        secretKeys.add(qualify(key));
    }

    for (const [key, schema] of Object.entries(schemas)) {
        if (config[key] === undefined)
            throw new Error(`Stack '${stack}' is missing configuration value '${key}'`);
        checkType(stack, key, schema.type, config[key]);
    }
    return { project: name, main: project.main, config, secretKeys: [...secretKeys] };
}

/** Requires the program and returns its exports, calling an exported function as Pulumi does. */
async function runProgramModule(program: string): Promise<unknown> {
    const exported = require(program);
    return exported instanceof Function ? exported() : exported;
}

function errorMessage(err: unknown): string {
    if (err instanceof Error) return process.env.PGHA_E2E_DEBUG ? (err.stack ?? err.message) : err.message;
    return String(err);
}

function printSummary(summary: EngineSummary): void {
    process.stdout.write(JSON.stringify({ summary }) + "\n");
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            stack: { type: "string" },
            "project-root": { type: "string" },
            program: { type: "string" },
            state: { type: "string" },
            outputs: { type: "string" },
            config: { type: "string", multiple: true },
            secret: { type: "string", multiple: true },
            destroy: { type: "boolean" },
            refresh: { type: "boolean" },
        },
    });
    if (!values.stack) throw new Error("--stack is required");
    const projectRoot = path.resolve(values["project-root"] ?? ".");
    const defaults = defaultPaths(projectRoot, values.stack);
    const statePath = path.resolve(values.state ?? defaults.statePath);
    const outputsPath = path.resolve(values.outputs ?? defaults.outputsPath);
    const engine = new DockerEngineMocks({
        statePath,
        projectRoot,
        log: (line) => process.stderr.write(`[e2e-engine] ${line}\n`),
    });

    await engine.ping();
    if (values.destroy) return reportAfter(engine, () => engine.destroyAll());
    if (values.refresh) await engine.refresh();

    const stack = loadStackConfig(projectRoot, values.stack, values.config, values.secret);
    const program = path.resolve(values.program ?? path.join(projectRoot, stack.main ?? "index.ts"));
    // The program's own console output goes to stderr: stdout carries only the summary line.
    console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
    process.chdir(projectRoot);

    // Failed registrations surface as unhandled rejections, as under `pulumi up`'s language host.
    const errors = new Set<string>();
    process.on("unhandledRejection", (err) => errors.add(errorMessage(err)));
    process.on("uncaughtException", (err) => errors.add(errorMessage(err)));

    await pulumi.runtime.setMocks(engine, stack.project, values.stack, false);
    pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
    let outputs: unknown;
    try {
        // Like the language host: the program runs inside the root Stack component, whose outputs
        // are the program's exports with every Output resolved.
        outputs = await pulumi.runtime.runInPulumiStack(() => {
            // Mocks never see resource options: a stack transformation (run by the SDK in every
            // resource's constructor) hands them to the engine.
            pulumi.runtime.registerStackTransformation(engine.options.transformation);
            return runProgramModule(program);
        });
    } catch (err) {
        errors.add(errorMessage(err));
    }
    // Every registration holds an RPC keep-alive until the (mocked) engine answered, including
    // resources no export depends on and resources created inside apply callbacks:
    // disconnect() waits until that queue is drained.
    await pulumi.runtime.disconnect();
    // The SDK reports a failed registration only through unhandled rejections, which fire after
    // this point, if at all: let pending ones fire, then add what the engine saw fail.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const { type, name, message } of engine.failures()) {
        if (![...errors].some((e) => e.includes(message)))
            errors.add(`failed to register new resource ${name} [${type}]: ${message}`);
    }

    if (errors.size > 0) {
        for (const message of errors) process.stderr.write(`error: ${message}\n`);
        printSummary(engine.summary());
        return 1;
    }
    return reportAfter(engine, async () => {
        await engine.finish();
        fs.mkdirSync(path.dirname(outputsPath), { recursive: true });
        fs.writeFileSync(outputsPath, JSON.stringify(outputs ?? {}, null, 2) + "\n", { mode: 0o600 });
        fs.chmodSync(outputsPath, 0o600);
    });
}

/** Runs the last step, then prints the summary either way; returns the exit code. */
async function reportAfter(engine: DockerEngineMocks, step: () => Promise<unknown>): Promise<number> {
    try {
        await step();
        return 0;
    } catch (err) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
        return 1;
    } finally {
        printSummary(engine.summary());
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`error: ${errorMessage(err)}\n`);
            process.exit(1);
        },
    );
}
