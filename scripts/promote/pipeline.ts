/**
 * The promotion pipeline: dev verified → prod config → prod preview → prod up → prod verified.
 *
 * Everything it talks to comes in through {@link PromoteDeps} (the Automation API's stacks, the
 * verify command, the confirmation prompt, the terminal), so tests run it without Pulumi.
 */
import type { ConfigMap, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { ConfigError, parseClusterConfig } from "../../components/config";
import { parsePromoteArgs, PromoteOptions, USAGE, UsageError } from "./args";

/** Exit codes of `npm run promote`. */
export const EXIT = {
    /** Every gate passed: prod is deployed and verified. */
    ok: 0,
    /** A gate failed; the ones after it did not run. */
    gateFailed: 1,
    /** Bad flags. */
    usage: 2,
} as const;

/** The parts of an Automation API `Stack` the pipeline uses. */
export type PromoteStack = Pick<Stack, "name" | "outputs" | "getAllConfig" | "preview" | "up">;

/** What the pipeline talks to; the entry point passes the real ones, tests pass fakes. */
export interface PromoteDeps {
    /** Opens an existing stack of the project (`LocalWorkspace.selectStack`). */
    readonly selectStack: (stackName: string) => Promise<PromoteStack>;
    /**
     * Runs verify-replication on a stack and returns its exit code (0 ok, 1 check failed, 2 unusable
     * input); `throughTunnel` (a stack on AWS, whose nodes have private addresses only) runs it
     * through the SSM tunnel (`scripts/prod-tunnel.ts --verify`).
     */
    readonly verify: (stackName: string, throughTunnel: boolean) => Promise<number>;
    /** Asks a yes/no question on the terminal; resolves true only for an explicit yes. */
    readonly confirm: (question: string) => Promise<boolean>;
    /** Whether there is a person at a terminal to ask. */
    readonly interactive: boolean;
    /** Policy packs every preview and update runs (the repository's `policy/`). */
    readonly policyPacks: readonly string[];
    /** Why the policy packs cannot run (e.g. their dependencies are not installed), or undefined. */
    readonly policyPackProblem: () => string | undefined;
    /** Prints one line of the pipeline's own progress. */
    readonly log: (line: string) => void;
    /** Prints one line of error. */
    readonly error: (line: string) => void;
    /** Streams Pulumi's own output (already masked by Pulumi). */
    readonly stream: (chunk: string) => void;
}

/** A gate said no: the message says why and what to do. */
export class GateFailure extends Error {
    constructor(message: string) {
        super(message);
        this.name = "GateFailure";
    }
}

/** What the gates share while they run. */
interface Run {
    readonly options: PromoteOptions;
    readonly deps: PromoteDeps;
    /** Values never to print: secret outputs and secret config values seen so far. */
    readonly secrets: Set<string>;
    prod?: PromoteStack;
    /** The prod stack's platform, from its config (gate 2). */
    prodPlatform?: string;
}

/** One step of the pipeline. */
interface Gate {
    readonly title: (o: PromoteOptions) => string;
    readonly run: (run: Run) => Promise<void>;
}

const VERIFY_MEANING: Record<number, string> = {
    1: "a replication check failed",
    2: "unusable input: see verify-replication's message above",
};

/** Collects the string leaves of a secret value, for redaction. */
function collectSecrets(value: unknown, into: Set<string>): void {
    if (typeof value === "string") {
        if (value.length >= 4) into.add(value);
    } else if (Array.isArray(value)) {
        value.forEach((v) => collectSecrets(v, into));
    } else if (value !== null && typeof value === "object") {
        Object.values(value).forEach((v) => collectSecrets(v, into));
    } else if (value !== undefined && value !== null) {
        collectSecrets(String(value), into);
    }
}

/** `text` with every known secret replaced by `[secret]`. */
export function redact(text: string, secrets: Iterable<string>): string {
    let out = text;
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("[secret]");
    return out;
}

/** The non-secret output names and how many secret ones there are: the only way outputs are printed. */
export function describeOutputs(outputs: OutputMap): string {
    const names = Object.keys(outputs).sort();
    const plain = names.filter((k) => !outputs[k].secret);
    const hidden = names.length - plain.length;
    return `${plain.join(", ")}${hidden ? ` (+${hidden} secret output${hidden === 1 ? "" : "s"}, not shown)` : ""}`;
}

/**
 * Turns the Automation API's config (`{"pgha:replicas": {value: "2", secret: false}}`) into the
 * shape `pulumi.runtime.allConfig()` gives a program (`{"pgha:replicas": "2"}`); structured values
 * are already JSON text.
 */
export function rawConfig(config: ConfigMap): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([key, v]) => [key, v.value]));
}

async function verifyGate(run: Run, stackName: string, throughTunnel = false): Promise<void> {
    run.deps.log(
        throughTunnel
            ? `running npx tsx scripts/prod-tunnel.ts --stack ${stackName} --verify (the nodes have private addresses only)`
            : `running npm run verify -- --stack ${stackName}`,
    );
    const code = await run.deps.verify(stackName, throughTunnel);
    if (code !== 0) {
        throw new GateFailure(
            `verify-replication on stack ${stackName} exited ${code} (${VERIFY_MEANING[code] ?? "unexpected exit code"})`,
        );
    }
}

function summarizeChanges(changes: Partial<Record<string, number>> | undefined): string {
    const entries = Object.entries(changes ?? {}).filter(([, n]) => (n ?? 0) > 0);
    return entries.length ? entries.map(([op, n]) => `${op} ${n}`).join(", ") : "no changes";
}

/** The gates, in order. */
const GATES: readonly Gate[] = [
    {
        title: (o) => `dev stack ${o.dev} deployed and verified`,
        run: async (run) => {
            const dev = await run.deps.selectStack(run.options.dev);
            const outputs = await dev.outputs();
            for (const o of Object.values(outputs)) if (o.secret) collectSecrets(o.value, run.secrets);
            if (Object.keys(outputs).length === 0) {
                throw new GateFailure(
                    `stack ${run.options.dev} has no outputs: deploy it first (pulumi up --stack ${run.options.dev})`,
                );
            }
            run.deps.log(`${run.options.dev} outputs: ${describeOutputs(outputs)}`);
            await verifyGate(run, run.options.dev);
        },
    },
    {
        title: (o) => `prod stack ${o.prod} config valid`,
        run: async (run) => {
            const prod = await run.deps.selectStack(run.options.prod);
            const config = await prod.getAllConfig();
            for (const v of Object.values(config)) if (v.secret) collectSecrets(v.value, run.secrets);
            try {
                const c = parseClusterConfig(rawConfig(config));
                run.prodPlatform = c.platform;
                const where = c.platform === "aws" ? `aws ${c.awsRegion}` : c.platform;
                run.deps.log(
                    `${run.options.prod} config: platform ${where}, ${c.replicas} replica${c.replicas === 1 ? "" : "s"}, synchronousMode ${c.synchronousMode}`,
                );
            } catch (err) {
                if (err instanceof ConfigError) throw new GateFailure(err.message);
                throw err;
            }
            run.prod = prod;
        },
    },
    {
        title: (o) => `preview of ${o.prod} shown`,
        run: async (run) => {
            const problem = run.deps.policyPackProblem();
            if (problem) throw new GateFailure(problem);
            const result = await run.prod!.preview({
                diff: true,
                policyPacks: [...run.deps.policyPacks],
                onOutput: run.deps.stream,
            });
            run.deps.log(`preview of ${run.options.prod}: ${summarizeChanges(result.changeSummary)}`);
        },
    },
    {
        title: (o) => `pulumi up on ${o.prod}`,
        run: async (run) => {
            if (!run.options.yes) {
                if (!run.deps.interactive) {
                    throw new GateFailure(
                        `no terminal to confirm on: read the preview above, then run again with --yes to deploy to ${run.options.prod}`,
                    );
                }
                const confirmed = await run.deps.confirm(
                    `Deploy the changes above to stack ${run.options.prod}? Type "yes" to continue: `,
                );
                if (!confirmed) {
                    throw new GateFailure(`not confirmed: nothing was deployed to ${run.options.prod}`);
                }
            }
            const result = await run.prod!.up({
                policyPacks: [...run.deps.policyPacks],
                onOutput: run.deps.stream,
            });
            if (result.summary.result !== "succeeded") {
                throw new GateFailure(`pulumi up on ${run.options.prod} ended "${result.summary.result}"`);
            }
            run.deps.log(`up on ${run.options.prod}: ${summarizeChanges(result.summary.resourceChanges)}`);
        },
    },
    {
        title: (o) => `prod stack ${o.prod} verified`,
        run: (run) => verifyGate(run, run.options.prod, run.prodPlatform === "aws"),
    },
];

/** How many gates there are. */
export const GATE_COUNT = GATES.length;

/**
 * An unexpected error in a few lines: the Automation API's errors carry the whole CLI output,
 * which was streamed already. A missing `pulumi` binary gets a message of its own.
 */
function describeError(err: unknown, lines = 6): string {
    const text = err instanceof Error ? err.message : String(err);
    if (/ENOENT/.test(text) && /\bpulumi\b/.test(text)) {
        return "the pulumi CLI was not found on PATH: the Automation API drives it; install it and log in (pulumi login)";
    }
    const all = text.trim().split("\n");
    return all.slice(0, lines).join("\n    ") + (all.length > lines ? "\n    ..." : "");
}

/**
 * Runs the gates in order and stops at the first that fails, naming it.
 * @returns {@link EXIT.ok} when every gate passed, {@link EXIT.gateFailed} otherwise. Never throws.
 */
export async function runPipeline(options: PromoteOptions, deps: PromoteDeps): Promise<number> {
    const run: Run = { options, deps, secrets: new Set() };
    for (const [i, gate] of GATES.entries()) {
        const title = gate.title(options);
        deps.log(`== gate ${i + 1}/${GATES.length}: ${title}`);
        try {
            await gate.run(run);
        } catch (err) {
            const why = err instanceof GateFailure ? err.message : describeError(err);
            deps.error(
                redact(`promote: gate ${i + 1}/${GATES.length} "${title}" failed: ${why}`, run.secrets),
            );
            const rest = GATES.length - i - 1;
            if (rest > 0)
                deps.error(
                    `promote: stopped; the ${rest} later gate${rest === 1 ? " was" : "s were"} not run`,
                );
            return EXIT.gateFailed;
        }
        deps.log(`   passed: ${title}`);
    }
    deps.log(`promote: ${options.dev} → ${options.prod} done, all ${GATES.length} gates passed`);
    return EXIT.ok;
}

/**
 * The whole command: parses `argv` (after `npm run promote --`), then runs the pipeline.
 * @returns 0 all gates passed, 1 a gate failed, 2 bad flags. Never throws.
 */
export async function promote(argv: readonly string[], deps: PromoteDeps): Promise<number> {
    let options: PromoteOptions;
    try {
        const parsed = parsePromoteArgs(argv);
        if (parsed.help) {
            deps.log(USAGE.trimEnd());
            return EXIT.ok;
        }
        options = parsed.options;
    } catch (err) {
        if (err instanceof UsageError) {
            deps.error(`promote: ${err.message} (see npm run promote -- --help)`);
            return EXIT.usage;
        }
        throw err;
    }
    return runPipeline(options, deps);
}
