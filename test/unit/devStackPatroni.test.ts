import { isSecret, mockPassword, RecordedResource, runProgram } from "./support/programMocks";
import { ConfigError, parseClusterConfig } from "../../components/config";
import { etcdMemberCount, patroniDynamicConfig, renderPostgresqlConf } from "../../components/postgres";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

const unwrap = (value: unknown): any => (isSecret(value) ? unwrap(value.value) : value);
const containers = (resources: RecordedResource[]) => resources.filter((r) => r.type === CONTAINER);
const named = (resources: RecordedResource[], name: string) => {
    const found = resources.find((r) => r.custom && r.name === name);
    if (!found) throw new Error(`no resource ${name}`);
    return found;
};
const uploaded = (container: RecordedResource, file: string): string => {
    const upload = unwrap(container.inputs.uploads).find((u: any) => u.file === file);
    if (!upload) throw new Error(`${container.name} has no upload ${file}`);
    return upload.content;
};
const nodeEnv = (container: RecordedResource): Record<string, string> =>
    Object.fromEntries(
        uploaded(container, "/etc/pgha/node.env")
            .trim()
            .split("\n")
            .map((line) => {
                const [k, v] = line.split("=");
                return [k, v.replace(/^"|"$/g, "")];
            }),
    );
const AUTOMATIC = { failover: "automatic", baseImage: "pgha-base:trixie", postgresVersion: 17 };

describe("dev stack with automatic failover (Patroni and etcd)", () => {
    test.each([
        [0, 1],
        [1, 3],
        [2, 3],
        [3, 3],
        [4, 5],
        [6, 5],
    ])(
        "%i replicas: PostgreSQL nodes under Patroni, %i etcd members, no slot job",
        async (replicas, etcd) => {
            const { resources } = await runProgram("dev", { ...AUTOMATIC, replicas, backupEnabled: false });
            const names = containers(resources)
                .map((r) => r.name)
                .sort();
            const nodes = [
                "pgha-dev-primary",
                ...Array.from({ length: replicas }, (_, i) => `pgha-dev-replica-${i + 1}`),
            ];
            const members = Array.from({ length: etcd }, (_, i) => `pgha-dev-etcd-${i + 1}`);
            expect(names).toEqual([...nodes, ...members, "pgha-dev-pgbouncer"].sort());
            for (const n of nodes) {
                const c = named(resources, n);
                expect(c.inputs.entrypoints).toEqual(["/etc/pgha/bin/pgha-patroni"]);
                expect(c.inputs.command).toEqual(["patroni"]);
                expect(c.inputs.stopSignal).toBe("SIGTERM");
                // A failed lookup of an etcd member takes 1 s, not glibc's 10: an isolated leader
                // demotes itself before its key expires.
                expect(c.inputs.dnsOpts).toEqual(["timeout:1", "attempts:1"]);
                expect(c.inputs.healthcheck.tests).toEqual(["CMD", "/etc/pgha/bin/pgha-patroni", "health"]);
                const patroni = JSON.parse(uploaded(c, "/etc/pgha/patroni.yml"));
                expect(patroni.etcd3.hosts).toEqual(members.map((m) => `${m}:2379`));
                expect(patroni.restapi.connect_address).toBe(`${n}:8008`);
            }
            for (const m of members) {
                const c = named(resources, m);
                expect(c.inputs.command).toEqual(["etcd"]);
                expect(c.inputs.dnsOpts).toBeUndefined();
                // The DCS and the REST API are never published on the host.
                expect(c.inputs.ports).toEqual([]);
                expect(nodeEnv(c).PGHA_ETCD_HOSTS).toBe(members.join(" "));
            }
            expect(
                resources
                    .filter((r) => r.type === VOLUME)
                    .map((r) => r.inputs.name)
                    .filter((v: string) => v.includes("etcd"))
                    .sort(),
            ).toEqual(members.map((m) => `${m}-data`).sort());
        },
    );

    test("the first etcd member alone gets etcd's root and Patroni's etcd passwords, as secrets; nodes get no superuser password", async () => {
        const { resources } = await runProgram("dev", { ...AUTOMATIC, backupEnabled: false });
        const secretNames = (c: RecordedResource) => {
            const envs = c.inputs.envs;
            expect(isSecret(envs) || (envs as unknown[]).every((e) => isSecret(e))).toBe(true);
            return (unwrap(envs) as unknown[]).map((e) => String(unwrap(e)).split("=")[0]);
        };
        expect(secretNames(named(resources, "pgha-dev-etcd-1")).sort()).toEqual([
            "PGHA_SECRET_ETCD_PATRONI",
            "PGHA_SECRET_ETCD_ROOT",
        ]);
        expect(secretNames(named(resources, "pgha-dev-etcd-2"))).toEqual([]);
        const node = secretNames(named(resources, "pgha-dev-replica-1"));
        expect(node).toContain("PGHA_SECRET_REPLICATOR");
        expect(node).toContain("PGHA_SECRET_PATRONI_API");
        expect(node).not.toContain("PGHA_SECRET_SUPERUSER");
        expect(node).not.toContain("PGHA_SECRET_ETCD_ROOT");
        // No file shipped to a container holds a password.
        const passwords = resources
            .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
            .map((r) => mockPassword(r.name, r.inputs.length));
        expect(passwords.length).toBeGreaterThanOrEqual(8);
        for (const c of containers(resources)) {
            for (const u of unwrap(c.inputs.uploads)) {
                for (const p of passwords) expect(String(unwrap(u.content))).not.toContain(p);
            }
        }
    });

    test("the node image installs Patroni and etcd where the base image lacks them", async () => {
        const { resources } = await runProgram("dev", { ...AUTOMATIC, backupEnabled: false });
        expect(named(resources, "pgha-dev-image").inputs.build.buildArgs).toEqual({
            BASE_IMAGE: "pgha-base:trixie",
            WITH_PATRONI: "1",
        });
    });

    test("PgBouncer follows Patroni: it runs pgha-patroni and knows every member's REST API host", async () => {
        const { resources } = await runProgram("dev", {
            ...AUTOMATIC,
            replicas: 2,
            readMaxLagMb: 4,
            backupEnabled: false,
        });
        const c = named(resources, "pgha-dev-pgbouncer");
        expect(c.inputs.entrypoints).toEqual(["/etc/pgha/bin/pgha-patroni"]);
        const env = nodeEnv(c);
        expect(env.PGHA_MEMBER_HOSTS).toBe("pgha-dev-primary pgha-dev-replica-1 pgha-dev-replica-2");
        expect(env.PGHA_READ_MAX_LAG_BYTES).toBe(String(4 * 1024 * 1024));
    });

    test("outputs name Patroni's slots (after the member) and the nodes' application names", async () => {
        const run = await runProgram("dev", { ...AUTOMATIC, replicas: 1, backupEnabled: false });
        expect(run.outputs.replicaEndpoints.value).toEqual([
            {
                name: "replica-1",
                host: "127.0.0.1",
                port: 5433,
                slotName: "replica_1",
                applicationName: "replica_1",
            },
        ]);
    });
});

describe("Patroni settings", () => {
    const settings = {
        maxConnections: 300,
        synchronousMode: "any1" as const,
        walKeepSizeMb: 512,
        maxSlotWalKeepSizeMb: 8192,
    };

    test.each([
        [{ mode: "any1", strict: true }, "quorum", true],
        [{ mode: "any1", strict: false }, "quorum", false],
        [{ mode: "off", strict: true }, false, false],
    ] as const)("synchronous %j → synchronous_mode %j, strict %j", (sync, mode, strict) => {
        const dcs = patroniDynamicConfig(settings, sync) as any;
        expect(dcs.synchronous_mode).toBe(mode);
        expect(dcs.synchronous_mode_strict).toBe(strict);
        expect(dcs).toMatchObject({
            ttl: 20,
            loop_wait: 2,
            retry_timeout: 5,
            failsafe_mode: true,
            primary_start_timeout: 0,
        });
        expect(dcs.postgresql.parameters).toMatchObject({ max_connections: 300, wal_keep_size: "512MB" });
        // Patroni's rule (ttl >= loop_wait + 2 * retry_timeout), with a margin: an isolated leader
        // demotes itself well before its key expires.
        expect(dcs.ttl - (dcs.loop_wait + 2 * dcs.retry_timeout)).toBeGreaterThanOrEqual(5);
    });

    test.each([
        [1, 1],
        [2, 3],
        [4, 3],
        [5, 5],
        [16, 5],
    ])("%i PostgreSQL nodes → %i etcd members", (nodes, members) => {
        expect(etcdMemberCount(nodes)).toBe(members);
    });

    test("postgresql.conf under Patroni leaves out what Patroni sets and names the node in pgha.node", () => {
        const conf = renderPostgresqlConf(settings, { identity: "replica_1" }, { underPatroni: true });
        for (const managed of [
            "synchronous_standby_names",
            "max_connections",
            "port",
            "include_if_exists",
            "cluster_name",
        ]) {
            expect(conf).not.toMatch(new RegExp(`^${managed} `, "m"));
        }
        expect(conf).toMatch(/^pgha\.node = 'replica_1'$/m);
        expect(conf).toMatch(/^password_encryption = 'scram-sha-256'$/m);
    });
});

describe("config of automatic failover", () => {
    const parse = (c: Record<string, string>) =>
        parseClusterConfig(
            Object.fromEntries(
                Object.entries({ platform: "docker", ...c }).map(([k, v]) => [`pgha:${k}`, v]),
            ),
        );
    const problems = (c: Record<string, string>) => {
        try {
            parse(c);
            return [];
        } catch (e) {
            return (e as ConfigError).problems;
        }
    };

    test("defaults: manual failover, strict synchronous writes, a 16 MB read lag bound", () => {
        expect(parse({})).toMatchObject({ failover: "manual", synchronousStrict: true, readMaxLagMb: 16 });
    });

    test.each([
        [{ failover: "auto" }, 'pgha:failover must be one of "manual", "automatic"'],
        [
            { failover: "automatic", primaryNode: "replica-1", replicas: "2" },
            'pgha:primaryNode must stay "primary" with pgha:failover "automatic"',
        ],
        [
            { synchronousStrict: "false" },
            'pgha:synchronousStrict false would be ignored: it applies to pgha:synchronousMode "any1" only',
        ],
        [
            { synchronousStrict: "false", synchronousMode: "any1" },
            'pgha:synchronousStrict false needs pgha:failover "automatic"',
        ],
        [{ readMaxLagMb: "0" }, "pgha:readMaxLagMb must be an integer from 1 to 1048576"],
    ])("%j is refused: %s", (config, message) => {
        expect(problems(config).join("\n")).toContain(message);
    });

    test("platform aws refuses automatic failover until the EC2 stack runs Patroni", () => {
        expect(problems({ platform: "aws", failover: "automatic" }).join("\n")).toContain(
            'pgha:failover "automatic" is for platform docker for now',
        );
    });

    test("automatic failover with a non-strict synchronous mode is accepted", () => {
        expect(
            parse({ failover: "automatic", synchronousMode: "any1", synchronousStrict: "false" }),
        ).toMatchObject({
            failover: "automatic",
            synchronousStrict: false,
        });
    });
});
