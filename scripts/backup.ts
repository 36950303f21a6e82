/**
 * `npm run backup -- (--stack <name> | --outputs <file>) [--type full|diff|incr|auto] [--json]`:
 * takes a backup now, in the cluster's backup scheduler (the same code the schedule runs), records
 * it in pgha.backup_runs and prints its label and duration. Exit 0 done, 1 the backup failed,
 * 2 unusable input.
 */
import { ROLE_SCRIPT } from "../components/postgres/postgresqlConf";
import { dockerControl } from "./docker/containers";
import { EXIT, InputError } from "./verify/errors";
import { loadBackupTarget, parseToolArgs } from "./backup/target";
import { backupSources } from "./backup/sources";

const USAGE =
    "usage: npm run backup -- (--stack <name> | --outputs <file.json>) [--type full|diff|incr|auto] [--json]\n";

async function main(argv: readonly string[]): Promise<number> {
    const args = parseToolArgs(argv, { type: { type: "string" }, json: { type: "boolean" } });
    if (args.help) {
        process.stdout.write(USAGE);
        return EXIT.ok;
    }
    const type = String(args.values.type ?? "auto");
    if (!["full", "diff", "incr", "auto"].includes(type)) {
        throw new InputError(`--type must be one of full, diff, incr, auto; got ${JSON.stringify(type)}`);
    }
    const target = await loadBackupTarget(args.source);
    const started = Date.now();
    const { exitCode, output: log } = await dockerControl().exec(
        target.backupAccess.schedulerContainer,
        [ROLE_SCRIPT, "backup", type],
        {
            onOutput: (chunk) => {
                if (!args.values.json) process.stderr.write(chunk);
            },
        },
    );
    const seconds = (Date.now() - started) / 1000;
    const label = /new backup label = ([0-9A-Z_-]+)/.exec(log)?.[1];
    const result = {
        ok: exitCode === 0,
        type,
        label: label ?? null,
        seconds,
        exitCode,
        ...backupSources(log),
    };
    process.stdout.write(
        args.values.json
            ? `${JSON.stringify(result)}\n`
            : exitCode === 0
              ? `backup ${label} (${type}) done in ${seconds.toFixed(1)} s\n`
              : `backup failed (exit ${exitCode}) after ${seconds.toFixed(1)} s\n`,
    );
    return exitCode === 0 ? EXIT.ok : EXIT.checkFailed;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`backup: ${(err as Error).message}\n`);
        process.exit(err instanceof InputError ? EXIT.usage : EXIT.checkFailed);
    },
);
