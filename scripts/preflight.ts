/**
 * `npm run preflight -- --stack <name>`: what `npm run deploy` runs before `pulumi up` on a Docker
 * stack. Reads the stack's config with `pulumi config --json`, validates it as the program does,
 * and checks the Docker engine: every image the deploy pulls exists, every host port is free.
 * Exit 0 ready, 1 a problem that would fail the deploy (each names the config key), 2 unusable input.
 */
import { parseArgs } from "node:util";
import { ConfigError, parseClusterConfig } from "../components/config";
import { preflight } from "./preflight/checks";
import { runPulumi } from "./verify/outputs";

const USAGE = "usage: npm run preflight -- --stack <name>\n";

/** `pulumi config --json` entries (`{ value, secret }`) as the flat strings the program receives. */
export function configValues(
    json: Record<string, { value?: unknown; secret?: boolean }>,
): Record<string, string> {
    return Object.fromEntries(
        Object.entries(json).map(([key, entry]) => [
            key,
            entry.value === undefined
                ? "[secret]"
                : typeof entry.value === "string"
                  ? entry.value
                  : JSON.stringify(entry.value),
        ]),
    );
}

async function main(argv: string[]): Promise<number> {
    let stack: string | undefined;
    try {
        const { values } = parseArgs({
            args: argv,
            options: { stack: { type: "string" }, help: { type: "boolean" } },
        });
        if (values.help) {
            process.stdout.write(USAGE);
            return 0;
        }
        stack = values.stack;
    } catch (err) {
        process.stderr.write(`preflight: ${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (!stack) {
        process.stderr.write(`preflight: --stack is required\n${USAGE}`);
        return 2;
    }
    let result;
    try {
        result = await runPulumi(["config", "--json", "--stack", stack]);
    } catch (err) {
        const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
        process.stderr.write(
            missing
                ? "preflight: needs the Pulumi CLI, but `pulumi` was not found on PATH: install it (https://www.pulumi.com/docs/install/) and log in\n"
                : `preflight: \`pulumi config --json --stack ${stack}\` failed: ${(err as Error).message}\n`,
        );
        return 2;
    }
    if (result.exitCode !== 0) {
        const passphrase = /passphrase/i.test(result.stderr)
            ? "\n  the stack's secrets are passphrase-protected: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"
            : "";
        process.stderr.write(
            `preflight: \`pulumi config --json --stack ${stack}\` failed (exit ${result.exitCode}): ${result.stderr.trim().split("\n")[0]}${passphrase}\n`,
        );
        return 2;
    }
    let config;
    try {
        config = parseClusterConfig(configValues(JSON.parse(result.stdout)));
    } catch (err) {
        process.stderr.write(`preflight: ${err instanceof ConfigError ? err.message : String(err)}\n`);
        return 2;
    }
    const problems = await preflight(config, `pgha-${stack}`, stack);
    if (problems.length === 0) {
        process.stdout.write(
            `preflight: stack ${stack} can deploy on this Docker engine (images exist, ports free)\n`,
        );
        return 0;
    }
    process.stderr.write(
        `preflight: stack ${stack} would fail to deploy (nothing was created):\n  - ${problems.map((p) => p.message).join("\n  - ")}\n`,
    );
    return 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`preflight: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(2);
        },
    );
}
