import { parseArgs } from "util";
import { z } from "zod";
import { InputError } from "../verify/errors";
import { loadRawOutputs, PulumiRunner, runPulumi } from "../verify/outputs";
import type { OutputsSource } from "../verify/args";

/** The part of the stack outputs `npm run backup` and `npm run restore` read. */
const backupOutputsSchema = z.object({
    clusterName: z.string(),
    platform: z.string(),
    monitorUser: z.string(),
    monitorPassword: z.string(),
    databaseName: z.string(),
    backupAccess: z
        .object({
            schedulerContainer: z.string(),
            nodeImage: z.string(),
            network: z.string(),
            accessKey: z.string(),
            secretKey: z.string(),
            postgresVersion: z.number().int(),
            postgres: z.object({ maxConnections: z.number(), walKeepSizeMb: z.number(), maxSlotWalKeepSizeMb: z.number() }).passthrough(),
            backup: z.object({ repository: z.object({}).passthrough() }).passthrough(),
        })
        .passthrough(),
});

/** A dev cluster's backup facts, from its outputs. */
export type BackupTarget = z.infer<typeof backupOutputsSchema>;

/** Parses `--stack <name>` / `--outputs <file>` plus each tool's own flags; `--help` gives usage. */
export function parseToolArgs<T extends Record<string, { type: "string" | "boolean" }>>(argv: readonly string[], options: T) {
    let parsed;
    try {
        parsed = parseArgs({ args: [...argv], options: { stack: { type: "string" }, outputs: { type: "string" }, help: { type: "boolean", short: "h" }, ...options }, strict: true, allowPositionals: false });
    } catch (err) {
        throw new InputError((err as Error).message);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) return { help: true as const, values };
    if ((values.stack === undefined) === (values.outputs === undefined)) {
        throw new InputError("pass exactly one of --stack <name> or --outputs <file.json>");
    }
    const source: OutputsSource = values.stack !== undefined ? { kind: "stack", stack: String(values.stack) } : { kind: "file", path: String(values.outputs) };
    return { help: false as const, values, source };
}

/**
 * Loads the cluster's backup facts.
 * @throws InputError when the outputs are unusable, backups are off, or the platform is not Docker.
 */
export async function loadBackupTarget(source: OutputsSource, run: PulumiRunner = runPulumi): Promise<BackupTarget> {
    const raw = await loadRawOutputs(source, run);
    const parsed = backupOutputsSchema.safeParse(raw);
    if (!parsed.success) {
        const keys = [...new Set(parsed.error.issues.map((i) => i.path.join(".")))];
        if (keys.includes("backupAccess")) {
            throw new InputError("the outputs have no backupAccess: backups are off (pgha:backupEnabled) or the stack is not on Docker; on AWS run the tools on the primary through SSM");
        }
        throw new InputError(`the outputs are not a pgha cluster's: check ${keys.join(", ")}`);
    }
    return parsed.data;
}
