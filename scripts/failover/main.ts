import { writeFile } from "node:fs/promises";
import { dockerControl } from "../docker/containers";
import { pgConnector } from "../verify/db";
import { EXIT, InputError } from "../verify/errors";
import { runCommand } from "../verify/main";
import { loadOutputsWithRaw, outputSecrets, runPulumi, type PulumiRunner } from "../verify/outputs";
import { FAILOVER_USAGE, parseFailoverArgs, parseRejoinArgs, REJOIN_USAGE } from "./args";
import { failover, OpsDeps, rejoin } from "./run";
import { patroniSwitchover } from "./patroni";
import { configCommand, membersOf, outputsAfter } from "./topology";

/** What the commands talk to; tests replace any of it. */
export interface CommandDeps {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    readonly runPulumi: PulumiRunner;
    readonly ops: () => OpsDeps;
}

export const defaultDeps: CommandDeps = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    runPulumi,
    ops: () => ({
        containers: dockerControl(),
        connect: pgConnector({
            connectTimeoutMs: 2000,
            queryTimeoutMs: 5000,
            applicationName: "pgha-failover",
        }),
        log: (line) => void process.stderr.write(`[failover] ${line}\n`),
        now: () => Date.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    }),
};

/** `npm run failover`: see {@link FAILOVER_USAGE}. Never throws. */
export function failoverMain(argv: readonly string[], deps: CommandDeps = defaultDeps): Promise<number> {
    return runCommand("failover", argv, deps, async (secrets) => {
        const options = parseFailoverArgs(argv);
        if (!options) {
            deps.stdout(FAILOVER_USAGE);
            return EXIT.ok;
        }
        const { outputs, raw } = await loadOutputsWithRaw(options.source, deps.runPulumi);
        secrets.push(...outputSecrets(outputs));
        const members = membersOf(outputs);
        if ((raw as { failover?: string }).failover === "automatic") {
            // Patroni fails over by itself; what is left to do by hand is a planned switchover.
            const nodes = [members.primary, ...members.replicas].map((m) => m.name);
            try {
                const r = await patroniSwitchover(outputs.clusterName, nodes, deps.ops(), {
                    to: options.to,
                    timeoutMs: options.timeoutMs,
                    // PgBouncer holds the app's writes while the leader changes (Docker's container name).
                    pool: { container: `${outputs.clusterName}-pgbouncer`, database: outputs.databaseName },
                });
                const held = r.pausedMs === undefined ? "" : `; PgBouncer held writes ${r.pausedMs} ms`;
                deps.stdout(
                    options.json
                        ? `${JSON.stringify({ ok: true, ...r }, null, 2)}\n`
                        : `switchover: ${r.newPrimary} leads (was ${r.oldPrimary}); every member healthy after ${r.healthyMs} ms${held}\n`,
                );
                return EXIT.ok;
            } catch (err) {
                if (err instanceof InputError) throw err;
                deps.stderr(`failover: FAILED: ${(err as Error).message}\n`);
                return EXIT.checkFailed;
            }
        }
        let result;
        try {
            result = await failover(outputs, members, deps.ops(), {
                to: options.to,
                timeoutMs: options.timeoutMs,
            });
        } catch (err) {
            if (err instanceof InputError) throw err;
            deps.stderr(`failover: FAILED: ${(err as Error).message}\n`);
            return EXIT.checkFailed;
        }
        // Record the topology, so the next `pulumi up` keeps it.
        const config = configCommand(
            options.source.kind === "stack" ? options.source.stack : undefined,
            result.newPrimary,
        );
        let recorded: string;
        if (options.source.kind === "stack") {
            const run = await deps.runPulumi(config);
            if (run.exitCode !== 0) {
                deps.stderr(
                    `failover: the cluster failed over, but \`pulumi ${config.join(" ")}\` failed: run it by hand before the next pulumi up\n`,
                );
                return EXIT.checkFailed;
            }
            recorded = `pulumi ${config.join(" ")}`;
        } else {
            await writeFile(
                options.source.path,
                `${JSON.stringify(outputsAfter(raw as Record<string, unknown>, result.members), null, 2)}\n`,
                { mode: 0o600 },
            );
            recorded = `rewrote ${options.source.path}; record it in the stack with: pulumi ${config.join(" ")} --stack <name>`;
        }
        const next =
            result.mode === "failover"
                ? `npm run rejoin -- ${options.source.kind === "stack" ? `--stack ${options.source.stack}` : `--outputs ${options.source.path}`} --node ${result.oldPrimary}`
                : undefined;
        if (options.json) {
            deps.stdout(
                `${JSON.stringify({ ok: true, ...result, members: undefined, recorded, next }, null, 2)}\n`,
            );
        } else {
            const t = result.timings;
            deps.stdout(
                `${result.mode}: ${result.newPrimary} is the primary (was ${result.oldPrimary})\n` +
                    `  fenced ${t.fencedMs} ms, promoted ${t.promotedMs} ms, writes through PgBouncer ${t.writesAcceptedMs} ms` +
                    (t.oldPrimaryStreamingMs !== undefined
                        ? `, ${result.oldPrimary} streaming again ${t.oldPrimaryStreamingMs} ms`
                        : "") +
                    `\n  ${recorded}\n` +
                    (next ? `  ${result.oldPrimary} stays down until: ${next}\n` : ""),
            );
        }
        return EXIT.ok;
    });
}

/** `npm run rejoin`: see {@link REJOIN_USAGE}. Never throws. */
export function rejoinMain(argv: readonly string[], deps: CommandDeps = defaultDeps): Promise<number> {
    return runCommand("rejoin", argv, deps, async (secrets) => {
        const options = parseRejoinArgs(argv);
        if (!options) {
            deps.stdout(REJOIN_USAGE);
            return EXIT.ok;
        }
        const { outputs } = await loadOutputsWithRaw(options.source, deps.runPulumi);
        secrets.push(...outputSecrets(outputs));
        const members = membersOf(outputs);
        if (![members.primary, ...members.replicas].some((m) => m.name === options.node)) {
            throw new InputError(
                `--node: ${options.node} is not a node of this cluster (${[members.primary, ...members.replicas].map((m) => m.name).join(", ")})`,
            );
        }
        try {
            const result = await rejoin(outputs, members, deps.ops(), options);
            deps.stdout(
                options.json
                    ? `${JSON.stringify({ ok: true, ...result }, null, 2)}\n`
                    : `${result.node} streams from ${members.primary.name} after ${result.streamingMs} ms${result.recloned ? " (new clone)" : ""}\n`,
            );
            return EXIT.ok;
        } catch (err) {
            deps.stderr(`rejoin: FAILED: ${(err as Error).message}\n`);
            return EXIT.checkFailed;
        }
    });
}
