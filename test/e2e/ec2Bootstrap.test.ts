/**
 * The EC2 bootstrap for real, without AWS: the user data the prod stack renders (like
 * Pulumi.prod.yaml, but PostgreSQL 15) runs in one Debian container per node (the local image
 * pgha-base:bookworm) on a private Docker network whose addresses play the nodes' network
 * interfaces. Only the seams are replaced, by fakes first on PATH (test/e2e/ec2Bootstrap/fakes):
 * `aws` answers get-secret-value from a fixture of random passwords and their SCRAM verifiers keyed
 * by ARN, `apt-get` does nothing (the packages are in the image), `systemctl` starts a pgha-node@
 * unit's ExecStart in the background and skips the data volume's mount unit. The slot job's SSM
 * document runs on the primary the way SSM would. Then the cluster must stream, and
 * `npm run verify` must pass against its ports on 127.0.0.1.
 *
 * Two clusters: the prod layout (primary, 2 replicas, PgBouncer on its own node), and PgBouncer
 * co-located on the primary (pgha:awsPgbouncerColocated) with one replica and backups from a
 * replica (pgha:backupFromReplica: a pgBackRest TLS server on each PostgreSQL node, its keys and
 * certificates, made here with openssl, served by the fake `aws`).
 *
 *   npx jest test/e2e/ec2Bootstrap.test.ts --selectProjects e2e --runInBand
 */
import { execFile, execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import { Client } from "pg";
import { FakeImds } from "./support/fakeImds";
import * as tar from "tar-stream";
import {
    awsBackupSettings,
    BACKUP_TLS_SECRET_NAMES,
    backupPrefixFor,
    backupTimerUnits,
    composeEc2Nodes,
    encodeUserData,
    renderSlotsDocument,
    renderUserData,
    RoleOnNode,
    SecretArns,
} from "../../components/aws";
import { BackupSettings, renderPgbackrestConf } from "../../components/postgres";
import { ClusterConfig, parseClusterConfig } from "../../components/config";
import { deriveSalt, scramSha256Verifier } from "../../components/postgres/scram";
import { CREDENTIAL_NAMES } from "../../components/secrets/replicationSecrets";
import { REPO_ROOT } from "./harness/client";
import { loadStackConfig } from "./harness/runProgram";
import { waitFor as pollUntil } from "./support/devCluster";

jest.setTimeout(240_000);

const IMAGE = "pgha-base:bookworm";
const LABEL = "pgha.e2e";
const FAKES = path.join(__dirname, "ec2Bootstrap", "fakes");
const FAKE_PATH = "PATH=/opt/pgha-e2e/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const APT = "apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends";
const run = `${process.pid}-${Date.now().toString(36)}`;
const docker = new Docker();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-ec2boot-"));
const started = Date.now();
const timings: Record<string, number> = {};
const mark = (what: string) => (timings[what] = Math.round((Date.now() - started) / 100) / 10);

/** Runs a command in a container; resolves with its exit code and output. */
async function exec(
    container: string,
    cmd: string[],
    env: string[] = [],
): Promise<{ code: number; output: string }> {
    const e = await docker
        .getContainer(container)
        .exec({ Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const out = new PassThrough();
    let output = "";
    out.on("data", (d: Buffer) => (output += d.toString()));
    docker.modem.demuxStream(stream, out, out);
    await new Promise((resolve) => stream.on("end", resolve));
    const { ExitCode } = await e.inspect();
    return { code: ExitCode ?? -1, output };
}

/** Copies files into a container as a tar archive at /. */
async function upload(
    container: string,
    files: { path: string; content: string | Buffer; mode?: number }[],
): Promise<void> {
    const pack = tar.pack();
    for (const f of files) pack.entry({ name: f.path.replace(/^\//, ""), mode: f.mode ?? 0o644 }, f.content);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await docker.getContainer(container).putArchive(Buffer.concat(chunks), { path: "/" });
}

/**
 * pgBackRest's TLS material as BackupTlsCertificates makes it (a P-256 CA, a server certificate
 * naming `serverIps` as IP and DNS names, a client certificate with CN pgha-backup), by openssl.
 */
function backupTlsMaterial(
    dir: string,
    serverIps: string[],
): {
    ca: string;
    serverCertificate: string;
    serverKey: string;
    clientCertificate: string;
    clientKey: string;
} {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ssl = (...args: string[]) =>
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    const key = (name: string) =>
        ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
    key("ca");
    ssl(
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=pgha e2e pgBackRest CA",
        "-days",
        "2",
        "-out",
        "ca.crt",
    );
    const signed = (name: string, subject: string, ext: string) => {
        key(name);
        ssl("req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
        fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
        ssl(
            "x509",
            "-req",
            "-in",
            `${name}.csr`,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            `${name}.ext`,
            "-out",
            `${name}.crt`,
        );
    };
    signed(
        "server",
        "/CN=pgha e2e pgBackRest server",
        `subjectAltName=${serverIps.flatMap((ip) => [`DNS:${ip}`, `IP:${ip}`]).join(",")}\nextendedKeyUsage=serverAuth\n`,
    );
    signed("client", "/CN=pgha-backup", "extendedKeyUsage=clientAuth\n");
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return {
        ca: read("ca.crt"),
        serverCertificate: read("server.crt"),
        serverKey: read("server.key"),
        clientCertificate: read("client.crt"),
        clientKey: read("client.key"),
    };
}

/** Removes this suite's containers and networks: every ec2boot-* one of this run, or of any run with `all`. */
async function removeContainers(all: boolean): Promise<void> {
    const name = all ? "ec2boot-" : `-${run}`;
    for (const c of await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL}=1`], name: [name] },
    })) {
        if (c.Names.some((n) => n.startsWith("/ec2boot-")))
            await docker
                .getContainer(c.Id)
                .remove({ force: true })
                .catch(() => undefined);
    }
    for (const n of await docker.listNetworks({ filters: { label: [`${LABEL}=1`], name: [name] } })) {
        if (n.Name.startsWith("ec2boot-"))
            await docker
                .getNetwork(n.Id)
                .remove()
                .catch(() => undefined);
    }
}

function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer().once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** The shared poller, with this suite's longer default and interval. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000) =>
    pollUntil(what, probe, timeoutMs, 500);

/** One cluster booted from its user data: nodes, their addresses and published ports, its credentials. */
class Ec2Cluster {
    readonly config: ClusterConfig;
    /** Node names: primary, replica-1.., pgbouncer unless co-located. */
    readonly nodes: string[];
    readonly ip: Record<string, string> = {};
    readonly passwords: Record<string, string> = {};
    readonly arns: SecretArns;
    readonly logs: string[] = [];
    /** pgBackRest's settings as the program renders them for a bucket of this name (never reached here: no AWS). */
    readonly backup?: BackupSettings;
    subnet = "";

    /**
     * @param key distinguishes container names (`ec2boot-<key>-<node>-<run>`)
     * @param ports published on 127.0.0.1: PostgreSQL of each PostgreSQL node, then PgBouncer's 6432
     */
    constructor(
        readonly key: string,
        overrides: string[],
        readonly ports: { postgres: Record<string, number>; pgbouncer: number },
    ) {
        this.config = parseClusterConfig(
            loadStackConfig(REPO_ROOT, "prod", ["pgha:postgresVersion=15", ...overrides]).config,
        );
        const replicas = Array.from({ length: this.config.replicas }, (_, i) => `replica-${i + 1}`);
        this.nodes = ["primary", ...replicas, ...(this.config.awsPgbouncerColocated ? [] : ["pgbouncer"])];
        if (this.config.backupEnabled)
            this.backup = awsBackupSettings(
                this.config,
                `pgha-${key}-backups-e2e0000`,
                "eu-west-1",
                backupPrefixFor(`pgha-${key}`),
            );
        this.arns = Object.fromEntries(
            [...CREDENTIAL_NAMES, ...(this.config.backupFromReplica ? BACKUP_TLS_SECRET_NAMES : [])].map(
                (c) => [
                    c,
                    `arn:aws:secretsmanager:eu-west-1:123456789012:secret:pgha-${key}-credentials-${c}-${randomBytes(3).toString("hex")}`,
                ],
            ),
        ) as SecretArns;
    }

    name(node: string): string {
        return `ec2boot-${this.key}-${node}-${run}`;
    }

    get replicas(): string[] {
        return this.nodes.filter((n) => n.startsWith("replica-"));
    }

    /** The node PgBouncer runs on. */
    get pgbouncerNode(): string {
        return this.config.awsPgbouncerColocated ? "primary" : "pgbouncer";
    }

    /** A private network with a subnet of its own: its CIDR plays the VPC's, its addresses the nodes' interfaces. */
    private async createNetwork(): Promise<void> {
        for (let attempt = 0; attempt < 10; attempt++) {
            const third = 16 + Math.floor(Math.random() * 224);
            this.subnet = `10.213.${third}.0/24`;
            try {
                await docker.createNetwork({
                    Name: this.name("net"),
                    Driver: "bridge",
                    Labels: { [LABEL]: "1" },
                    IPAM: { Config: [{ Subnet: this.subnet, Gateway: `10.213.${third}.1` }] },
                });
                await imds.serve(this.subnet, `10.213.${third}.1`);
                this.nodes.forEach((n, i) => (this.ip[n] = `10.213.${third}.${10 + i}`));
                return;
            } catch (e) {
                if (!/overlap/i.test(String(e))) throw e;
            }
        }
        throw new Error("no free 10.213.x.0/24 subnet for the test network");
    }

    /** Starts the containers, runs every node's user data and the slot job; resolves when all of them exited 0. */
    async boot(): Promise<void> {
        for (const port of [...Object.values(this.ports.postgres), this.ports.pgbouncer]) {
            if (!(await portFree(port)))
                throw new Error(
                    `port ${port} is taken on 127.0.0.1: stop what uses it, or a leftover ec2boot-* container`,
                );
        }
        // Random credentials, as ReplicationSecrets makes them, served by the fake aws by ARN.
        const seed = randomBytes(24).toString("base64url");
        const secrets: Record<string, string> = {};
        for (const c of CREDENTIAL_NAMES) {
            this.passwords[c] = randomBytes(24).toString("base64url").replace(/[-_]/g, "x");
            secrets[this.arns[c]] = JSON.stringify({
                password: this.passwords[c],
                verifier: scramSha256Verifier(this.passwords[c], deriveSalt(seed, c)),
            });
        }

        await this.createNetwork();
        if (this.config.backupFromReplica) {
            const postgresIps = this.nodes.filter((n) => n !== "pgbouncer").map((n) => this.ip[n]);
            const tls = backupTlsMaterial(path.join(tmp, `${this.key}-tls`), postgresIps);
            secrets[this.arns.pgbackrest_server_key!] = JSON.stringify({
                password: tls.serverKey,
                certificate: tls.serverCertificate,
                ca: tls.ca,
            });
            secrets[this.arns.pgbackrest_client_key!] = JSON.stringify({
                password: tls.clientKey,
                certificate: tls.clientCertificate,
                ca: tls.ca,
            });
        }
        const composition = composeEc2Nodes(
            this.config,
            this.subnet,
            { primary: this.ip.primary, replicas: this.replicas.map((r) => this.ip[r]) },
            this.backup,
        );
        const rolesOf = (node: string): RoleOnNode[] =>
            node === "primary"
                ? composition.primary
                : node === "pgbouncer"
                  ? (composition.pgbouncer ?? [])
                  : composition.replicas[Number(node.split("-")[1]) - 1];
        const fakes = ["aws", "apt-get", "systemctl"].map((f) => ({
            path: `/opt/pgha-e2e/bin/${f}`,
            content: fs.readFileSync(path.join(FAKES, f)),
            mode: 0o755,
        }));

        await Promise.all(
            this.nodes.map(async (node, i) => {
                const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
                if (this.ports.postgres[node])
                    bindings["5432/tcp"] = [
                        { HostIp: "127.0.0.1", HostPort: String(this.ports.postgres[node]) },
                    ];
                if (node === this.pgbouncerNode)
                    bindings["6432/tcp"] = [{ HostIp: "127.0.0.1", HostPort: String(this.ports.pgbouncer) }];
                const container = await docker.createContainer({
                    name: this.name(node),
                    Image: IMAGE,
                    Hostname: node,
                    Cmd: ["sleep", "infinity"],
                    Labels: { [LABEL]: "1", "pgha.e2e.suite": "ec2Bootstrap" },
                    ExposedPorts: Object.fromEntries(Object.keys(bindings).map((p) => [p, {}])),
                    HostConfig: { Init: true, NetworkMode: this.name("net"), PortBindings: bindings },
                    NetworkingConfig: {
                        EndpointsConfig: {
                            [this.name("net")]: { IPAMConfig: { IPv4Address: this.ip[node] } },
                        },
                    },
                });
                await container.start();
                // User data exactly as EC2 gets it (base64 of gzip); cloud-init unpacks it, here `gzip -d`.
                const userData = encodeUserData(
                    renderUserData({
                        clusterName: `pgha-${this.key}`,
                        nodeName: node,
                        region: "eu-west-1",
                        postgresVersion: this.config.postgresVersion,
                        roles: rolesOf(node),
                        secretArns: this.arns,
                        dataVolumeId:
                            node === "pgbouncer" ? undefined : `vol-0e2e${String(i).padStart(13, "0")}`,
                        scheduledBackup: node === "pgbouncer" ? undefined : composition.scheduledBackup,
                    }),
                );
                await upload(this.name(node), [
                    ...fakes,
                    { path: "/opt/pgha-e2e/secrets.json", content: JSON.stringify(secrets), mode: 0o600 },
                    { path: "/var/lib/cloud/instance/user-data.b64", content: userData },
                ]);
            }),
        );
        mark(`${this.key}: containers started`);

        const boot = async (node: string) => {
            const unpackAndRun =
                "base64 -d /var/lib/cloud/instance/user-data.b64 | gzip -dc >/var/lib/cloud/instance/user-data.sh && bash /var/lib/cloud/instance/user-data.sh";
            const r = await exec(this.name(node), ["bash", "-c", unpackAndRun], [FAKE_PATH]);
            this.logs.push(`--- user data of ${node} (exit ${r.code}) ---\n${r.output}`);
            if (r.code !== 0)
                throw new Error(
                    `the user data of ${node} failed (exit ${r.code}):\n${r.output.slice(-3000)}`,
                );
        };
        // The slot job, as SSM runs it: the document's parameter substituted, its lines run by /bin/sh.
        const document = JSON.parse(
            renderSlotsDocument({ region: "eu-west-1", plan: composition.slotJob, secretArns: this.arns }),
        );
        const slotCommands = (document.mainSteps[0].inputs.runCommand as string[])
            .join("\n")
            .replace(/\{\{ expectedSlots \}\}/g, composition.expectedSlots);
        const primaryAndSlots = async () => {
            await boot("primary");
            const r = await exec(this.name("primary"), ["sh", "-c", slotCommands], [FAKE_PATH]);
            this.logs.push(`--- slot job (exit ${r.code}) ---\n${r.output}`);
            if (r.code !== 0)
                throw new Error(`the slot job failed (exit ${r.code}):\n${r.output.slice(-3000)}`);
        };
        await Promise.all([primaryAndSlots(), ...this.nodes.filter((n) => n !== "primary").map(boot)]);
        mark(`${this.key}: user data and slot job done`);
    }

    /** Runs a step; when it fails, prints what the bootstrap and every node's units said, then fails. */
    async diagnosed<T>(step: () => Promise<T>): Promise<T> {
        try {
            return await step();
        } catch (error) {
            for (const node of this.nodes) {
                const units = await exec(this.name(node), [
                    "bash",
                    "-c",
                    "tail -n 40 /var/log/pgha-node@*.log",
                ]).catch(() => ({ output: "(no container)" }));
                this.logs.push(`--- ${node}: pgha-node units ---\n${units.output}`);
            }
            console.log(this.logs.join("\n"));
            throw error;
        }
    }

    port(node: string): number {
        return node === "pgbouncer" ? this.ports.pgbouncer : this.ports.postgres[node];
    }

    async query<T = any>(
        node: string,
        user: string,
        database: string,
        sql: string,
        params: unknown[] = [],
    ): Promise<T[]> {
        const password =
            this.passwords[user === "pgha_monitor" ? "monitor" : user === this.config.appUser ? "app" : user];
        const client = new Client({
            host: "127.0.0.1",
            port: this.port(node),
            user,
            password,
            database,
            connectionTimeoutMillis: 3000,
        });
        await client.connect();
        try {
            return (await client.query(sql, params)).rows;
        } finally {
            await client.end().catch(() => undefined);
        }
    }

    /** The calls a node made to the fakes. */
    async calls(node: string): Promise<string[]> {
        return (await exec(this.name(node), ["cat", "/var/log/pgha-e2e-calls.log"])).output
            .trim()
            .split("\n");
    }

    /** Waits until exactly the replicas stream from their slots, as synchronous candidates (any 1). */
    async waitUntilStreaming(): Promise<unknown[]> {
        return waitFor("every replica streaming", async () => {
            const rows = await this.query(
                "primary",
                "pgha_monitor",
                "postgres",
                "SELECT application_name, state, sync_state, s.slot_name FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid ORDER BY 1",
            );
            // While a replica clones, pg_basebackup streams through the slot under its own name; a
            // walsender that has just started shows "async" until it takes its synchronous priority.
            const ready =
                rows.length === this.replicas.length &&
                rows.every(
                    (x) =>
                        x.state === "streaming" &&
                        /^replica_/.test(x.application_name) &&
                        x.sync_state === "quorum",
                );
            return ready ? rows : undefined;
        });
    }

    /** `npm run verify -- --outputs <file>` with the outputs contract pointing at the published ports. */
    async verify(): Promise<{ code: number; stdout: string; stderr: string }> {
        const local = (node: string) => ({ host: "127.0.0.1", port: this.port(node) });
        const pgbouncer = { host: "127.0.0.1", port: this.ports.pgbouncer };
        const outputs = {
            clusterName: `pgha-${this.key}`,
            platform: "aws",
            primaryEndpoint: local("primary"),
            replicaEndpoints: this.replicas.map((n, i) => ({
                name: n,
                ...local(n),
                slotName: `pgha_replica_${i + 1}`,
                applicationName: `replica_${i + 1}`,
            })),
            pgbouncerEndpoint: pgbouncer,
            databaseName: this.config.databaseName,
            readOnlyDatabaseName: `${this.config.databaseName}_ro`,
            synchronousMode: this.config.synchronousMode,
            writeConnectionString: `postgresql://${this.config.appUser}:${this.passwords.app}@127.0.0.1:${pgbouncer.port}/${this.config.databaseName}`,
            readConnectionString: `postgresql://${this.config.appUser}:${this.passwords.app}@127.0.0.1:${pgbouncer.port}/${this.config.databaseName}_ro`,
            monitorUser: "pgha_monitor",
            monitorPassword: this.passwords.monitor,
        };
        const file = path.join(tmp, `${this.key}-outputs.json`);
        fs.writeFileSync(file, JSON.stringify(outputs, null, 2), { mode: 0o600 });
        const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                "npm",
                ["run", "--silent", "verify", "--", "--outputs", file],
                { cwd: REPO_ROOT, timeout: 90_000 },
                (error, stdout, stderr) =>
                    resolve({
                        code: !error
                            ? 0
                            : typeof (error as { code?: unknown }).code === "number"
                              ? ((error as { code?: unknown }).code as number)
                              : 1,
                        stdout,
                        stderr,
                    }),
            );
        });
        if (result.code !== 0 || process.env.PGHA_E2E_VERBOSE === "1")
            console.log(result.stdout, result.stderr);
        return result;
    }
}

/** Ports on 127.0.0.1 from 45432, clear of the dev stack's 5432-5434 and 6432. */
const prod = new Ec2Cluster("prod", [], {
    postgres: { primary: 45432, "replica-1": 45433, "replica-2": 45434 },
    pgbouncer: 45435,
});
const colocated = new Ec2Cluster(
    "colo",
    ["pgha:awsPgbouncerColocated=true", "pgha:replicas=1", "pgha:backupFromReplica=true"],
    { postgres: { primary: 45436, "replica-1": 45437 }, pgbouncer: 45438 },
);
const verifyScript = path.join(REPO_ROOT, "scripts/verify-replication.ts");
const imds = new FakeImds();

beforeAll(async () => {
    execFileSync("bash", [path.join(REPO_ROOT, "scripts/e2e/prepare.sh")], { stdio: "inherit" });
    await removeContainers(true);
    mark("prepared");
    // Both clusters boot at once; each step reports its own cluster's logs when it fails.
    await Promise.all([prod.diagnosed(() => prod.boot()), colocated.diagnosed(() => colocated.boot())]);
});

afterAll(async () => {
    if (process.env.PGHA_E2E_KEEP !== "1") {
        await removeContainers(false);
    }
    await imds.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`[ec2Bootstrap] timings (s since start): ${JSON.stringify(timings)}`);
});

describe("EC2 bootstrap in containers: primary, 2 replicas, PgBouncer on its own node", () => {
    test("both replicas stream from the primary through their slots, synchronously (any 1)", () =>
        prod.diagnosed(async () => {
            const rows = await prod.waitUntilStreaming();
            mark("prod: streaming");
            expect(rows).toEqual([
                {
                    application_name: "replica_1",
                    state: "streaming",
                    sync_state: "quorum",
                    slot_name: "pgha_replica_1",
                },
                {
                    application_name: "replica_2",
                    state: "streaming",
                    sync_state: "quorum",
                    slot_name: "pgha_replica_2",
                },
            ]);
        }));

    test("a row written on the primary appears on both replicas", () =>
        prod.diagnosed(async () => {
            const token = randomBytes(8).toString("hex");
            await prod.query(
                "primary",
                "app",
                "app",
                "CREATE TABLE IF NOT EXISTS ec2boot (token text PRIMARY KEY)",
            );
            await prod.query("primary", "app", "app", "INSERT INTO ec2boot VALUES ($1)", [token]);
            for (const replica of prod.replicas) {
                await waitFor(
                    `the row on ${replica}`,
                    async () =>
                        (
                            await prod.query(
                                replica,
                                "app",
                                "app",
                                "SELECT token FROM ec2boot WHERE token = $1",
                                [token],
                            )
                        ).length === 1
                            ? true
                            : undefined,
                    15_000,
                );
                expect(
                    await prod.query(replica, "app", "app", "SELECT pg_is_in_recovery() AS standby"),
                ).toEqual([{ standby: true }]);
            }
        }));

    test("PgBouncer routes the read-write entry to the primary and the read-only one to a replica", () =>
        prod.diagnosed(async () => {
            const where = async (database: string) =>
                (
                    await prod.query(
                        "pgbouncer",
                        "app",
                        database,
                        "SELECT current_setting('cluster_name') AS node, pg_is_in_recovery() AS standby",
                    )
                )[0];
            expect(await where("app")).toEqual({ node: "primary", standby: false });
            // PgBouncer starts with reads on the primary and moves them to the replicas once its
            // routing loop (every second) sees them stream: wait for that, with a generous bound.
            await waitFor(
                "the read-only entry on a replica",
                async () => ((await where("app_ro")).standby === true ? true : undefined),
                30_000,
            );
            expect(await where("app_ro")).toEqual({
                node: expect.stringMatching(/^replica_[12]$/),
                standby: true,
            });
        }));

    test("each node fetched exactly its secrets by ARN and keeps them root-only; the seams were the only way out", () =>
        prod.diagnosed(async () => {
            const { arns } = prod;
            const secretCalls = async (node: string) =>
                (await prod.calls(node))
                    .filter((c) => c.startsWith("aws secretsmanager"))
                    .map((c) => c.split(" ")[4]);
            // Every PostgreSQL node: the five verifiers and the replicator's password at boot (any node
            // can take either role); the primary then the replicator's password again for the slot job.
            const postgresNode = [
                arns.superuser,
                arns.replicator,
                arns.app,
                arns.pgbouncer_auth,
                arns.monitor,
                arns.replicator,
            ];
            expect(await secretCalls("primary")).toEqual([...postgresNode, arns.replicator]);
            expect(await secretCalls("replica-1")).toEqual(postgresNode);
            expect(await secretCalls("pgbouncer")).toEqual([arns.pgbouncer_auth, arns.monitor]);
            const primaryCalls = await prod.calls("primary");
            expect(primaryCalls).toContain("systemctl start var-lib-postgresql.mount");
            expect(primaryCalls).toContain("systemctl enable --now pgha-node@primary.service");
            expect(primaryCalls.filter((c) => c.startsWith("apt-get "))).toEqual([
                `${APT} update`,
                `${APT} install ca-certificates postgresql-common awscli perl`,
                `${APT} update`,
                `${APT} install pgbackrest postgresql-15 postgresql-client-15`,
                `${APT} install /tmp/amazon-ssm-agent.deb`,
            ]);
            expect(primaryCalls.filter((c) => c.startsWith("aws s3"))).toEqual([
                "aws s3 cp --no-sign-request --only-show-errors s3://amazon-ssm-eu-west-1/latest/debian_amd64/amazon-ssm-agent.deb /tmp/amazon-ssm-agent.deb",
            ]);
            expect((await prod.calls("pgbouncer")).filter((c) => c.includes(" install pg"))).toEqual([
                `${APT} install pgbouncer postgresql-client-15`,
            ]);
            expect(await prod.calls("pgbouncer")).not.toContain("systemctl start var-lib-postgresql.mount");
            const files = await exec(prod.name("primary"), [
                "bash",
                "-c",
                "stat -c '%a %U %n' /etc/pgha/secrets /etc/pgha/secrets/*; grep -c SCRAM-SHA-256 /etc/pgha/secrets/app_verifier.password",
            ]);
            expect(files.output.trim().split("\n")).toEqual([
                "700 root /etc/pgha/secrets",
                "600 root /etc/pgha/secrets/app_verifier.password",
                "600 root /etc/pgha/secrets/monitor_verifier.password",
                "600 root /etc/pgha/secrets/pgbouncer_auth_verifier.password",
                "600 root /etc/pgha/secrets/replicator.password",
                "600 root /etc/pgha/secrets/replicator_verifier.password",
                "600 root /etc/pgha/secrets/superuser_verifier.password",
                "1",
            ]);
            // No password or verifier ever showed in a command line or in what the bootstrap printed.
            const values = Object.values(prod.passwords);
            for (const node of prod.nodes) {
                const cmdlines = (
                    await exec(prod.name(node), [
                        "bash",
                        "-c",
                        "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '",
                    ])
                ).output;
                expect([node, values.filter((v) => cmdlines.includes(v))]).toEqual([node, []]);
            }
            expect(values.filter((v) => prod.logs.join("\n").includes(v))).toEqual([]);
            expect(prod.logs.join("\n")).not.toContain("SCRAM-SHA-256$");
            // The slot job cleaned up after itself.
            expect((await exec(prod.name("primary"), ["test", "-e", "/run/pgha-slots"])).code).toBe(1);
        }));

    test("npm run verify passes against the cluster's published ports", () =>
        prod.diagnosed(async () => {
            if (!fs.existsSync(verifyScript)) {
                console.log("[ec2Bootstrap] scripts/verify-replication.ts does not exist yet: skipped");
                return;
            }
            const result = await prod.verify();
            mark("prod: verify done");
            expect(result.code).toBe(0);
            expect(result.stdout).toMatch(/OK: cluster pgha-prod, 1[0-9] PASS, 0 WARN, 0 FAIL/);
            expect(result.stdout).not.toContain(prod.passwords.monitor);
        }));
});

describe("EC2 bootstrap in containers: backups (pgBackRest settings and the backup timer; no S3 here)", () => {
    test("every PostgreSQL node installed the backup timer and pgbackrest.conf with instance-role credentials; PgBouncer's node neither", () =>
        prod.diagnosed(async () => {
            const [service, timer] = backupTimerUnits();
            for (const node of ["primary", ...prod.replicas]) {
                expect([node, await prod.calls(node)]).toEqual([
                    node,
                    expect.arrayContaining(["systemctl enable --now pgha-backup.timer"]),
                ]);
                const files = await exec(prod.name(node), [
                    "bash",
                    "-c",
                    "cat /etc/systemd/system/pgha-backup.timer; echo ---; cat /etc/systemd/system/pgha-backup.service; echo ---; cat /etc/pgbackrest/pgbackrest.conf; echo ---; stat -c '%a %U' /etc/pgbackrest/pgbackrest.conf; [ -e /etc/pgbackrest/conf.d/credentials.conf ] && echo credentials || echo no-credentials",
                ]);
                expect([node, files.code]).toEqual([node, 0]);
                expect([node, files.output]).toEqual([
                    node,
                    `${timer.content}---\n${service.content}---\n${renderPgbackrestConf(prod.backup!)}---\n644 root\nno-credentials\n`,
                ]);
                expect(files.output).toContain("\nrepo1-s3-key-type=auto\n");
                // WAL archiving is on, through pgBackRest, on every node (a replica archives once promoted).
                expect(
                    (
                        await prod.query(
                            node,
                            "pgha_monitor",
                            "postgres",
                            "SELECT current_setting('archive_mode') AS mode, current_setting('archive_command') AS command, current_setting('pgha.archive_queue_max_mb') AS queue_max_mb",
                        )
                    )[0],
                ).toEqual({
                    mode: "on",
                    // WAL kept for an unreachable repository is bounded (pgha:archiveQueueMaxMb, 4096 MB).
                    command:
                        "timeout 120 pgbackrest --stanza=main --archive-push-queue-max=4294967296 archive-push %p",
                    queue_max_mb: "4096",
                });
            }
            expect(await prod.calls("pgbouncer")).not.toContain("systemctl enable --now pgha-backup.timer");
            expect(
                (await exec(prod.name("pgbouncer"), ["test", "-e", "/etc/pgbackrest/pgbackrest.conf"])).code,
            ).toBe(1);
        }));

    test(
        "the timer's service, run as systemd runs it, backs up only on the primary: a replica declines, the primary goes for the repository",
        () =>
            prod.diagnosed(async () => {
                const service = backupTimerUnits()[0].content as string;
                const execStart = /^ExecStart=(.*)$/m.exec(service)![1];
                const env = /^Environment=(.*)$/m.exec(service)![1];
                const replica = await exec(
                    prod.name("replica-1"),
                    ["bash", "-c", execStart],
                    [FAKE_PATH, env],
                );
                expect([replica.code, replica.output]).toEqual([
                    0,
                    expect.stringContaining("this node is not the primary: no backup here"),
                ]);
                expect(replica.output).not.toContain("stanza");
                // The primary acts: it creates the stanza first, which needs S3 and the instance role, neither of which exists
                // in a container, so the run fails visibly (non-zero, pgBackRest's error) and records no backup.
                const primary = await exec(
                    prod.name("primary"),
                    ["bash", "-c", `timeout 170 ${execStart}`],
                    [FAKE_PATH, env],
                );
                mark("prod: scheduled backup attempted on the primary");
                expect(primary.output).toContain("this node is the primary: creating the stanza if needed");
                expect(primary.output).toMatch(/ERROR: \[\d+\]/);
                expect(primary.code).not.toBe(0);
                expect(
                    await prod.query(
                        "primary",
                        "pgha_monitor",
                        "app",
                        "SELECT count(*)::int AS n FROM pgha.backup_runs WHERE ok",
                    ),
                ).toEqual([{ n: 0 }]);
            }),
        200_000,
    );
});

describe("EC2 bootstrap in containers: PgBouncer co-located on the primary, 1 replica", () => {
    test("the primary runs PostgreSQL and PgBouncer from their own directories; the replica streams", () =>
        colocated.diagnosed(async () => {
            await colocated.waitUntilStreaming();
            mark("colo: streaming");
            expect(await colocated.calls("primary")).toContain(
                "systemctl enable --now pgha-node@primary.service pgha-node@backup-server.service pgha-node@pgbouncer.service",
            );
            const files = await exec(colocated.name("primary"), [
                "bash",
                "-c",
                "stat -c '%a %n' /etc/pgha/pgbouncer/secrets/*; cat /etc/pgha/units/pgbouncer.env",
            ]);
            expect(files.output.trim().split("\n")).toEqual([
                "600 /etc/pgha/pgbouncer/secrets/monitor.password",
                "600 /etc/pgha/pgbouncer/secrets/pgbouncer_auth.password",
                "PGHA_ETC=/etc/pgha/pgbouncer",
            ]);
            const where = async (database: string) =>
                (
                    await colocated.query(
                        "pgbouncer",
                        "app",
                        database,
                        "SELECT current_setting('cluster_name') AS node",
                    )
                )[0].node;
            expect([await where("app"), await where("app_ro")]).toEqual(["primary", "replica_1"]);
        }));

    test(
        "backups from a replica: every PostgreSQL node's pgbackrest server listens on 8432; the primary's backup reaches the replica's with the client certificate",
        () =>
            colocated.diagnosed(async () => {
                await colocated.waitUntilStreaming();
                for (const node of ["primary", "replica-1"]) {
                    const ping = async () =>
                        (
                            await exec(colocated.name(node), [
                                "setpriv",
                                "--reuid=postgres",
                                "--regid=postgres",
                                "--init-groups",
                                "pgbackrest",
                                "server-ping",
                                colocated.ip[node],
                            ])
                        ).code === 0
                            ? true
                            : undefined;
                    await waitFor(`pgbackrest server on ${node}`, ping, 60_000);
                    const files = await exec(colocated.name(node), [
                        "bash",
                        "-c",
                        "stat -c '%a %U %n' /etc/pgbackrest/tls/*; grep -c '^pg2-host=' /etc/pgbackrest/pgbackrest.conf",
                    ]);
                    expect([node, files.output.trim().split("\n")]).toEqual([
                        node,
                        [
                            "644 root /etc/pgbackrest/tls/ca.crt",
                            "644 root /etc/pgbackrest/tls/client.crt",
                            "644 root /etc/pgbackrest/tls/server.crt",
                            "600 postgres /etc/pgbackrest/tls/server.key",
                            "1",
                        ],
                    ]);
                }
                mark("colo: pgbackrest servers up");
                // The timer's run writes the client key (the role script's prepare), then fails at the repository (no S3 here).
                const service = backupTimerUnits()[0].content as string;
                const execStart = /^ExecStart=(.*)$/m.exec(service)![1];
                const env = /^Environment=(.*)$/m.exec(service)![1];
                await exec(
                    colocated.name("primary"),
                    ["bash", "-c", `timeout 170 ${execStart}`],
                    [FAKE_PATH, env],
                );
                expect(
                    (
                        await exec(colocated.name("primary"), [
                            "stat",
                            "-c",
                            "%a %U",
                            "/etc/pgbackrest/tls/client.key",
                        ])
                    ).output.trim(),
                ).toBe("600 postgres");
                // TLS with the client certificate, the server certificate verified for the replica's address.
                const tls = await exec(colocated.name("primary"), [
                    "bash",
                    "-c",
                    `echo | openssl s_client -connect ${colocated.ip["replica-1"]}:8432 -CAfile /etc/pgbackrest/tls/ca.crt -cert /etc/pgbackrest/tls/client.crt -key /etc/pgbackrest/tls/client.key -verify_return_error -verify_ip ${colocated.ip["replica-1"]} 2>&1`,
                ]);
                expect(tls.output).toContain("Verify return code: 0 (ok)");
                // pgBackRest itself: check finds the primary (pg1) and the replica (pg2, through its TLS server) before it reaches for the repository.
                const check = await exec(colocated.name("primary"), [
                    "bash",
                    "-c",
                    "timeout 120 setpriv --reuid=postgres --regid=postgres --init-groups pgbackrest --stanza=main check 2>&1",
                ]);
                expect(check.output).toContain("check command begin");
                // Only a standby pgBackRest reached and found in recovery gets this line.
                expect(check.output).toContain("INFO: check repo1 (standby)");
                expect(check.output).not.toMatch(/unable to check pg\d|unable to find (primary|standby)/);
                mark("colo: pgbackrest check through TLS");
            }),
        300_000,
    );

    test("npm run verify passes", () =>
        colocated.diagnosed(async () => {
            if (!fs.existsSync(verifyScript)) return;
            const result = await colocated.verify();
            mark("colo: verify done");
            expect(result.code).toBe(0);
            expect(result.stdout).toMatch(/OK: cluster pgha-colo, \d+ PASS, 0 WARN, 0 FAIL/);
        }));
});

describe("EC2 bootstrap in containers: the instance metadata service", () => {
    test("pgBackRest's instance-metadata requests were answered on this machine (403), none left it", () => {
        expect(imds.requests.some((r) => r.includes("/latest/"))).toBe(true);
    });
});
