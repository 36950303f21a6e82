/**
 * `npm run failover --stack`: the steps against fake containers and a fake cluster, and what
 * reaches the Pulumi CLI seam (the outputs read, then `pulumi config set pgha:primaryNode`).
 */
import type { ContainerControl, ContainerFile } from "../../scripts/docker/containers";
import { failoverMain, type CommandDeps } from "../../scripts/failover/main";
import type { Connect, Db } from "../../scripts/verify/db";
import type { CommandResult } from "../../scripts/verify/outputs";
import { APP_PASSWORD, PASSWORD, validOutputs } from "./verify/fixtures";

const OUTPUTS = { ...validOutputs(), synchronousMode: "any1" };

/** A cluster whose primary (port 5432) is dead; replica-2 received more WAL than replica-1. */
function fakeCluster() {
    const calls: string[] = [];
    const files = new Map<string, ContainerFile[]>();
    let promoted = false;
    const containers: ContainerControl = {
        isRunning: async (c) => c !== "pgha-dev-primary",
        exec: async (c, cmd) => {
            calls.push(`exec ${c} ${cmd.join(" ").slice(0, 60)}`);
            if (cmd.includes("promote")) promoted = true;
            return { exitCode: 0, output: "" };
        },
        putFiles: async (c, f) => void files.set(c, [...(files.get(c) ?? []), ...f]),
        stop: async (c) => void calls.push(`stop ${c}`),
        kill: async (c) => void calls.push(`kill ${c}`),
        start: async (c) => void calls.push(`start ${c}`),
    };
    const connect: Connect = async (t) => {
        if (t.port === 5432) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        const received = t.port === 5434 ? "2000" : "1000";
        const db: Db = {
            query: async (sql: string) => {
                if (sql.includes("pg_last_wal_receive_lsn(), '0/0')"))
                    return [{ r: true, received, replayed: received }] as any;
                throw new Error(`unexpected query ${sql}`);
            },
            tx: async (fn) => {
                if (!promoted) throw new Error("no primary");
                return fn(async () => []);
            },
            end: async () => undefined,
        };
        return db;
    };
    return { calls, files, containers, connect };
}

test("failover --stack: promotes the most advanced replica, fences the old primary first, records pgha:primaryNode through the Pulumi CLI", async () => {
    const cluster = fakeCluster();
    const pulumiCalls: string[][] = [];
    const out: string[] = [];
    const err: string[] = [];
    const deps: CommandDeps = {
        stdout: (t) => void out.push(t),
        stderr: (t) => void err.push(t),
        runPulumi: async (args): Promise<CommandResult> => {
            pulumiCalls.push([...args]);
            return args[0] === "stack"
                ? { exitCode: 0, stdout: JSON.stringify(OUTPUTS), stderr: "" }
                : { exitCode: 0, stdout: "", stderr: "" };
        },
        ops: () => ({
            containers: cluster.containers,
            connect: cluster.connect,
            log: (l) => void err.push(l),
            now: () => Date.now(),
            sleep: async () => undefined,
        }),
    };
    const code = await failoverMain(["--stack", "dev", "--json"], deps);
    expect([code, err.filter((l) => l.includes("FAILED"))]).toEqual([0, []]);
    expect(JSON.parse(out.join(""))).toMatchObject({
        ok: true,
        mode: "failover",
        oldPrimary: "primary",
        newPrimary: "replica-2",
        recorded: "pulumi config set pgha:primaryNode replica-2 --stack dev",
    });
    expect(pulumiCalls).toEqual([
        ["stack", "output", "--json", "--show-secrets", "--stack", "dev"],
        ["config", "set", "pgha:primaryNode", "replica-2", "--stack", "dev"],
    ]);
    // The dead primary is killed and told the new topology before anything is promoted.
    expect(cluster.calls[0]).toBe("kill pgha-dev-primary");
    expect(cluster.calls.findIndex((c) => c.includes("promote"))).toBeGreaterThan(0);
    const topology =
        "PGHA_PRIMARY_HOST=pgha-dev-replica-2\nPGHA_READ_HOSTS=pgha-dev-primary pgha-dev-replica-1\n";
    for (const c of ["pgha-dev-primary", "pgha-dev-replica-1", "pgha-dev-replica-2", "pgha-dev-pgbouncer"]) {
        expect([c, cluster.files.get(c)]).toEqual([
            c,
            [{ path: "/var/lib/postgresql/data/pgha-topology.env", content: topology }],
        ]);
    }
    expect(cluster.calls).toContain("exec pgha-dev-replica-1 /etc/pgha/bin/pgha-node follow");
    expect(cluster.calls).not.toContain("start pgha-dev-primary");
    // Nothing secret in what it printed.
    expect(out.join("") + err.join("")).not.toContain(PASSWORD);
    expect(out.join("") + err.join("")).not.toContain(APP_PASSWORD);
});

test("failover --stack: when recording the topology fails, it says so and exits 1", async () => {
    const cluster = fakeCluster();
    const err: string[] = [];
    const code = await failoverMain(["--stack", "dev"], {
        stdout: () => undefined,
        stderr: (t) => void err.push(t),
        runPulumi: async (args) =>
            args[0] === "stack"
                ? { exitCode: 0, stdout: JSON.stringify(OUTPUTS), stderr: "" }
                : { exitCode: 255, stdout: "", stderr: "no stack" },
        ops: () => ({
            containers: cluster.containers,
            connect: cluster.connect,
            log: () => undefined,
            now: () => Date.now(),
            sleep: async () => undefined,
        }),
    });
    expect(code).toBe(1);
    expect(err.join("")).toContain(
        "but `pulumi config set pgha:primaryNode replica-2 --stack dev` failed: run it by hand before the next pulumi up",
    );
});
