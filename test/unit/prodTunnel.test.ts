/** scripts/prod-tunnel.ts: the outputs rewrite and the AWS CLI calls it makes (no AWS is called). */
import { findInstanceArgs, parseTunnelArgs, planTunnels, sessionArgs } from "../../scripts/prod-tunnel";
import { parseClusterOutputs } from "../../scripts/verify/outputs";

const prodOutputs = (pgbouncerHost = "10.42.0.20") =>
    parseClusterOutputs({
        clusterName: "pgha-prod",
        platform: "aws",
        primaryEndpoint: { host: "10.42.3.17", port: 5432 },
        replicaEndpoints: [
            {
                name: "replica-1",
                host: "10.42.20.5",
                port: 5432,
                slotName: "pgha_replica_1",
                applicationName: "replica_1",
            },
            {
                name: "replica-2",
                host: "10.42.40.9",
                port: 5432,
                slotName: "pgha_replica_2",
                applicationName: "replica_2",
            },
        ],
        pgbouncerEndpoint: { host: pgbouncerHost, port: 6432 },
        databaseName: "app",
        readOnlyDatabaseName: "app_ro",
        synchronousMode: "any1",
        writeConnectionString: `postgresql://app:Pw0rdAlnum32chars@${pgbouncerHost}:6432/app`,
        readConnectionString: `postgresql://app:Pw0rdAlnum32chars@${pgbouncerHost}:6432/app_ro`,
        monitorUser: "pgha_monitor",
        monitorPassword: "M0nitorPw",
    });

describe("planTunnels", () => {
    test("one local port per endpoint, and the outputs rewritten to them, secrets and names kept", () => {
        const plan = planTunnels(prodOutputs(), 15432);
        expect(plan.forwards).toEqual([
            { name: "pgbouncer", remoteHost: "10.42.0.20", remotePort: 6432, localPort: 15432 },
            { name: "primary", remoteHost: "10.42.3.17", remotePort: 5432, localPort: 15433 },
            { name: "replica-1", remoteHost: "10.42.20.5", remotePort: 5432, localPort: 15434 },
            { name: "replica-2", remoteHost: "10.42.40.9", remotePort: 5432, localPort: 15435 },
        ]);
        expect(plan.outputs).toEqual({
            ...prodOutputs(),
            primaryEndpoint: { host: "127.0.0.1", port: 15433 },
            replicaEndpoints: [
                {
                    name: "replica-1",
                    host: "127.0.0.1",
                    port: 15434,
                    slotName: "pgha_replica_1",
                    applicationName: "replica_1",
                },
                {
                    name: "replica-2",
                    host: "127.0.0.1",
                    port: 15435,
                    slotName: "pgha_replica_2",
                    applicationName: "replica_2",
                },
            ],
            pgbouncerEndpoint: { host: "127.0.0.1", port: 15432 },
            writeConnectionString: "postgresql://app:Pw0rdAlnum32chars@127.0.0.1:15432/app",
            readConnectionString: "postgresql://app:Pw0rdAlnum32chars@127.0.0.1:15432/app_ro",
        });
        // The rewritten file is a valid outputs file for `npm run verify`.
        expect(parseClusterOutputs(JSON.parse(JSON.stringify(plan.outputs)))).toEqual(plan.outputs);
    });

    test("PgBouncer on the primary's instance: same address, its own port, its own forward", () => {
        const plan = planTunnels(prodOutputs("10.42.3.17"), 20000);
        expect(plan.forwards.map((f) => [f.name, `${f.remoteHost}:${f.remotePort}`, f.localPort])).toEqual([
            ["pgbouncer", "10.42.3.17:6432", 20000],
            ["primary", "10.42.3.17:5432", 20001],
            ["replica-1", "10.42.20.5:5432", 20002],
            ["replica-2", "10.42.40.9:5432", 20003],
        ]);
    });

    test("no replicas: two forwards", () => {
        const outputs = { ...prodOutputs(), replicaEndpoints: [], synchronousMode: "off" as const };
        expect(planTunnels(outputs, 15432).forwards.map((f) => f.name)).toEqual(["pgbouncer", "primary"]);
    });

    test("a base port without room is refused", () => {
        expect(() => planTunnels(prodOutputs(), 65534)).toThrow(
            "--base-port 65534 leaves no room for 4 local ports",
        );
    });
});

describe("the AWS CLI calls", () => {
    test("a port-forwarding session to a remote host through the target instance", () => {
        expect(
            sessionArgs(
                "i-0abc",
                { name: "primary", remoteHost: "10.42.3.17", remotePort: 5432, localPort: 15433 },
                "eu-west-1",
            ),
        ).toEqual([
            "ssm",
            "start-session",
            "--target",
            "i-0abc",
            "--document-name",
            "AWS-StartPortForwardingSessionToRemoteHost",
            "--parameters",
            '{"host":["10.42.3.17"],"portNumber":["5432"],"localPortNumber":["15433"]}',
            "--region",
            "eu-west-1",
        ]);
    });

    test("the jump instance is found by the cluster's tags", () => {
        expect(findInstanceArgs("pgha-prod", "pgbouncer")).toEqual([
            "ec2",
            "describe-instances",
            "--filters",
            "Name=tag:pgha:cluster,Values=pgha-prod",
            "Name=tag:pgha:role,Values=pgbouncer",
            "Name=instance-state-name,Values=running",
            "--query",
            "Reservations[].Instances[].InstanceId",
            "--output",
            "text",
        ]);
    });

    test.each([
        [
            ["--outputs", "o.json"],
            { source: { kind: "file", path: "o.json" }, basePort: 15432, verify: false },
        ],
        [
            ["--stack", "prod", "--verify"],
            { source: { kind: "stack", stack: "prod" }, basePort: 15432, verify: true },
        ],
        [
            [
                "--outputs",
                "o.json",
                "--verify",
                "--target",
                "i-0abc1",
                "--region",
                "eu-west-1",
                "--base-port",
                "25432",
                "--write",
                "t.json",
            ],
            {
                source: { kind: "file", path: "o.json" },
                basePort: 25432,
                verify: true,
                target: "i-0abc1",
                region: "eu-west-1",
                write: "t.json",
            },
        ],
    ])("parseTunnelArgs(%j)", (argv, options) => {
        expect(parseTunnelArgs(argv)).toEqual({
            target: undefined,
            region: undefined,
            write: undefined,
            ...options,
        });
    });

    test.each([
        [[], "give exactly one of --stack and --outputs"],
        [["--stack", "prod", "--outputs", "o.json"], "give exactly one of --stack and --outputs"],
        [["--outputs", "o.json", "--base-port", "80"], "--base-port must be an integer from 1024 to 65535"],
        [["--outputs", "o.json", "--target", "web-1"], "--target must be an instance id"],
        [["--outputs", "o.json", "--port", "1"], "Unknown option"],
    ])("parseTunnelArgs(%j) is refused", (argv, message) => {
        expect(() => parseTunnelArgs(argv)).toThrow(message);
    });
});
