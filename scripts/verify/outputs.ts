import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { OutputsSource } from "./args";
import { InputError } from "./errors";
import { redact } from "./redact";

/*
 * The stack outputs contract: what `pulumi stack output --json --show-secrets` of a pgha stack
 * returns. verify-replication reads it, and so will restore and failover tooling: import
 * `loadOutputs` / `parseClusterOutputs` from here rather than re-declaring the shape.
 */

/** Output keys whose values are secret: their values never appear in a message. */
export const SECRET_KEYS = [
    "monitorPassword",
    "writeConnectionString",
    "readConnectionString",
    "inNetworkWriteConnectionString",
    "inNetworkReadConnectionString",
] as const;

const NAME = /^[A-Za-z0-9_.-]{1,63}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

const nonEmpty = (what: string) =>
    z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
const named = (what: string, re: RegExp) =>
    z.string({ error: `must be ${what}` }).regex(re, { error: `must be ${what}` });

const host = named("a host name or IP address (no spaces)", /^[^\s/@]{1,255}$/);
const port = z
    .number({ error: "must be an integer port from 1 to 65535" })
    .int({ error: "must be an integer port from 1 to 65535" })
    .min(1, { error: "must be an integer port from 1 to 65535" })
    .max(65535, { error: "must be an integer port from 1 to 65535" });

const endpointSchema = z.object({ host, port }, { error: "must be an object { host, port }" });

const replicaSchema = z.object(
    {
        name: named("a replica name such as replica-1 (letters, digits, -, _, .)", NAME),
        host,
        port,
        slotName: named(
            "a physical slot name such as pgha_replica_1, or replica_1 under Patroni (a-z, 0-9, _; at most 63 characters)",
            /^[a-z0-9_]{1,63}$/,
        ),
        applicationName: named(
            "the replica's application_name such as replica_1 (letters, digits, -, _, .)",
            NAME,
        ),
    },
    { error: "must be an object { name, host, port, slotName, applicationName }" },
);

const connectionString = z
    .string({
        error: "must be a postgresql:// (or postgres://) URL naming user, password, host, port and database",
    })
    .refine(isPostgresUrl, {
        error: "must be a postgresql:// (or postgres://) URL naming user, password, host, port and database",
    });

/** zod schema of the stack outputs (unknown extra keys are allowed and dropped). */
export const clusterOutputsSchema = z.object(
    {
        clusterName: named("the cluster name such as pgha-dev (letters, digits, -, _, .)", NAME),
        platform: z.enum(["docker", "aws"], { error: 'must be one of "docker", "aws"' }),
        /** Which node is the primary; absent in outputs of stacks from before failover existed. */
        primaryNode: named('a node name such as "primary" or "replica-1"', NAME).default("primary"),
        /** Who moves the primary: `npm run failover` (manual) or Patroni (automatic); absent before Patroni. */
        failover: z
            .enum(["manual", "automatic"], { error: 'must be one of "manual", "automatic"' })
            .default("manual"),
        primaryEndpoint: endpointSchema,
        replicaEndpoints: z.array(replicaSchema, {
            error: "must be an array of { name, host, port, slotName, applicationName }",
        }),
        pgbouncerEndpoint: endpointSchema,
        databaseName: named("a database name such as app", IDENTIFIER),
        readOnlyDatabaseName: named("a PgBouncer database name such as app_ro", IDENTIFIER),
        synchronousMode: z.enum(["off", "any1"], { error: 'must be one of "off", "any1"' }),
        /** Under any1, whether writes wait while no replica confirms (true) or go on alone; absent before Patroni. */
        synchronousStrict: z.boolean({ error: "must be true or false" }).default(true),
        writeConnectionString: connectionString,
        readConnectionString: connectionString,
        monitorUser: named("a role name such as pgha_monitor", IDENTIFIER),
        monitorPassword: nonEmpty("a non-empty string"),
    },
    { error: "must be a JSON object (the output of `pulumi stack output --json --show-secrets`)" },
);

/** The validated stack outputs. */
export type ClusterOutputs = z.infer<typeof clusterOutputsSchema>;
/** A `{ host, port }` endpoint of the outputs. */
export type Endpoint = ClusterOutputs["primaryEndpoint"];
/** One entry of `replicaEndpoints`. */
export type ReplicaEndpoint = ClusterOutputs["replicaEndpoints"][number];

function isPostgresUrl(value: string): boolean {
    try {
        const url = new URL(value);
        return (url.protocol === "postgresql:" || url.protocol === "postgres:") && url.hostname !== "";
    } catch {
        return false;
    }
}

/** `["replicaEndpoints", 0, "port"]` → `replicaEndpoints[0].port`. */
function keyOf(path: readonly PropertyKey[]): string {
    let key = "";
    for (const part of path)
        key += typeof part === "number" ? `[${part}]` : key === "" ? String(part) : `.${String(part)}`;
    return key === "" ? "outputs" : key;
}

function preview(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The problems of cross-field rules, on whatever part of the input is well-formed. */
function crossFieldProblems(raw: Record<string, unknown>): string[] {
    const problems: string[] = [];
    for (const key of SECRET_KEYS) {
        if (raw[key] === "[secret]") {
            problems.push(
                `${key} is "[secret]": export the outputs with \`pulumi stack output --json --show-secrets\``,
            );
        }
    }
    const replicas = Array.isArray(raw.replicaEndpoints) ? raw.replicaEndpoints : [];
    for (const field of ["name", "slotName", "applicationName"] as const) {
        const firstIndex = new Map<string, number>();
        replicas.forEach((r, i) => {
            const value = r && typeof r === "object" ? (r as Record<string, unknown>)[field] : undefined;
            if (typeof value !== "string") return;
            const first = firstIndex.get(value);
            if (first === undefined) firstIndex.set(value, i);
            else
                problems.push(
                    `replicaEndpoints[${i}].${field} must be unique: ${preview(value)} is also replicaEndpoints[${first}].${field}`,
                );
        });
    }
    const primaryNode = typeof raw.primaryNode === "string" ? raw.primaryNode : "primary";
    replicas.forEach((r, i) => {
        const replica = r && typeof r === "object" ? (r as Record<string, unknown>) : {};
        if (replica.applicationName === primaryNode.replace(/-/g, "_") || replica.name === primaryNode) {
            problems.push(
                `replicaEndpoints[${i}] must not be the primary node ${preview(primaryNode)} (primaryNode)`,
            );
        }
    });
    if (
        raw.synchronousMode === "any1" &&
        Array.isArray(raw.replicaEndpoints) &&
        raw.replicaEndpoints.length === 0
    ) {
        problems.push(
            'synchronousMode "any1" needs at least one entry in replicaEndpoints: commits would wait forever',
        );
    }
    if (typeof raw.databaseName === "string" && raw.databaseName === raw.readOnlyDatabaseName) {
        problems.push(
            `readOnlyDatabaseName must differ from databaseName (both ${preview(raw.databaseName)}): they are PgBouncer's read-only and read-write entries`,
        );
    }
    return problems;
}

/**
 * Validates stack outputs (parsed JSON) against the contract.
 * @param origin says where the outputs came from, for the message (e.g. `outputs file x.json`).
 * @throws InputError listing every problem at once, each naming its key and what is allowed;
 *   the values of {@link SECRET_KEYS} are never shown.
 */
export function parseClusterOutputs(raw: unknown, origin = "stack outputs"): ClusterOutputs {
    const result = clusterOutputsSchema.safeParse(raw, { reportInput: true });
    const problems: string[] = [];
    if (!result.success) {
        for (const issue of result.error.issues) {
            const key = keyOf(issue.path);
            const input = (issue as { input?: unknown }).input;
            const secret = (SECRET_KEYS as readonly PropertyKey[]).includes(
                issue.path[issue.path.length - 1],
            );
            if (issue.path.length > 0 && input === undefined)
                problems.push(`${key} is missing: it ${issue.message}`);
            else
                problems.push(
                    `${key} ${issue.message}${secret || issue.path.length === 0 ? "" : `, got ${preview(input)}`}`,
                );
        }
    }
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw))
        problems.push(...crossFieldProblems(raw as Record<string, unknown>));
    if (problems.length > 0 || !result.success) {
        throw new InputError(
            `${origin} are not usable (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`,
        );
    }
    return result.data;
}

/** Every secret value inside the outputs (monitor password, passwords of connection strings), for {@link redact}. */
export function outputSecrets(outputs: ClusterOutputs): string[] {
    const secrets = [outputs.monitorPassword];
    for (const cs of [outputs.writeConnectionString, outputs.readConnectionString]) {
        try {
            const password = new URL(cs).password;
            if (password) secrets.push(password, decodeURIComponent(password));
        } catch {
            // validated already; nothing to add
        }
    }
    return [...new Set(secrets)];
}

/** Parses JSON text; the error says where it broke but never quotes the text (it may hold a password). */
function parseJson(text: string, what: string): unknown {
    try {
        return JSON.parse(text);
    } catch (err) {
        const message = (err as Error).message;
        const where = /line \d+ column \d+/.exec(message)?.[0] ?? /position \d+/.exec(message)?.[0];
        throw new InputError(
            `${what} is not valid JSON${where ? ` (at ${where})` : text.trim() === "" ? " (it is empty)" : ""}`,
        );
    }
}

/**
 * Reads and validates an outputs file (the JSON `pulumi stack output --json --show-secrets` prints).
 * @throws InputError when the file is missing, unreadable, not JSON, or not the outputs contract.
 */
export async function readOutputsFile(path: string): Promise<ClusterOutputs> {
    return parseClusterOutputs(await readRawOutputsFile(path), `outputs in ${path}`);
}

/** Reads an outputs file as JSON, without checking the contract (other tools read more keys). */
export async function readRawOutputsFile(path: string): Promise<unknown> {
    let text: string;
    try {
        text = await readFile(path, "utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") throw new InputError(`--outputs: file ${path} does not exist`);
        if (code === "EISDIR") throw new InputError(`--outputs: ${path} is a directory, not a JSON file`);
        throw new InputError(`--outputs: cannot read ${path} (${code ?? (err as Error).message})`);
    }
    return parseJson(text, `--outputs: ${path}`);
}

/** What running the Pulumi CLI returned. */
export interface CommandResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs the Pulumi CLI with `args`; the seam that tests replace.
 * Rejects with an error whose `code` is `ENOENT` when `pulumi` is not on PATH.
 */
export type PulumiRunner = (args: readonly string[]) => Promise<CommandResult>;

/** The real {@link PulumiRunner}: `pulumi` from PATH, no shell, 2 minutes at most. */
export const runPulumi: PulumiRunner = (args) =>
    new Promise((resolve, reject) => {
        execFile(
            "pulumi",
            [...args],
            { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, windowsHide: true },
            (err, stdout, stderr) => {
                if (err && (typeof (err as NodeJS.ErrnoException).code === "string" || err.killed)) {
                    reject(err);
                    return;
                }
                resolve({
                    exitCode: err ? ((err as { code?: number }).code ?? 1) : 0,
                    stdout: String(stdout),
                    stderr: String(stderr),
                });
            },
        );
    });

/**
 * Reads a stack's outputs with `pulumi stack output --json --show-secrets --stack <stack>`.
 * @throws InputError when the Pulumi CLI is missing, fails (no such stack, not logged in), or
 *   prints something that is not the outputs contract.
 */
export async function readStackOutputs(
    stack: string,
    run: PulumiRunner = runPulumi,
): Promise<ClusterOutputs> {
    return parseClusterOutputs(await readRawStackOutputs(stack, run), `outputs of stack ${stack}`);
}

/** Runs `pulumi stack output --json --show-secrets` and parses the JSON, without checking the contract. */
export async function readRawStackOutputs(stack: string, run: PulumiRunner = runPulumi): Promise<unknown> {
    const args = ["stack", "output", "--json", "--show-secrets", "--stack", stack];
    let result: CommandResult;
    try {
        result = await run(args);
    } catch (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === "ENOENT") {
            throw new InputError(
                "--stack needs the Pulumi CLI, but `pulumi` was not found on PATH: install it (and log in), or pass --outputs <file.json> with the stack's outputs",
            );
        }
        if (e.killed)
            throw new InputError(`--stack: \`pulumi ${args.join(" ")}\` did not finish within 2 minutes`);
        throw new InputError(
            `--stack: could not run \`pulumi ${args.join(" ")}\`: ${redact(e.message ?? String(err))}`,
        );
    }
    if (result.exitCode !== 0) {
        const why = redact(result.stderr.trim() || result.stdout.trim())
            .split("\n")
            .slice(0, 5)
            .join("\n    ");
        // A passphrase-protected stack read without a terminal: the CLI cannot ask.
        const passphrase = /passphrase/i.test(result.stderr)
            ? "\n  the stack's secrets are passphrase-protected: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (npm run deploy asks once and passes it to every step)"
            : "";
        throw new InputError(
            `--stack: \`pulumi ${args.join(" ")}\` failed (exit ${result.exitCode}):\n    ${why || "no output"}${passphrase}`,
        );
    }
    return parseJson(result.stdout, `the output of \`pulumi stack output\` for stack ${stack}`);
}

/**
 * Loads and validates the outputs from `--stack` or `--outputs`.
 * @throws InputError (exit 2) when they are not usable.
 */
export async function loadOutputs(
    source: OutputsSource,
    run: PulumiRunner = runPulumi,
): Promise<ClusterOutputs> {
    return (await loadOutputsWithRaw(source, run)).outputs;
}

/**
 * Loads the outputs as {@link loadOutputs} does, and also returns the JSON as read, for tools that
 * read keys beyond the contract (such as `backup`).
 * @throws InputError (exit 2) when they are not usable.
 */
export async function loadOutputsWithRaw(
    source: OutputsSource,
    run: PulumiRunner = runPulumi,
): Promise<{ outputs: ClusterOutputs; raw: unknown }> {
    const raw = await loadRawOutputs(source, run);
    const origin = source.kind === "stack" ? `outputs of stack ${source.stack}` : `outputs in ${source.path}`;
    return { outputs: parseClusterOutputs(raw, origin), raw };
}

/** Loads the outputs from `--stack` or `--outputs` as JSON, for tools that read keys beyond the contract. */
export function loadRawOutputs(source: OutputsSource, run: PulumiRunner = runPulumi): Promise<unknown> {
    return source.kind === "stack" ? readRawStackOutputs(source.stack, run) : readRawOutputsFile(source.path);
}
