import { isSecret, RecordedResource, runProgram } from "./support/programMocks";
import { buildContextDigest } from "../../components/docker/nodeImage";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const PASSWORD = "random:index/randomPassword:RandomPassword";

const ofType = (resources: RecordedResource[], type: string) => resources.filter((r) => r.type === type);
const named = (resources: RecordedResource[], name: string) => {
    const found = resources.find((r) => r.custom && r.name === name);
    if (!found) throw new Error(`no resource ${name}`);
    return found;
};
/** Inputs as JSON with every secret replaced by a marker: what a reader of the plan sees in clear. */
const inClear = (value: unknown): unknown =>
    isSecret(value)
        ? "[secret]"
        : Array.isArray(value)
          ? value.map(inClear)
          : value && typeof value === "object"
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inClear(v)]))
            : value;
const unwrap = (value: unknown): any => (isSecret(value) ? unwrap(value.value) : value);
const uploaded = (container: RecordedResource, file: string): string => {
    const upload = unwrap(container.inputs.uploads).find((u: any) => u.file === file);
    if (!upload) throw new Error(`${container.name} has no upload ${file}`);
    return upload.content;
};

describe("dev stack on Docker", () => {
    test.each([0, 1, 2, 5])("declares the resource graph for %i replicas", async (replicas) => {
        const { resources } = await runProgram("dev", { replicas });
        const containers = ofType(resources, CONTAINER)
            .map((r) => r.name)
            .sort();
        const expectedReplicas = Array.from({ length: replicas }, (_, i) => `pgha-dev-replica-${i + 1}`);
        expect(containers).toEqual(
            [
                "pgha-dev-backup",
                "pgha-dev-pgbouncer",
                "pgha-dev-primary",
                ...expectedReplicas,
                "pgha-dev-slots",
            ].sort(),
        );
        expect(
            ofType(resources, VOLUME)
                .map((r) => r.inputs.name)
                .sort(),
        ).toEqual(
            [
                "pgha-dev-backups",
                "pgha-dev-primary-data",
                "pgha-dev-primary-run",
                ...expectedReplicas.map((n) => `${n}-data`),
            ].sort(),
        );
        expect(ofType(resources, "docker:index/network:Network")).toHaveLength(1);
        expect(ofType(resources, "docker:index/remoteImage:RemoteImage")).toHaveLength(1);
        expect(ofType(resources, "docker:index/image:Image")).toHaveLength(0);
        // Five credentials and the SCRAM salt seed; the repository on a volume needs no key.
        expect(ofType(resources, PASSWORD)).toHaveLength(6);

        // The slot job is told exactly the replicas' slots; PgBouncer routes reads over exactly the replicas.
        const slotsEnv = uploaded(named(resources, "pgha-dev-slots"), "/etc/pgha/node.env");
        expect(slotsEnv).toContain(
            `PGHA_EXPECTED_SLOTS="${expectedReplicas.map((_, i) => `pgha_replica_${i + 1}`).join(" ")}"`,
        );
        const pgbouncerEnv = uploaded(named(resources, "pgha-dev-pgbouncer"), "/etc/pgha/node.env");
        expect(pgbouncerEnv).toContain(`PGHA_READ_HOSTS="${expectedReplicas.join(" ")}"`);
        expect(pgbouncerEnv).toContain('PGHA_PRIMARY_HOST="pgha-dev-primary"');
    });

    test("pgha:primaryNode (recorded by a failover) makes that node the primary; names, ports and volumes stay", async () => {
        const { resources, outputs } = await runProgram("dev", { replicas: 2, primaryNode: "replica-1" });
        const env = (name: string) => uploaded(named(resources, name), "/etc/pgha/node.env");
        expect(named(resources, "pgha-dev-replica-1").inputs.command).toEqual(["primary"]);
        expect(named(resources, "pgha-dev-primary").inputs.command).toEqual(["replica"]);
        for (const name of [
            "pgha-dev-primary",
            "pgha-dev-replica-2",
            "pgha-dev-pgbouncer",
            "pgha-dev-slots",
        ]) {
            expect([name, env(name)]).toEqual([
                name,
                expect.stringContaining('PGHA_PRIMARY_HOST="pgha-dev-replica-1"'),
            ]);
        }
        expect(env("pgha-dev-primary")).toContain('PGHA_SLOT="pgha_primary"');
        expect(env("pgha-dev-slots")).toContain('PGHA_EXPECTED_SLOTS="pgha_primary pgha_replica_2"');
        expect(env("pgha-dev-pgbouncer")).toContain('PGHA_READ_HOSTS="pgha-dev-primary pgha-dev-replica-2"');
        // The backup scheduler works beside the primary: its data and socket volumes.
        expect(named(resources, "pgha-dev-backup").inputs.volumes).toEqual([
            { volumeName: "pgha-dev-replica-1-data", containerPath: "/var/lib/postgresql/data" },
            { volumeName: "pgha-dev-replica-1-run", containerPath: "/var/run/postgresql" },
            { volumeName: "pgha-dev-backups", containerPath: "/var/lib/pgbackrest" },
        ]);
        expect(named(resources, "pgha-dev-primary").inputs.ports[0].external).toBe(5432);
        expect(outputs.primaryNode.value).toBe("replica-1");
        expect(outputs.primaryEndpoint.value).toEqual({ host: "127.0.0.1", port: 5433 });
        expect(
            (outputs.replicaEndpoints.value as any[]).map((r) => [
                r.name,
                r.port,
                r.slotName,
                r.applicationName,
            ]),
        ).toEqual([
            ["primary", 5432, "pgha_primary", "primary"],
            ["replica-2", 5434, "pgha_replica_2", "replica_2"],
        ]);
    });

    test("each replica clones through its own slot and names itself", async () => {
        const { resources } = await runProgram("dev", { replicas: 2 });
        for (const n of [1, 2]) {
            const replica = named(resources, `pgha-dev-replica-${n}`);
            expect(replica.inputs.command).toEqual(["replica"]);
            const env = uploaded(replica, "/etc/pgha/node.env");
            expect(env).toContain(`PGHA_SLOT="pgha_replica_${n}"`);
            expect(env).toContain(`PGHA_NODE="replica_${n}"`);
            expect(env).toContain('PGHA_PRIMARY_HOST="pgha-dev-primary"');
            expect(env).toContain(`PGHA_HOST="pgha-dev-replica-${n}"`);
            const conf = uploaded(replica, "/etc/pgha/postgresql.conf");
            expect(conf).toContain(`cluster_name = 'replica_${n}'`);
            expect(conf).toContain("hot_standby_feedback = on");
            expect(replica.inputs.volumes).toEqual([
                { volumeName: `pgha-dev-replica-${n}-data`, containerPath: "/var/lib/postgresql/data" },
                { volumeName: "pgha-dev-backups", containerPath: "/var/lib/pgbackrest" },
            ]);
        }
        const primaryConf = uploaded(named(resources, "pgha-dev-primary"), "/etc/pgha/postgresql.conf");
        expect(primaryConf).not.toContain("primary_conninfo");
        expect(primaryConf).toContain("synchronous_standby_names = ''");
    });

    test("synchronous mode any1 makes the primary wait for any one replica", async () => {
        const { resources, outputs } = await runProgram("dev", { synchronousMode: "any1" });
        expect(uploaded(named(resources, "pgha-dev-primary"), "/etc/pgha/postgresql.conf")).toContain(
            "synchronous_standby_names = 'ANY 1 (*)'",
        );
        expect(outputs.synchronousMode.value).toBe("any1");
    });

    test("ports are published on 127.0.0.1 only, unless configured otherwise", async () => {
        const { resources } = await runProgram("dev", { replicas: 2 });
        const ports = ofType(resources, CONTAINER).flatMap((c) =>
            (c.inputs.ports ?? []).map((p: any) => [c.name, p.ip, p.internal, p.external]),
        );
        expect(ports.sort()).toEqual(
            [
                ["pgha-dev-pgbouncer", "127.0.0.1", 6432, 6432],
                ["pgha-dev-primary", "127.0.0.1", 5432, 5432],
                ["pgha-dev-replica-1", "127.0.0.1", 5432, 5433],
                ["pgha-dev-replica-2", "127.0.0.1", 5432, 5434],
            ].sort(),
        );
        const open = await runProgram("dev", { bindAddress: "0.0.0.0", pgbouncerPort: 7432 });
        expect(named(open.resources, "pgha-dev-pgbouncer").inputs.ports).toEqual([
            { internal: 6432, external: 7432, ip: "0.0.0.0", protocol: "tcp" },
        ]);
        expect(open.outputs.pgbouncerEndpoint.value).toEqual({ host: "127.0.0.1", port: 7432 });
    });

    test("every long-running container has a health check and is waited for; the slot job must exit 0", async () => {
        const { resources } = await runProgram("dev");
        for (const c of ofType(resources, CONTAINER)) {
            if (c.name === "pgha-dev-s3") {
                // The S3 server is reached on the cluster network only; the backup scheduler's health shows it works.
                expect(c.inputs.ports).toBeUndefined();
            } else if (c.name === "pgha-dev-slots") {
                expect(c.inputs).toMatchObject({ attach: true, mustRun: false, restart: "no" });
            } else {
                expect([c.name, c.inputs.healthcheck.tests]).toEqual([
                    c.name,
                    ["CMD", "/etc/pgha/bin/pgha-node", "health"],
                ]);
                expect(c.inputs).toMatchObject({
                    wait: true,
                    restart: "unless-stopped",
                    stopSignal: "SIGINT",
                    // Deleted (replaced, scaled down, destroyed) with PostgreSQL's fast shutdown, not a kill.
                    stopTimeout: 60,
                    destroyGraceSeconds: 60,
                });
                // Durations in the form the provider reads back, so no `up` or refresh sees a diff.
                const long = c.name === "pgha-dev-backup" || c.name.startsWith("pgha-dev-restore");
                expect([c.name, c.inputs.healthcheck]).toEqual([
                    c.name,
                    {
                        tests: ["CMD", "/etc/pgha/bin/pgha-node", "health"],
                        interval: "2s",
                        timeout: "5s",
                        retries: 5,
                        startPeriod: long ? "1h0m0s" : "5m0s",
                    },
                ]);
            }
        }
    });

    test("every password is a secret: in container inputs, and in the stack outputs", async () => {
        const { resources, outputs } = await runProgram("dev", { backupS3Image: "pgha-s3:local" });
        const passwords = ofType(resources, PASSWORD).map((p) =>
            `pw${p.name.replace(/[^a-z0-9]/gi, "")}`.padEnd(p.inputs.length, "x").slice(0, p.inputs.length),
        );
        expect(passwords).toHaveLength(8);
        // Nothing a reader of the plan sees in clear contains a password or a SCRAM verifier.
        const clear = JSON.stringify(resources.map((r) => inClear(r.inputs)));
        for (const pw of passwords) {
            expect(clear).not.toContain(pw);
        }
        expect(clear).not.toContain("SCRAM-SHA-256$");
        // The secrets do reach the containers, as secret environment values.
        const primaryEnv: string[] = unwrap(named(resources, "pgha-dev-primary").inputs.envs);
        expect(isSecret(named(resources, "pgha-dev-primary").inputs.envs)).toBe(true);
        expect(primaryEnv.map((e) => e.split("=")[0]).sort()).toEqual(
            [
                "PGHA_SECRET_APP_VERIFIER",
                "PGHA_SECRET_MONITOR_VERIFIER",
                "PGHA_SECRET_PGBOUNCER_AUTH_VERIFIER",
                "PGHA_SECRET_REPLICATOR_VERIFIER",
                "PGHA_SECRET_SUPERUSER_VERIFIER",
                "PGHA_SECRET_REPLICATOR",
                "PGHA_SECRET_S3_KEY",
                "PGHA_SECRET_S3_KEY_SECRET",
            ].sort(),
        );
        // Every PostgreSQL node stores SCRAM verifiers of the roles, never their passwords, but the
        // replicator's password, which it streams with as a replica (the S3 key is for archiving).
        for (const e of primaryEnv.filter((v) => v.includes("_VERIFIER="))) {
            expect(e.slice(e.indexOf("=") + 1)).toMatch(
                /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/,
            );
        }
        const replicaEnv: string[] = unwrap(named(resources, "pgha-dev-replica-1").inputs.envs);
        expect(replicaEnv.map((e) => e.split("=")[0])).toEqual(primaryEnv.map((e) => e.split("=")[0]));
        expect(replicaEnv.filter((e) => !e.includes("_VERIFIER=")).sort()).toEqual([
            expect.stringMatching(/^PGHA_SECRET_REPLICATOR=pw/),
            expect.stringMatching(/^PGHA_SECRET_S3_KEY=pw/),
            expect.stringMatching(/^PGHA_SECRET_S3_KEY_SECRET=pw/),
        ]);
        expect(unwrap(named(resources, "pgha-dev-pgbouncer").inputs.envs)).toEqual([
            expect.stringMatching(/^PGHA_SECRET_PGBOUNCER_AUTH=pw/),
            expect.stringMatching(/^PGHA_SECRET_MONITOR=pw/),
        ]);

        for (const key of [
            "writeConnectionString",
            "readConnectionString",
            "inNetworkWriteConnectionString",
            "inNetworkReadConnectionString",
            "monitorPassword",
            "backupAccess",
        ]) {
            expect([key, outputs[key].secret]).toEqual([key, true]);
        }
        for (const [key, output] of Object.entries(outputs)) {
            if (!output.secret) {
                for (const pw of passwords) {
                    expect([key, JSON.stringify(output.value)]).not.toEqual([
                        key,
                        expect.stringContaining(pw),
                    ]);
                }
            }
        }
    });

    test("outputs follow the contract later tools read", async () => {
        const { outputs } = await runProgram("dev", { replicas: 1 });
        const values = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
        expect(values).toEqual({
            platform: "docker",
            clusterName: "pgha-dev",
            primaryNode: "primary",
            primaryEndpoint: { host: "127.0.0.1", port: 5432 },
            replicaEndpoints: [
                {
                    name: "replica-1",
                    host: "127.0.0.1",
                    port: 5433,
                    slotName: "pgha_replica_1",
                    applicationName: "replica_1",
                },
            ],
            pgbouncerEndpoint: { host: "127.0.0.1", port: 6432 },
            databaseName: "app",
            readOnlyDatabaseName: "app_ro",
            synchronousMode: "off",
            synchronousStrict: true,
            failover: "manual",
            writeConnectionString: expect.stringMatching(
                /^postgresql:\/\/app:pw[a-z0-9]+@127\.0\.0\.1:6432\/app$/i,
            ),
            readConnectionString: expect.stringMatching(
                /^postgresql:\/\/app:pw[a-z0-9]+@127\.0\.0\.1:6432\/app_ro$/i,
            ),
            monitorUser: "pgha_monitor",
            monitorPassword: expect.stringMatching(/^pw/),
            backup: {
                stanza: "main",
                intervalHours: 6,
                fullIntervalDays: 7,
                retentionDays: 30,
                archiveTimeoutSeconds: 60,
                repository: { type: "posix", volume: "pgha-dev-backups", path: "/var/lib/pgbackrest" },
            },
            backupAccess: expect.objectContaining({
                schedulerContainer: "pgha-dev-backup",
                network: "pgha-dev-net",
                repositoryVolume: "pgha-dev-backups",
            }),
            dockerNetwork: "pgha-dev-net",
            inNetworkWriteConnectionString: expect.stringMatching(
                /^postgresql:\/\/app:pw[a-z0-9]+@pgha-dev-pgbouncer:6432\/app$/i,
            ),
            inNetworkReadConnectionString: expect.stringMatching(
                /^postgresql:\/\/app:pw[a-z0-9]+@pgha-dev-pgbouncer:6432\/app_ro$/i,
            ),
        });
        expect(values.backupAccess).not.toHaveProperty("accessKey");
        // The same password in both strings: the in-network one differs only in host and port.
        expect(
            String(values.inNetworkWriteConnectionString).replace(
                "pgha-dev-pgbouncer:6432",
                "127.0.0.1:6432",
            ),
        ).toBe(values.writeConnectionString);
        const s3 = await runProgram("dev", { replicas: 1, backupS3Image: "pgha-s3:local" });
        expect((s3.outputs.backup.value as { repository: unknown }).repository).toEqual({
            endpoint: "pgha-dev-s3",
            port: 9000,
            bucket: "pgha-backups",
            region: "us-east-1",
            path: "/pgha-dev",
        });
        expect(s3.outputs.backupAccess.value).toMatchObject({ accessKey: expect.stringMatching(/^pw/) });
    });

    test("running the program twice declares identical resource inputs (a second `pulumi up` changes nothing)", async () => {
        const first = await runProgram("dev");
        const second = await runProgram("dev");
        const canonical = (run: typeof first) =>
            run.resources.map((r) => JSON.stringify([r.type, r.name, r.inputs])).sort();
        expect(canonical(second)).toEqual(canonical(first));
    });

    test("scaling up adds a replica without changing the primary, the other replicas or their volumes", async () => {
        const two = await runProgram("dev", { replicas: 2 });
        const three = await runProgram("dev", { replicas: 3 });
        for (const name of [
            "pgha-dev-primary",
            "pgha-dev-replica-1",
            "pgha-dev-replica-2",
            "pgha-dev-primary-data",
            "pgha-dev-replica-1-data",
        ]) {
            expect([name, named(three.resources, name).inputs]).toEqual([
                name,
                named(two.resources, name).inputs,
            ]);
        }
        // Only the slot job (new slot) and PgBouncer (new read host) change beside the new replica.
        const changed = three.resources
            .filter((r) => r.custom)
            .filter((r) => {
                const before = two.resources.find((b) => b.custom && b.type === r.type && b.name === r.name);
                return !before || JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
            })
            .map((r) => r.name)
            .sort();
        expect(changed).toEqual([
            "pgha-dev-pgbouncer",
            "pgha-dev-replica-3",
            "pgha-dev-replica-3-data",
            "pgha-dev-slots",
        ]);
    });

    test("backups by default: every PostgreSQL node and the scheduler mount one repository volume; no S3 server, no key", async () => {
        const { resources } = await runProgram("dev", { replicas: 1 });
        const repositoryMount = { volumeName: "pgha-dev-backups", containerPath: "/var/lib/pgbackrest" };
        for (const name of ["pgha-dev-primary", "pgha-dev-replica-1"]) {
            const node = named(resources, name);
            expect([name, node.inputs.volumes]).toEqual([name, expect.arrayContaining([repositoryMount])]);
            const pgbackrest = uploaded(node, "/etc/pgbackrest/pgbackrest.conf");
            expect(pgbackrest).toContain("[global]\nrepo1-type=posix\nrepo1-path=/var/lib/pgbackrest\n");
            expect(pgbackrest).not.toContain("repo1-s3");
            expect(unwrap(node.inputs.envs).map((e: string) => e.split("=")[0])).not.toContain(
                "PGHA_SECRET_S3_KEY",
            );
        }
        const scheduler = named(resources, "pgha-dev-backup");
        expect(scheduler.inputs.volumes).toEqual([
            { volumeName: "pgha-dev-primary-data", containerPath: "/var/lib/postgresql/data" },
            { volumeName: "pgha-dev-primary-run", containerPath: "/var/run/postgresql" },
            repositoryMount,
        ]);
        expect(uploaded(scheduler, "/etc/pgha/node.env")).toContain('PGHA_S3_CREATE_BUCKET="0"');
        expect(unwrap(scheduler.inputs.envs)).toEqual([]);
        expect(named(resources, "pgha-dev-slots").inputs.volumes).not.toContainEqual(repositoryMount);
        expect(named(resources, "pgha-dev-pgbouncer").inputs.volumes).not.toContainEqual(repositoryMount);
    });

    test("backups to a local S3 server (pgha:backupS3Image): the primary archives over verified TLS; the scheduler sits beside it", async () => {
        const { resources } = await runProgram("dev", { backupS3Image: "pgha-s3:local" });
        const primary = named(resources, "pgha-dev-primary");
        const conf = uploaded(primary, "/etc/pgha/postgresql.conf");
        expect(conf).toContain("archive_mode = on");
        // WAL kept for an unreachable repository is bounded (pgha:archiveQueueMaxMb, 4096 MB by default).
        expect(conf).toContain(
            "archive_command = 'timeout 120 pgbackrest --stanza=main --archive-push-queue-max=4294967296 archive-push %p'",
        );
        expect(conf).toContain("archive_timeout = 60");
        expect(conf).toContain("\npgha.archive_queue_max_mb = 4096\n");
        const pgbackrest = uploaded(primary, "/etc/pgbackrest/pgbackrest.conf");
        expect(pgbackrest).toContain("repo1-s3-endpoint=pgha-dev-s3");
        expect(pgbackrest).toContain("repo1-storage-verify-tls=y");
        expect(pgbackrest).toContain("repo1-storage-ca-file=/etc/pgha/s3-ca.crt");
        expect(pgbackrest).toContain("repo1-retention-full=30");
        expect(pgbackrest).not.toMatch(/repo1-s3-key(-secret)?=/);
        const scheduler = named(resources, "pgha-dev-backup");
        expect(scheduler.inputs.volumes).toEqual([
            { volumeName: "pgha-dev-primary-data", containerPath: "/var/lib/postgresql/data" },
            { volumeName: "pgha-dev-primary-run", containerPath: "/var/run/postgresql" },
        ]);
        expect(uploaded(scheduler, "/etc/pgha/node.env")).toContain('PGHA_BACKUP_INTERVAL_HOURS="6"');
        expect(
            unwrap(scheduler.inputs.envs)
                .map((e: string) => e.split("=")[0])
                .sort(),
        ).toEqual(["PGHA_SECRET_S3_KEY", "PGHA_SECRET_S3_KEY_SECRET"]);
        expect(named(resources, "pgha-dev-s3").inputs).toMatchObject({
            image: "pgha-s3:local",
            command: ["server", "/data", "--address", ":9000"],
        });

        const off = await runProgram("dev", { backupEnabled: false });
        expect(ofType(off.resources, CONTAINER).map((c) => c.name)).not.toEqual(
            expect.arrayContaining(["pgha-dev-backup"]),
        );
        expect(ofType(off.resources, CONTAINER).map((c) => c.name)).not.toContain("pgha-dev-s3");
        expect(uploaded(named(off.resources, "pgha-dev-primary"), "/etc/pgha/postgresql.conf")).toContain(
            "archive_mode = off",
        );
        expect(off.outputs.backup.value).toBeUndefined();
    });

    test("pgha:backupFromReplica: a pgBackRest TLS server beside each replica, the scheduler copies from them; keys only as secrets", async () => {
        const { resources } = await runProgram("dev", {
            backupFromReplica: true,
            backupS3Image: "pgha-s3:local",
        });
        const serverNames = ["pgha-dev-replica-1-pgbackrest", "pgha-dev-replica-2-pgbackrest"];
        expect(
            ofType(resources, CONTAINER)
                .map((c) => c.name)
                .filter((n) => n.endsWith("-pgbackrest"))
                .sort(),
        ).toEqual(serverNames);
        for (const [i, name] of serverNames.entries()) {
            const server = named(resources, name);
            expect(server.inputs).toMatchObject({ name, command: ["backup-server"], ports: [] });
            // Beside its replica: the replica's data and socket volumes.
            expect(server.inputs.volumes).toEqual([
                { volumeName: `pgha-dev-replica-${i + 1}-data`, containerPath: "/var/lib/postgresql/data" },
                { volumeName: `pgha-dev-replica-${i + 1}-run`, containerPath: "/var/run/postgresql" },
            ]);
            const conf = uploaded(server, "/etc/pgbackrest/pgbackrest.conf");
            expect(conf).toContain("tls-server-auth=pgha-backup=main");
            expect(conf).toContain("tls-server-cert-file=/etc/pgbackrest/tls/server.crt");
            // No repository, and no repository credential: the server only reads its node.
            expect(conf).not.toContain("repo1-");
            expect(unwrap(server.inputs.envs).map((e: string) => e.split("=")[0])).toEqual([
                "PGHA_SECRET_PGBACKREST_SERVER_KEY",
            ]);
            expect(isSecret(server.inputs.envs)).toBe(true);
            expect(uploaded(server, "/etc/pgbackrest/tls/server.crt")).toContain(
                "mock certificate pgha-dev-pgbackrest-tls-server",
            );
            expect(uploaded(server, "/etc/pgbackrest/tls/ca.crt")).toContain(
                "mock certificate pgha-dev-pgbackrest-tls-ca",
            );
        }
        const scheduler = named(resources, "pgha-dev-backup");
        const conf = uploaded(scheduler, "/etc/pgbackrest/pgbackrest.conf");
        expect(conf).toContain("pg1-path=/var/lib/postgresql/data/pgdata");
        expect(conf).toContain("pg2-host=pgha-dev-replica-1-pgbackrest\npg2-host-type=tls");
        expect(conf).toContain("pg3-host=pgha-dev-replica-2-pgbackrest\npg3-host-type=tls");
        expect(conf).toContain("pg3-host-cert-file=/etc/pgbackrest/tls/client.crt");
        expect(conf).toMatch(/\nbackup-standby=y\n/);
        expect(
            unwrap(scheduler.inputs.envs)
                .map((e: string) => e.split("=")[0])
                .sort(),
        ).toEqual(["PGHA_SECRET_PGBACKREST_CLIENT_KEY", "PGHA_SECRET_S3_KEY", "PGHA_SECRET_S3_KEY_SECRET"]);
        expect(unwrap(scheduler.inputs.envs)).toContain(
            "PGHA_SECRET_PGBACKREST_CLIENT_KEY=-----BEGIN EC PRIVATE KEY-----\nmock key pgha-dev-pgbackrest-tls-client\n-----END EC PRIVATE KEY-----\n",
        );
        // No pgBackRest key is in any file upload (the S3 server's own key is a secret upload of its container).
        for (const c of ofType(resources, CONTAINER))
            expect([c.name, JSON.stringify(unwrap(c.inputs.uploads))]).not.toEqual([
                c.name,
                expect.stringContaining("mock key pgha-dev-pgbackrest"),
            ]);
        // The server certificate names every server the cluster may have (scaling and failover keep it); the client's is the one the servers accept.
        const request = (n: string) =>
            resources.find((r) => r.type === "tls:index/certRequest:CertRequest" && r.name === n)!;
        expect(request("pgha-dev-pgbackrest-tls-server").inputs.dnsNames).toEqual([
            "pgha-dev-primary-pgbackrest",
            ...Array.from({ length: 15 }, (_, i) => `pgha-dev-replica-${i + 1}-pgbackrest`),
        ]);
        expect(request("pgha-dev-pgbackrest-tls-client").inputs.subject).toEqual({
            commonName: "pgha-backup",
        });
        // The primary's archiving config is the same either way.
        const primaryOnly = await runProgram("dev", { backupS3Image: "pgha-s3:local" });
        expect(uploaded(named(resources, "pgha-dev-primary"), "/etc/pgbackrest/pgbackrest.conf")).toBe(
            uploaded(named(primaryOnly.resources, "pgha-dev-primary"), "/etc/pgbackrest/pgbackrest.conf"),
        );
        expect(
            uploaded(named(primaryOnly.resources, "pgha-dev-backup"), "/etc/pgbackrest/pgbackrest.conf"),
        ).not.toMatch(/pg2-|backup-standby/);
        expect(
            primaryOnly.resources.filter((r) => r.type.startsWith("tls:") && r.name.includes("pgbackrest")),
        ).toEqual([]);
    });

    test.each([
        [
            { backupFromReplica: true, replicas: 0 },
            "pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica (pgha:backupEnabled is true, pgha:replicas is 0)",
        ],
        [
            { backupFromReplica: true, backupEnabled: false },
            "pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica (pgha:backupEnabled is false, pgha:replicas is 2)",
        ],
        [{ backupFromReplica: "yes" }, "pgha:backupFromReplica must be true or false"],
    ])("pgha:backupFromReplica %j is refused before any resource is declared", async (config, message) => {
        const error = await runProgram("dev", config).then(
            () => undefined,
            (e: Error & { resources?: RecordedResource[] }) => e,
        );
        expect(error?.message).toContain(message);
        expect(error?.resources).toEqual([]);
    });

    test("the node image builds FROM the configured base image, postgres:<version> by default", async () => {
        const byDefault = await runProgram("dev");
        // A docker_image (RemoteImage): a refresh finds it gone after a prune, and `up --refresh` builds it again.
        expect(named(byDefault.resources, "pgha-dev-image").inputs).toEqual({
            name: "pgha-dev-node:pg16",
            build: {
                context: "components/docker/image",
                dockerfile: "Dockerfile",
                buildArgs: { BASE_IMAGE: "postgres:16" },
            },
            triggers: { context: buildContextDigest("components/docker/image") },
            keepLocally: true,
        });
        expect(buildContextDigest("components/docker/image")).toMatch(/^[0-9a-f]{64}$/);
        // Containers run the built image by its ID.
        expect(named(byDefault.resources, "pgha-dev-primary").inputs.image).toBe("sha256:0123456789abcdef");
        const local = await runProgram("dev", { baseImage: "pgha-base:bookworm", postgresVersion: 15 });
        expect(named(local.resources, "pgha-dev-image").inputs.build.buildArgs).toEqual({
            BASE_IMAGE: "pgha-base:bookworm",
        });
        expect(uploaded(named(local.resources, "pgha-dev-primary"), "/etc/pgha/node.env")).toContain(
            'PG_MAJOR="15"',
        );
    });

    test("an invalid config fails before any resource is declared", async () => {
        const error = await runProgram("dev", { replicas: 40 }).then(
            () => undefined,
            (e: Error & { resources?: RecordedResource[] }) => e,
        );
        expect(error?.message).toContain("pgha:replicas must be an integer from 0 to 15, got 40");
        expect(error?.resources).toEqual([]);
    });
});
