import { EXIT } from "../verify/errors";
import { pgConnector, type ConnectOptions, type Connect } from "../verify/db";
import { defaultDeps as verifyDeps, runCommand, type MainDeps } from "../verify/main";
import { withCurrentLeader } from "../verify/leader";
import { loadOutputsWithRaw, outputSecrets } from "../verify/outputs";
import { HEALTH_DEFAULTS, HEALTH_USAGE, parseHealthArgs, type HealthOptions } from "./args";
import { collectSamples, HEALTH_APPLICATION_NAME } from "./collect";
import { evaluateHealth, type Expectations } from "./evaluate";
import { buildHealthReport, healthExitCode, renderHealthJson, renderHealthTable } from "./report";

/** What {@link main} talks to; tests replace any of it (the same seams as verify's, plus time). */
export interface HealthDeps extends MainDeps {
    readonly sleep: (ms: number) => Promise<void>;
    readonly now: () => number;
}

/** The real dependencies: process streams, the `pulumi` binary, `pg`, the clock. */
export const defaultHealthDeps: HealthDeps = {
    ...verifyDeps,
    connector: (opts: ConnectOptions): Connect =>
        pgConnector({ ...opts, applicationName: HEALTH_APPLICATION_NAME }),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
};

/**
 * What the outputs say the cluster should have: its replicas, and from the `backup` output (which
 * is not part of verify's contract) whether backups are on and their interval. `--backup-interval`
 * wins over the outputs; without either, Pulumi.yaml's default of 6 h.
 */
export function expectationsOf(
    outputs: { replicaEndpoints: Expectations["replicas"] },
    raw: unknown,
    options: Pick<HealthOptions, "backupIntervalMs">,
): Expectations {
    const backup = (raw as { backup?: { intervalHours?: unknown } } | null)?.backup;
    const hours =
        typeof backup?.intervalHours === "number" && backup.intervalHours > 0
            ? backup.intervalHours
            : undefined;
    const [backupIntervalMs, backupIntervalFrom]: [number, Expectations["backupIntervalFrom"]] =
        options.backupIntervalMs !== undefined
            ? [options.backupIntervalMs, "--backup-interval"]
            : hours !== undefined
              ? [hours * 3_600_000, "outputs"]
              : [HEALTH_DEFAULTS.backupIntervalMs, "default"];
    // No `backup` output does not prove backups are off: prod-tunnel's rewritten outputs drop it.
    return {
        replicas: outputs.replicaEndpoints,
        ...(backup ? { backupEnabled: true } : {}),
        backupIntervalMs,
        backupIntervalFrom,
    };
}

/**
 * The whole command: parses `argv`, loads the outputs, samples the primary, prints the table or
 * JSON and returns the exit code: 0 healthy (warnings allowed), 1 an alert, 2 unusable input,
 * 3 the primary could not be read at all. Never throws.
 */
export async function main(argv: readonly string[], deps: HealthDeps = defaultHealthDeps): Promise<number> {
    return runCommand("health", argv, deps, async (secrets) => {
        const parsed = parseHealthArgs(argv);
        if (parsed.help) {
            deps.stdout(HEALTH_USAGE);
            return EXIT.ok;
        }
        const { options } = parsed;
        const loaded = await loadOutputsWithRaw(options.source, deps.runPulumi);
        const raw = loaded.raw;
        secrets.push(...outputSecrets(loaded.outputs));
        const connect = deps.connector(options);
        // Under Patroni the leader moves by itself: sample the cluster as it is now.
        const { outputs } = await withCurrentLeader(loaded.outputs, connect);
        const samples = await collectSamples(outputs, options, secrets, {
            connect,
            sleep: deps.sleep,
            now: deps.now,
        });
        const results = evaluateHealth(samples, expectationsOf(outputs, raw, options), options);
        const report = buildHealthReport(outputs.clusterName, samples, options.intervalMs, results);
        deps.stdout(options.json ? renderHealthJson(report, secrets) : renderHealthTable(report, secrets));
        return healthExitCode(report);
    });
}
