import { z } from "zod";
import { InputError } from "../verify/errors";
import { loadRawOutputs, PulumiRunner, runPulumi } from "../verify/outputs";
import { parseFlags, parseSource, type OutputsSource } from "../verify/args";

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
            accessKey: z.string().optional(),
            secretKey: z.string().optional(),
            repositoryVolume: z.string().optional(),
            postgresVersion: z.number().int(),
            postgres: z
                .object({
                    maxConnections: z.number(),
                    walKeepSizeMb: z.number(),
                    maxSlotWalKeepSizeMb: z.number(),
                })
                .passthrough(),
            backup: z.object({ repository: z.object({}).passthrough() }).passthrough(),
        })
        .passthrough(),
});

/** A dev cluster's backup facts, from its outputs. */
export type BackupTarget = z.infer<typeof backupOutputsSchema>;

/**
 * Parses `--stack <name>` / `--outputs <file>` plus each tool's own flags; `--help` gives usage.
 * Shares verify's parsing, so an unknown flag, a missing value, a positional argument or a flag
 * given twice is rejected with a message naming the flag.
 * @throws InputError naming the flag and what is allowed.
 */
export function parseToolArgs<T extends Record<string, { type: "string" | "boolean" }>>(
    argv: readonly string[],
    options: T,
) {
    const values = parseFlags(argv, {
        stack: { type: "string" },
        outputs: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...options,
    }) as Record<string, string | boolean | undefined>;
    if (values.help) return { help: true as const, values };
    const source: OutputsSource = parseSource({
        stack: values.stack as string | undefined,
        outputs: values.outputs as string | undefined,
    });
    return { help: false as const, values, source };
}

/**
 * Loads the cluster's backup facts.
 * @throws InputError when the outputs are unusable, backups are off, or the platform is not Docker (AWS: names the SSM way).
 */
export async function loadBackupTarget(
    source: OutputsSource,
    run: PulumiRunner = runPulumi,
): Promise<BackupTarget> {
    const raw = await loadRawOutputs(source, run);
    if (typeof raw === "object" && raw !== null && (raw as Record<string, unknown>).platform === "aws") {
        // Not built yet: these tools drive Docker. The AWS backupAccess output names the SSM targets.
        throw new InputError(
            "the stack is on AWS: npm run backup / restore drive Docker only; run `PGHA_ETC=/etc/pgha/backup /etc/pgha/bin/pgha-node backup full` on the primary's instance through SSM (its id is in the backupAccess output)",
        );
    }
    const parsed = backupOutputsSchema.safeParse(raw);
    if (!parsed.success) {
        const keys = [...new Set(parsed.error.issues.map((i) => i.path.join(".")))];
        if (keys.includes("backupAccess")) {
            throw new InputError(
                "the outputs have no backupAccess: backups are off (pgha:backupEnabled) or the stack is not on Docker; on AWS run the tools on the primary through SSM",
            );
        }
        throw new InputError(`the outputs are not a pgha cluster's: check ${keys.join(", ")}`);
    }
    return parsed.data;
}
