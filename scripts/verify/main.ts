import { parseVerifyArgs, USAGE } from "./args";
import { pgConnector, type Connect, type ConnectOptions } from "./db";
import { EXIT, InputError } from "./errors";
import { loadOutputs, outputSecrets, runPulumi, type PulumiRunner } from "./outputs";
import { redact } from "./redact";
import { exitCodeOf, renderJson, renderTable } from "./report";
import { withCurrentLeader } from "./leader";
import { runChecks } from "./run";

/** What {@link main} talks to; tests replace any of it. */
export interface MainDeps {
    /** Where the report (or usage) goes. */
    readonly stdout: (text: string) => void;
    /** Where error messages go. */
    readonly stderr: (text: string) => void;
    /** Runs the Pulumi CLI for `--stack`. */
    readonly runPulumi: PulumiRunner;
    /** Makes the connector the checks use, from the timeout flags. */
    readonly connector: (opts: ConnectOptions) => Connect;
}

/** The real dependencies: process streams, the `pulumi` binary, `pg`. */
export const defaultDeps: MainDeps = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    runPulumi,
    connector: pgConnector,
};

/**
 * The whole command: parses `argv` (without node and the script), loads the outputs, runs the
 * checks, prints the table or JSON, and returns the exit code: 0 all passed (warnings allowed),
 * 1 a check failed, 2 unusable input. Never throws.
 */
export async function main(argv: readonly string[], deps: MainDeps = defaultDeps): Promise<number> {
    return runCommand("verify-replication", argv, deps, async (secrets) => {
        const parsed = parseVerifyArgs(argv);
        if (parsed.help) {
            deps.stdout(USAGE);
            return EXIT.ok;
        }
        const { options } = parsed;
        const outputs = await loadOutputs(options.source, deps.runPulumi);
        secrets.push(...outputSecrets(outputs));
        const connect = deps.connector(options);
        // Under Patroni the leader moves by itself: check the cluster as it is now.
        const { outputs: current } = await withCurrentLeader(outputs, connect);
        const report = await runChecks(current, options, connect);
        deps.stdout(options.json ? renderJson(report, secrets) : renderTable(report, secrets));
        return exitCodeOf(report);
    });
}

/**
 * Runs a command's `body` with the error handling `verify` and `health` share: an
 * {@link InputError} prints `<name>: <message>` on stderr (and with `--json` also
 * `{ ok: false, error, checks: [] }` on stdout) and returns {@link EXIT.usage}; any other error is
 * an internal error, {@link EXIT.checkFailed}. Messages are redacted with the secrets the body
 * adds to the array it is given. Never throws.
 */
export async function runCommand(
    name: string,
    argv: readonly string[],
    io: Pick<MainDeps, "stdout" | "stderr">,
    body: (secrets: string[]) => Promise<number>,
): Promise<number> {
    const secrets: string[] = [];
    try {
        return await body(secrets);
    } catch (err) {
        if (err instanceof InputError) {
            const message = redact(err.message, secrets);
            io.stderr(`${name}: ${message}\n`);
            if (argv.includes("--json"))
                io.stdout(`${JSON.stringify({ ok: false, error: message, checks: [] }, null, 2)}\n`);
            return EXIT.usage;
        }
        io.stderr(`${name}: internal error: ${redact(String((err as Error)?.stack ?? err), secrets)}\n`);
        return EXIT.checkFailed;
    }
}
