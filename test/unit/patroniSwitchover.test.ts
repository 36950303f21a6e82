import type { ContainerControl, ExecResult } from "../../scripts/docker/containers";
import { patroniSwitchover, PatroniOps } from "../../scripts/failover/patroni";
import { InputError } from "../../scripts/verify/errors";

const CLUSTER = "pgha-dev";
const NODES = ["primary", "replica-1", "replica-2"];

/** A cluster as Patroni's GET /cluster lists it; `leader` is the node leading, timeline `tl`. */
const view = (leader: string, tl: number, notStreaming: string[] = []) =>
    JSON.stringify({
        members: NODES.map((n) => ({
            name: n.replace("-", "_"),
            host: `${CLUSTER}-${n}`,
            role: n === leader ? "leader" : "quorum_standby",
            state: n === leader ? "running" : notStreaming.includes(n) ? "starting" : "streaming",
            timeline: tl,
        })),
    });

/** Fake containers answering GET /cluster from `views` in turn (the last one repeats), recording every exec. */
function fakeOps(views: string[], switchoverExit = 0) {
    const execs: { container: string; cmd: readonly string[] }[] = [];
    let i = 0;
    let clock = 0;
    const containers = {
        exec: async (container: string, cmd: readonly string[]): Promise<ExecResult> => {
            execs.push({ container, cmd });
            if (cmd[0] === "curl") return { exitCode: 0, output: views[Math.min(i++, views.length - 1)] };
            return {
                exitCode: switchoverExit,
                output: switchoverExit ? "Error: candidate is not healthy" : "ok",
            };
        },
    } as unknown as ContainerControl;
    const ops: PatroniOps = {
        containers,
        log: () => undefined,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
    };
    return { ops, execs };
}

describe("patroniSwitchover", () => {
    test("asks patronictl on the leader's node for the candidate, then waits until every member streams on the new timeline", async () => {
        const { ops, execs } = fakeOps([
            view("primary", 1),
            view("primary", 1),
            view("replica-2", 2, ["primary"]),
            view("replica-2", 2),
        ]);
        const r = await patroniSwitchover(CLUSTER, NODES, ops, { to: "replica-2", timeoutMs: 60_000 });
        expect(r).toEqual({
            mode: "switchover",
            oldPrimary: "primary",
            newPrimary: "replica-2",
            healthyMs: 2000,
        });
        const ctl = execs.find((e) => e.cmd[0] === "bash")!;
        expect(ctl.container).toBe("pgha-dev-primary");
        expect(ctl.cmd[2]).toMatch(
            /patronictl -c \/etc\/pgha\/patroni\.yml switchover --leader primary --candidate replica_2 --force$/,
        );
        // Credentials are read on the node, never passed from this machine.
        expect(ctl.cmd[2]).toContain(
            'PATRONI_RESTAPI_PASSWORD="$(cat /etc/pgha/secrets/patroni_api.password)"',
        );
    });

    test("with PgBouncer's entry: a RESUME watchdog, PAUSE, the switchover, RESUME once PgBouncer sends the entry to the new leader", async () => {
        const script = (c: readonly string[]) => (c[0] === "bash" ? c[2] : "");
        const { ops, execs } = fakeOps([view("primary", 1), view("replica-1", 2)]);
        let routed = 0;
        const exec = ops.containers.exec.bind(ops.containers);
        ops.containers.exec = async (container, cmd) => {
            if (container !== "pgha-dev-pgbouncer") return exec(container, cmd);
            execs.push({ container, cmd });
            // PgBouncer's routing loop follows the new leader at the third look.
            if (!/SHOW DATABASES/.test(script(cmd))) return { exitCode: 0, output: "" };
            const host = ++routed >= 3 ? "pgha-dev-replica-1" : "pgha-dev-primary";
            return { exitCode: 0, output: `app|${host}|5432|app\napp_ro|pgha-dev-replica-2|5432|app\n` };
        };
        const r = await patroniSwitchover(CLUSTER, NODES, ops, {
            to: "replica-1",
            timeoutMs: 60_000,
            pool: { container: "pgha-dev-pgbouncer", database: "app" },
        });
        expect(r).toMatchObject({ newPrimary: "replica-1", pausedMs: 500 });
        const steps = execs
            .filter((e) => e.cmd[0] === "bash")
            .map(
                (e) =>
                    `${e.container} ${script(e.cmd).match(/RESUME app"' >|PAUSE app|switchover|SHOW DATABASES|RESUME app"; s/)![0]}`,
            );
        expect(steps).toEqual([
            `pgha-dev-pgbouncer RESUME app"' >`, // the watchdog, started before anything is paused
            "pgha-dev-pgbouncer PAUSE app",
            "pgha-dev-primary switchover",
            "pgha-dev-pgbouncer SHOW DATABASES",
            "pgha-dev-pgbouncer SHOW DATABASES",
            "pgha-dev-pgbouncer SHOW DATABASES",
            'pgha-dev-pgbouncer RESUME app"; s',
        ]);
        expect(script(execs.find((e) => /PAUSE/.test(script(e.cmd)))!.cmd)).toMatch(
            /^PGPASSFILE=\S+ timeout 10 psql .*-U pgbouncer_auth -d pgbouncer/,
        );
    });

    test("a PAUSE that does not complete (a long transaction) is resumed and the switchover goes on unpaused", async () => {
        const { ops, execs } = fakeOps([view("primary", 1), view("replica-1", 2)]);
        const exec = ops.containers.exec.bind(ops.containers);
        ops.containers.exec = async (container, cmd) => {
            if (container !== "pgha-dev-pgbouncer") return exec(container, cmd);
            execs.push({ container, cmd });
            return { exitCode: /PAUSE/.test(cmd[2]) ? 124 : 0, output: "" };
        };
        const r = await patroniSwitchover(CLUSTER, NODES, ops, {
            to: "replica-1",
            timeoutMs: 60_000,
            pool: { container: "pgha-dev-pgbouncer", database: "app" },
        });
        expect(r.pausedMs).toBeUndefined();
        const order = execs.filter((e) => e.cmd[0] === "bash").map((e) => e.container);
        expect(order).toEqual([
            "pgha-dev-pgbouncer",
            "pgha-dev-pgbouncer",
            "pgha-dev-pgbouncer",
            "pgha-dev-primary",
        ]);
        expect(execs.filter((e) => e.cmd[0] === "bash")[2].cmd[2]).toContain('-c "RESUME app"');
    });

    test("a refused switchover still resumes PgBouncer", async () => {
        const { ops, execs } = fakeOps([view("primary", 1)], 1);
        const exec = ops.containers.exec.bind(ops.containers);
        ops.containers.exec = async (container, cmd) => {
            if (container !== "pgha-dev-pgbouncer") return exec(container, cmd);
            execs.push({ container, cmd });
            return { exitCode: 0, output: "" };
        };
        await expect(
            patroniSwitchover(CLUSTER, NODES, ops, {
                to: "replica-1",
                timeoutMs: 60_000,
                pool: { container: "pgha-dev-pgbouncer", database: "app" },
            }),
        ).rejects.toThrow("patronictl switchover failed");
        expect(execs[execs.length - 1]).toMatchObject({ container: "pgha-dev-pgbouncer" });
        expect(execs[execs.length - 1].cmd[2]).toContain('-c "RESUME app"; s=$?');
    });

    test("without --to, Patroni chooses the candidate", async () => {
        const { ops, execs } = fakeOps([view("replica-1", 3), view("primary", 4)]);
        const r = await patroniSwitchover(CLUSTER, NODES, ops, { timeoutMs: 60_000 });
        expect(r.newPrimary).toBe("primary");
        expect(execs.find((e) => e.cmd[0] === "bash")!.cmd[2]).not.toContain("--candidate");
    });

    test.each([
        ["replica-9", "--to: replica-9 is not a member of this cluster (primary, replica-1, replica-2)"],
        ["primary", "--to: primary is already the leader"],
    ])("--to %s is refused as bad input before anything is asked of Patroni", async (to, message) => {
        const { ops, execs } = fakeOps([view("primary", 1)]);
        const run = patroniSwitchover(CLUSTER, NODES, ops, { to, timeoutMs: 60_000 });
        await expect(run).rejects.toThrow(InputError);
        await expect(run).rejects.toThrow(message);
        expect(execs.filter((e) => e.cmd[0] === "bash")).toHaveLength(0);
    });

    test("a refused switchover fails with patronictl's words; a cluster that does not settle fails at the timeout", async () => {
        await expect(
            patroniSwitchover(CLUSTER, NODES, fakeOps([view("primary", 1)], 1).ops, {
                to: "replica-1",
                timeoutMs: 60_000,
            }),
        ).rejects.toThrow("patronictl switchover failed (exit 1): Error: candidate is not healthy");
        await expect(
            patroniSwitchover(
                CLUSTER,
                NODES,
                fakeOps([view("primary", 1), view("replica-1", 2, ["replica-2"])]).ops,
                {
                    to: "replica-1",
                    timeoutMs: 10_000,
                },
            ),
        ).rejects.toThrow(
            /not healthy within 10000 ms after the switchover: .*replica_2 quorum_standby starting/,
        );
    });

    test("no running leader: it says Patroni is failing over by itself", async () => {
        const noLeader = JSON.stringify({
            members: [{ name: "primary", host: "pgha-dev-primary", role: "replica", state: "streaming" }],
        });
        await expect(
            patroniSwitchover(CLUSTER, NODES, fakeOps([noLeader]).ops, { timeoutMs: 1000 }),
        ).rejects.toThrow("no member leads right now");
    });
});
