/**
 * Bad-input sweep, command line (issue 8): each tool run for real (`tsx scripts/<tool>.ts`, as
 * `npm run <tool>` does) with a bad invocation must exit 2 (unusable input) with a message that
 * names the flag and what is allowed, before it touches any container: the faults stack's
 * containers are the same, with the same start times, after the sweep, and no restore container
 * appeared.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker } from "../e2e/support/docker";
import { FAULTS_CLUSTER, OUTPUTS_PATH, runTool, ToolRun } from "./support/faultStack";
import { mapLimit } from "./support/sweep";

/** One bad invocation: the script, its arguments, and what the message must say. */
interface BadCall {
    what: string;
    script: string;
    args: string[];
    expect: RegExp;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-faults-cli-"));
const NOT_JSON = path.join(scratch, "not-json.json");
const EMPTY = path.join(scratch, "empty.json");
const MISSING = path.join(scratch, "missing.json");
fs.writeFileSync(NOT_JSON, "not json\n");
fs.writeFileSync(EMPTY, "{}\n");

const CALLS: BadCall[] = [
    {
        what: "verify: unknown flag",
        script: "verify-replication.ts",
        args: ["--outputs", OUTPUTS_PATH, "--lag", "5s"],
        expect: /unknown flag --lag\b.*\n.*--help/,
    },
    {
        what: "verify: both --stack and --outputs",
        script: "verify-replication.ts",
        args: ["--stack", "dev", "--outputs", OUTPUTS_PATH],
        expect: /--stack and --outputs cannot be used together: give exactly one/,
    },
    {
        what: "verify: neither --stack nor --outputs",
        script: "verify-replication.ts",
        args: [],
        expect: /one of --stack <name> or --outputs <file.json> is required/,
    },
    {
        what: "verify: missing value",
        script: "verify-replication.ts",
        args: ["--outputs"],
        expect: /--outputs needs a value/,
    },
    {
        what: "verify: bad duration",
        script: "verify-replication.ts",
        args: ["--outputs", OUTPUTS_PATH, "--lag-warn", "soon"],
        expect: /--lag-warn must be a duration .* such as 10, 0\.5, 500ms, 10s.*got "soon"/,
    },
    {
        what: "verify: warn above fail",
        script: "verify-replication.ts",
        args: ["--outputs", OUTPUTS_PATH, "--lag-warn", "90s"],
        expect: /--lag-warn 1\.5 ?min must not be above --lag-fail 1 ?min \(default\)|--lag-warn .* must not be above --lag-fail/,
    },
    {
        what: "verify: bad size",
        script: "verify-replication.ts",
        args: ["--outputs", OUTPUTS_PATH, "--lag-fail-bytes", "lots"],
        expect: /--lag-fail-bytes must be a positive size .*kB, MB, GB or TB.*got "lots"/,
    },
    {
        what: "verify: missing file",
        script: "verify-replication.ts",
        args: ["--outputs", MISSING],
        expect: /--outputs: file .*missing\.json does not exist/,
    },
    {
        what: "verify: file not JSON",
        script: "verify-replication.ts",
        args: ["--outputs", NOT_JSON],
        expect: /--outputs: .*not-json\.json is not valid JSON/,
    },
    {
        what: "verify: JSON not a cluster's outputs",
        script: "verify-replication.ts",
        args: ["--outputs", EMPTY],
        expect: /clusterName is missing: it must be the cluster name such as pgha-dev/,
    },
    {
        what: "backup: unknown flag",
        script: "backup.ts",
        args: ["--outputs", OUTPUTS_PATH, "--kind", "full"],
        expect: /backup: unknown flag --kind\b.*\n.*--help/,
    },
    {
        what: "backup: both sources",
        script: "backup.ts",
        args: ["--stack", "dev", "--outputs", OUTPUTS_PATH],
        expect: /--stack and --outputs cannot be used together/,
    },
    {
        what: "backup: bad type",
        script: "backup.ts",
        args: ["--outputs", OUTPUTS_PATH, "--type", "weekly"],
        expect: /--type must be one of full, diff, incr, auto; got "weekly"/,
    },
    {
        what: "backup: stack without backups",
        script: "backup.ts",
        args: ["--outputs", OUTPUTS_PATH],
        expect: /no backupAccess: backups are off \(pgha:backupEnabled\)/,
    },
    {
        what: "restore: bad target time",
        script: "restore.ts",
        args: ["--outputs", OUTPUTS_PATH, "--target-time", "yesterday"],
        expect: /--target-time must be an ISO 8601 time such as 2026-11-23T10:15:00Z, got "yesterday"/,
    },
    {
        what: "restore: privileged port",
        script: "restore.ts",
        args: ["--outputs", OUTPUTS_PATH, "--port", "80"],
        expect: /--port must be an integer from 1024 to 65535, got "80"/,
    },
    {
        what: "restore: bad timeout",
        script: "restore.ts",
        args: ["--outputs", OUTPUTS_PATH, "--timeout", "5m"],
        expect: /--timeout must be a positive number of seconds, got "5m"/,
    },
    {
        what: "restore: missing value",
        script: "restore.ts",
        args: ["--outputs"],
        expect: /--outputs needs a value/,
    },
    {
        what: "restore: positional argument",
        script: "restore.ts",
        args: ["latest"],
        expect: /unexpected argument "latest": every value follows its flag/,
    },
    {
        what: "restore: missing file",
        script: "restore.ts",
        args: ["--outputs", MISSING],
        expect: /--outputs: file .*missing\.json does not exist/,
    },
    {
        what: "promote: unknown flag",
        script: "promote.ts",
        args: ["--force"],
        expect: /unknown flag --force; the flags are --yes, --dev <stack>, --prod <stack>, --help/,
    },
    {
        what: "promote: same stack twice",
        script: "promote.ts",
        args: ["--dev", "prod"],
        expect: /--dev and --prod must name different stacks, both are "prod"/,
    },
    {
        what: "promote: missing value",
        script: "promote.ts",
        args: ["--prod"],
        expect: /--prod needs a stack name/,
    },
    {
        what: "promote: bad stack name",
        script: "promote.ts",
        args: ["--prod", "my prod"],
        expect: /--prod must be a stack name such as prod or org\/pgha\/prod, got "my prod"/,
    },
    {
        what: "rejoin: no node",
        script: "rejoin.ts",
        args: ["--outputs", OUTPUTS_PATH],
        expect: /--node <name> is required/,
    },
    {
        what: "rejoin: node not in the cluster",
        script: "rejoin.ts",
        args: ["--outputs", OUTPUTS_PATH, "--node", "replica-9"],
        expect: /--node: replica-9 is not a node of this cluster \(primary, replica-1, replica-2\)/,
    },
    {
        what: "rejoin: malformed node",
        script: "rejoin.ts",
        args: ["--outputs", OUTPUTS_PATH, "--node", "replica 1"],
        expect: /--node must be a node name such as primary or replica-1; got "replica 1"/,
    },
    {
        what: "failover: unknown flag",
        script: "failover.ts",
        args: ["--outputs", OUTPUTS_PATH, "--force"],
        expect: /unknown flag --force\b/,
    },
    {
        what: "failover: both sources",
        script: "failover.ts",
        args: ["--stack", "dev", "--outputs", OUTPUTS_PATH],
        expect: /--stack and --outputs cannot be used together/,
    },
    {
        what: "health: bad sample count",
        script: "health.ts",
        args: ["--outputs", OUTPUTS_PATH, "--samples", "0"],
        expect: /--samples must be a whole number from 1 to 3600; got "0"/,
    },
    {
        what: "health: bad interval",
        script: "health.ts",
        args: ["--outputs", OUTPUTS_PATH, "--interval", "never"],
        expect: /--interval must be a duration .*got "never"/,
    },
];

/** The faults stack's containers and when each started: a bad call must change neither. */
async function clusterContainers(): Promise<Record<string, string>> {
    const containers = await docker.listContainers({ all: true });
    const named = containers
        .map((c) => ({ name: c.Names[0].replace(/^\//, ""), id: c.Id }))
        .filter((c) => c.name.startsWith(`${FAULTS_CLUSTER}-`));
    const started = await Promise.all(
        named.map(
            async (c) => [c.name, (await docker.getContainer(c.id).inspect()).State.StartedAt] as const,
        ),
    );
    return Object.fromEntries(started);
}

let runs: (ToolRun | Error)[] = [];
let containersBefore: Record<string, string> = {};

beforeAll(async () => {
    containersBefore = await clusterContainers();
    // A tool that does not exist yet is reported by its own case, not by the whole sweep.
    runs = await mapLimit(CALLS, 4, (c) => runTool(c.script, c.args, 120_000).catch((err: Error) => err));
}, 600_000);

afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
});

describe("bad command lines: exit 2 with a message naming the flag, before touching the cluster", () => {
    test.each(CALLS.map((c, i) => [c.what, i] as const))("%s", (_what, i) => {
        const run = runs[i];
        if (run instanceof Error) throw run;
        expect({ code: run.code, stderr: run.stderr }).toEqual({
            code: 2,
            stderr: expect.stringMatching(CALLS[i].expect),
        });
    });

    test("no container was created, removed or restarted by the sweep", async () => {
        expect(await clusterContainers()).toEqual(containersBefore);
    });
});
