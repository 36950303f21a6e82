import { parseFailoverArgs, parseRejoinArgs } from "../../scripts/failover/args";
import {
    chooseCandidate,
    configCommand,
    membersOf,
    outputsAfter,
    promoted,
    ReplicaState,
    topologyFile,
} from "../../scripts/failover/topology";
import { parseClusterOutputs } from "../../scripts/verify/outputs";
import { validOutputs } from "./verify/fixtures";

const raw = { ...validOutputs(), synchronousMode: "any1", backup: { stanza: "main" } };
const outputs = parseClusterOutputs(raw);
const members = membersOf(outputs);
const state = (name: string, ok: boolean, received?: bigint): ReplicaState => ({
    member: members.replicas.find((m) => m.name === name)!,
    ok,
    receivedBytes: received,
    why: ok ? undefined : "does not answer",
});

describe("failover decisions", () => {
    test("members: containers by node name; outputs from before failover existed have the node primary as primary", () => {
        expect(members.primary).toMatchObject({
            name: "primary",
            identity: "primary",
            slotName: "pgha_primary",
            container: "pgha-dev-primary",
        });
        expect(members.replicas.map((m) => m.container)).toEqual([
            "pgha-dev-replica-1",
            "pgha-dev-replica-2",
        ]);
        expect(members.pgbouncerContainer).toBe("pgha-dev-pgbouncer");
        expect(() => membersOf({ ...outputs, platform: "aws" })).toThrow(
            "failover and rejoin drive Docker containers, and on AWS they are not available yet",
        );
    });

    test("the candidate is the replica that received the most WAL, or the one --to names if it can be promoted", () => {
        expect(
            chooseCandidate([state("replica-1", true, 100n), state("replica-2", true, 250n)]).member.name,
        ).toBe("replica-2");
        expect(
            chooseCandidate([state("replica-1", true, 300n), state("replica-2", true, 250n)]).member.name,
        ).toBe("replica-1");
        expect(
            chooseCandidate([state("replica-1", true, 250n), state("replica-2", true, 250n)]).member.name,
        ).toBe("replica-1");
        expect(chooseCandidate([state("replica-1", false), state("replica-2", true, 1n)]).member.name).toBe(
            "replica-2",
        );
        expect(
            chooseCandidate([state("replica-1", true, 300n), state("replica-2", true, 1n)], "replica-2")
                .member.name,
        ).toBe("replica-2");
        expect(() =>
            chooseCandidate([state("replica-1", false), state("replica-2", true, 1n)], "replica-1"),
        ).toThrow("--to: replica-1 cannot be promoted: does not answer");
        expect(() => chooseCandidate([state("replica-1", true, 1n)], "replica-7")).toThrow(
            "--to: replica-7 is not a replica of this cluster (replicas: replica-1)",
        );
        expect(() => chooseCandidate([state("replica-1", false), state("replica-2", false)])).toThrow(
            "no replica can be promoted: replica-1: does not answer; replica-2: does not answer",
        );
    });

    test("after promoting replica-2 the old primary is a replica with its own slot; the outputs say what the next deploy will", () => {
        const next = promoted(members, members.replicas[1]);
        expect(next.primary.name).toBe("replica-2");
        expect(next.replicas.map((m) => [m.name, m.slotName])).toEqual([
            ["primary", "pgha_primary"],
            ["replica-1", "pgha_replica_1"],
        ]);
        expect(topologyFile(next.primary, next.replicas)).toBe(
            "PGHA_PRIMARY_HOST=pgha-dev-replica-2\nPGHA_READ_HOSTS=pgha-dev-primary pgha-dev-replica-1\n",
        );
        const after = outputsAfter(raw, next);
        expect(after).toMatchObject({
            primaryNode: "replica-2",
            primaryEndpoint: { host: "127.0.0.1", port: 5434 },
            replicaEndpoints: [
                {
                    name: "primary",
                    host: "127.0.0.1",
                    port: 5432,
                    slotName: "pgha_primary",
                    applicationName: "primary",
                },
                {
                    name: "replica-1",
                    host: "127.0.0.1",
                    port: 5433,
                    slotName: "pgha_replica_1",
                    applicationName: "replica_1",
                },
            ],
            backup: { stanza: "main" },
        });
        // The rewritten outputs are valid outputs, and fail back the same way.
        const reparsed = parseClusterOutputs(after);
        expect(promoted(membersOf(reparsed), membersOf(reparsed).replicas[0]).primary.name).toBe("primary");
        expect(configCommand("dev", "replica-2")).toEqual([
            "config",
            "set",
            "pgha:primaryNode",
            "replica-2",
            "--stack",
            "dev",
        ]);
    });
});

describe("failover and rejoin arguments", () => {
    test("valid invocations", () => {
        expect(parseFailoverArgs(["--outputs", "o.json"])).toEqual({
            source: { kind: "file", path: "o.json" },
            json: false,
            timeoutMs: 60_000,
        });
        expect(
            parseFailoverArgs(["--stack", "dev", "--to", "replica-2", "--json", "--timeout", "2min"]),
        ).toEqual({
            source: { kind: "stack", stack: "dev" },
            to: "replica-2",
            json: true,
            timeoutMs: 120_000,
        });
        expect(parseRejoinArgs(["--outputs", "o.json", "--node", "primary", "--reclone"])).toEqual({
            source: { kind: "file", path: "o.json" },
            node: "primary",
            reclone: true,
            json: false,
            timeoutMs: 300_000,
        });
        expect(parseFailoverArgs(["--help"])).toBeUndefined();
    });

    test.each<[string, () => unknown, string]>([
        [
            "no source",
            () => parseFailoverArgs([]),
            "one of --stack <name> or --outputs <file.json> is required",
        ],
        [
            "both sources",
            () => parseFailoverArgs(["--stack", "dev", "--outputs", "o.json"]),
            "--stack and --outputs cannot be used together",
        ],
        [
            "--to not a node name",
            () => parseFailoverArgs(["--stack", "dev", "--to", "db2"]),
            '--to must be a node name such as primary or replica-1; got "db2"',
        ],
        [
            "bad timeout",
            () => parseFailoverArgs(["--stack", "dev", "--timeout", "soon"]),
            "--timeout must be a duration",
        ],
        ["unknown flag", () => parseFailoverArgs(["--stack", "dev", "--force"]), "--force"],
        ["rejoin without --node", () => parseRejoinArgs(["--stack", "dev"]), "--node <name> is required"],
        [
            "rejoin --node not a node name",
            () => parseRejoinArgs(["--stack", "dev", "--node", "all"]),
            '--node must be a node name such as primary or replica-1; got "all"',
        ],
    ])("%s is refused, naming the flag", (_name, parse, message) => {
        expect(parse).toThrow(message);
    });
});
