import type { Connect, Target } from "../../../scripts/verify/db";
import { withCurrentLeader } from "../../../scripts/verify/leader";
import { parseClusterOutputs } from "../../../scripts/verify/outputs";
import { PASSWORD, validOutputs } from "./fixtures";

/** Outputs of an automatic cluster whose members' slots are their member names. */
function automaticOutputs() {
    const raw = validOutputs();
    raw.failover = "automatic";
    for (const r of raw.replicaEndpoints) r.slotName = r.applicationName;
    return parseClusterOutputs(raw);
}

/** A connector where each node (by port) is a primary, a standby, or unreachable. */
function fakeNodes(byPort: Record<number, "primary" | "standby" | "down">) {
    const asked: Target[] = [];
    let open = 0;
    const connect: Connect = async (t) => {
        asked.push(t);
        if (byPort[t.port] === "down") throw new Error("connect ECONNREFUSED");
        open++;
        return {
            query: async <R>(sql: string) => {
                expect(sql).toMatch(/pg_is_in_recovery\(\)/);
                return [{ in_recovery: byPort[t.port] === "standby" }] as R[];
            },
            tx: async () => {
                throw new Error("not used");
            },
            end: async () => void open--,
        };
    };
    return { connect, asked, open: () => open };
}

test("a manual cluster's outputs come back as they are, without a connection", async () => {
    const outputs = parseClusterOutputs(validOutputs());
    const nodes = fakeNodes({});
    const view = await withCurrentLeader(outputs, nodes.connect);
    expect(view.outputs).toBe(outputs);
    expect(nodes.asked).toEqual([]);
});

test("automatic, replica-1 leads: it becomes the primary, the bootstrap node a replica named by its member", async () => {
    const outputs = automaticOutputs();
    const nodes = fakeNodes({ 5432: "standby", 5433: "primary", 5434: "down" });
    const view = await withCurrentLeader(outputs, nodes.connect);
    expect(view.leader).toBe("replica-1");
    expect(view.outputs).toMatchObject({
        primaryNode: "replica-1",
        primaryEndpoint: { host: "127.0.0.1", port: 5433 },
        replicaEndpoints: [
            { name: "primary", port: 5432, slotName: "primary", applicationName: "primary" },
            { name: "replica-2", port: 5434, slotName: "replica_2", applicationName: "replica_2" },
        ],
    });
    // Every node was asked, as the monitoring role on the app database, directly (not PgBouncer).
    expect(nodes.asked.map((t) => t.port).sort()).toEqual([5432, 5433, 5434]);
    expect(
        nodes.asked.every((t) => t.user === "pgha_monitor" && t.password === PASSWORD && !t.viaPgBouncer),
    ).toBe(true);
    expect(nodes.open()).toBe(0);
});

test("automatic, the bootstrap node still leads: the outputs keep their shape", async () => {
    const outputs = automaticOutputs();
    const view = await withCurrentLeader(
        outputs,
        fakeNodes({ 5432: "primary", 5433: "standby", 5434: "standby" }).connect,
    );
    expect(view.leader).toBe("primary");
    expect(view.outputs.primaryNode).toBe("primary");
    expect(view.outputs.replicaEndpoints).toEqual(outputs.replicaEndpoints);
});

test.each([
    [
        "two nodes answer as primary (split brain)",
        { 5432: "primary", 5433: "primary", 5434: "standby" },
        ["primary", "replica-1"],
    ],
    ["no node answers as primary", { 5432: "down", 5433: "standby", 5434: "standby" }, []],
] as const)(
    "automatic, %s: the outputs come back unchanged for the checks to report",
    async (_, byPort, primaries) => {
        const outputs = automaticOutputs();
        const view = await withCurrentLeader(outputs, fakeNodes(byPort).connect);
        expect(view.leader).toBeUndefined();
        expect(view.primaries).toEqual(primaries);
        expect(view.outputs).toBe(outputs);
    },
);

test("the failover output is checked: an unknown value names the key and what is allowed", () => {
    const raw = validOutputs();
    raw.failover = "patroni";
    expect(() => parseClusterOutputs(raw)).toThrow(/failover.*"manual", "automatic"/);
});
