/**
 * A newcomer's first day, on the real engine: `npm run deploy` of the default Docker config
 * (only the base image is the local one: this machine has no registry) with a passphrase-protected
 * stand-in for the Pulumi CLI; the deploy's checks before anything is created (a missing image, a
 * taken port); backups to the repository volume and a restore from it; an app in a container on
 * the cluster network; a framework's test database created and dropped through PgBouncer; and
 * destroy, which keeps the data volumes and the repository while the restore container is gone.
 */
import { execFile } from "child_process";
import Docker from "dockerode";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { REPO_ROOT, runProgramProcess } from "./harness/client";

const STACK = "newcomer";
const CLUSTER = `pgha-${STACK}`;
const PORTS = { primary: 35432, replicaBase: 35433, pgbouncer: 36432 };
/** The default config but for what this machine needs (no registry) and ports of its own. */
const CONFIG: Record<string, string> = {
    "pgha:platform": "docker",
    "pgha:replicas": "1",
    "pgha:baseImage": "pgha-base:bookworm",
    "pgha:postgresVersion": "15",
    "pgha:primaryPort": String(PORTS.primary),
    "pgha:replicaBasePort": String(PORTS.replicaBase),
    "pgha:pgbouncerPort": String(PORTS.pgbouncer),
};
const docker = new Docker();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-newcomer-"));
const passphraseFile = path.join(dir, "passphrase");

function writeConfig(config: Record<string, string>): void {
    fs.writeFileSync(
        path.join(dir, "config.json"),
        JSON.stringify(
            Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secret: false }])),
        ),
    );
    fs.writeFileSync(
        path.join(dir, "config.args"),
        Object.entries(config)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(""),
    );
}

/** Runs a command from the repository with the stand-in `pulumi` first on PATH. */
function run(
    file: string,
    args: string[],
    env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
    const started = Date.now();
    const base = { ...process.env };
    delete base.PULUMI_CONFIG_PASSPHRASE;
    delete base.PULUMI_CONFIG_PASSPHRASE_FILE;
    return new Promise((resolve) => {
        execFile(
            file,
            args,
            {
                cwd: REPO_ROOT,
                env: {
                    ...base,
                    PATH: `${path.join(__dirname, "newcomer/fake-cli")}:${process.env.PATH}`,
                    FAKE_PULUMI_DIR: dir,
                    ...env,
                },
                maxBuffer: 64 * 1024 * 1024,
                timeout: 600_000,
            },
            (err, stdout, stderr) =>
                resolve({
                    code: err ? ((err as { code?: number }).code ?? 1) : 0,
                    stdout,
                    stderr,
                    seconds: (Date.now() - started) / 1000,
                }),
        );
    });
}

const calls = () =>
    fs.existsSync(path.join(dir, "calls.log")) ? fs.readFileSync(path.join(dir, "calls.log"), "utf8") : "";
const outputs = () => JSON.parse(fs.readFileSync(path.join(dir, "outputs.json"), "utf8"));
const clusterContainers = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`pgha.cluster=${CLUSTER}`] } })).map((c) =>
        c.Names[0].replace(/^\//, ""),
    );
const clusterVolumes = async () =>
    ((await docker.listVolumes({ filters: { label: [`pgha.cluster=${CLUSTER}`] } })).Volumes ?? [])
        .map((v) => v.Name)
        .sort();

/** Runs `script` with sh in a container of the node image on the cluster network; returns its output. */
async function inNetwork(image: string, network: string, env: string[], script: string): Promise<string> {
    const container = await docker.createContainer({
        Image: image,
        Entrypoint: ["sh", "-ec", script],
        Env: env,
        HostConfig: { NetworkMode: network },
        Labels: { "pgha.test": STACK },
    });
    try {
        await container.start();
        const { StatusCode } = await container.wait();
        const logs = ((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer)
            .toString("utf8")
            // Docker's multiplexed log frames: drop the 8-byte headers.
            .replace(/[\x00-\x02]\x00\x00\x00[\s\S]{4}/g, "");
        if (StatusCode !== 0) throw new Error(`in-network client exited ${StatusCode}:\n${logs}`);
        return logs;
    } finally {
        await container.remove({ force: true });
    }
}

async function cleanUp(): Promise<void> {
    for (const c of await docker.listContainers({
        all: true,
        filters: { label: [`pgha.cluster=${CLUSTER}`] },
    }))
        await docker.getContainer(c.Id).remove({ force: true });
    await runProgramProcess({ stack: STACK, destroy: true, statePath: path.join(dir, "state.json") }).catch(
        () => undefined,
    );
    for (const v of await clusterVolumes()) await docker.getVolume(v).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label: [`pgha.cluster=${CLUSTER}`] } }))
        await docker.getNetwork(n.Id).remove();
}

beforeAll(async () => {
    fs.writeFileSync(passphraseFile, "correct horse battery staple\n".trim());
    fs.writeFileSync(path.join(dir, "passphrase"), "correct horse battery staple");
    await cleanUp();
}, 300_000);

afterAll(async () => {
    await cleanUp();
    fs.rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe("a newcomer's first day", () => {
    test("a base image tag that does not exist stops the deploy before anything is created, naming pgha:baseImage", async () => {
        writeConfig({ ...CONFIG, "pgha:baseImage": "pgha-base:no-such-tag" });
        const r = await run("bash", ["scripts/deploy.sh", STACK], {
            PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            "pgha:baseImage: image pgha-base:no-such-tag is not on this Docker engine and its registry does not serve it",
        );
        expect(calls()).not.toMatch(/^up /m);
        expect(await clusterContainers()).toEqual([]);
    });

    test("a port already taken on 127.0.0.1 stops the deploy before any container, naming the key and a free port", async () => {
        writeConfig(CONFIG);
        const squatter = net.createServer();
        await new Promise<void>((resolve) => squatter.listen(PORTS.pgbouncer, "127.0.0.1", resolve));
        try {
            const r = await run("bash", ["scripts/deploy.sh", STACK], {
                PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
            });
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(
                new RegExp(
                    `pgha:pgbouncerPort: port ${PORTS.pgbouncer} on 127\\.0\\.0\\.1 is taken by another program on this machine; choose a free one, e\\.g\\. \`pulumi config set pgha:pgbouncerPort (\\d+) --stack ${STACK}\``,
                ),
            );
            const suggested = Number(/pulumi config set pgha:pgbouncerPort (\d+)/.exec(r.stderr)![1]);
            expect(suggested).toBeGreaterThanOrEqual(PORTS.pgbouncer + 10000);
            expect(r.stderr).not.toContain("pgha:primaryPort");
            expect(calls()).not.toMatch(/^up /m);
            expect(await clusterContainers()).toEqual([]);
        } finally {
            squatter.close();
        }
    });

    test("npm run deploy with a passphrase-protected stack: preflight, up and the check after it all get the passphrase", async () => {
        writeConfig(CONFIG);
        fs.writeFileSync(path.join(dir, "calls.log"), "");
        const r = await run("bash", ["scripts/deploy.sh", STACK], {
            PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
        });
        if (r.code !== 0) throw new Error(`deploy failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
        expect(r.stdout).toContain(`preflight: stack ${STACK} can deploy on this Docker engine`);
        expect(calls().trim().split("\n")).toEqual([
            `config get pgha:platform --stack ${STACK}`,
            `config --json --stack ${STACK}`,
            `up --stack ${STACK}`,
            `stack output --json --show-secrets --stack ${STACK}`,
        ]);
        // The check after up passed: verify printed its checks and exited 0.
        expect(r.stdout).toMatch(/canary/);
        console.log(`newcomer deploy (preflight + up + verify): ${r.seconds.toFixed(1)} s`);
        // Nothing pulled: no S3 server, the repository is a volume.
        expect((await clusterContainers()).sort()).toEqual(
            [
                `${CLUSTER}-backup`,
                `${CLUSTER}-pgbouncer`,
                `${CLUSTER}-primary`,
                `${CLUSTER}-replica-1`,
                `${CLUSTER}-slots`,
            ].sort(),
        );
        expect(outputs().backup.repository).toEqual({
            type: "posix",
            volume: `${CLUSTER}-backups`,
            path: "/var/lib/pgbackrest",
        });
    }, 600_000);

    test("a tool run alone without the passphrase and without a terminal exits 2 naming both variables", async () => {
        const r = await run("npx", ["tsx", "scripts/verify-replication.ts", "--stack", STACK]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(
            "the stack's secrets are passphrase-protected: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE",
        );
        const withPassphrase = await run("npx", ["tsx", "scripts/verify-replication.ts", "--stack", STACK], {
            PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple",
        });
        expect(withPassphrase.code).toBe(0);
    }, 120_000);

    test("backups go to the repository volume and restore from it, row for row", async () => {
        const o = outputs();
        const client = new Client({ connectionString: o.writeConnectionString });
        await client.connect();
        await client.query("CREATE TABLE IF NOT EXISTS first_day (id int PRIMARY KEY, note text)");
        await client.query(
            "INSERT INTO first_day SELECT g, md5(g::text) FROM generate_series(1, 5000) g ON CONFLICT DO NOTHING",
        );
        await client.end();
        const backup = await run("npx", [
            "tsx",
            "scripts/backup.ts",
            "--outputs",
            path.join(dir, "outputs.json"),
            "--type",
            "full",
            "--json",
        ]);
        if (backup.code !== 0) throw new Error(`backup failed:\n${backup.stderr.slice(-3000)}`);
        console.log(`newcomer full backup to the volume: ${backup.seconds.toFixed(1)} s`);
        const restore = await run("npx", [
            "tsx",
            "scripts/restore.ts",
            "--outputs",
            path.join(dir, "outputs.json"),
            "--json",
        ]);
        if (restore.code !== 0) throw new Error(`restore failed:\n${restore.stderr.slice(-3000)}`);
        const restored = JSON.parse(restore.stdout);
        console.log(`newcomer restore from the volume: ${restored.seconds} s`);
        const check = new Client({
            host: "127.0.0.1",
            port: restored.endpoint.port,
            // The application's role owns the table: the restore keeps every role and its password.
            user: new URL(o.writeConnectionString).username,
            password: decodeURIComponent(new URL(o.writeConnectionString).password),
            database: o.databaseName,
        });
        check.on("error", () => undefined);
        let rows;
        try {
            await check.connect();
            rows = (await check.query("SELECT count(*)::int AS n FROM first_day")).rows;
        } catch (err) {
            const logs = await docker
                .getContainer(restored.container)
                .logs({ stdout: true, stderr: true, tail: 60 });
            const state = (await docker.getContainer(restored.container).inspect()).State;
            throw new Error(`${(err as Error).message}\n${JSON.stringify(state)}\n${String(logs)}`);
        } finally {
            await check.end().catch(() => undefined);
        }
        expect(rows[0].n).toBe(5000);
        expect(await clusterContainers()).toContain(restored.container);
    }, 600_000);

    test("an app in a container on the cluster network connects with the in-network outputs; a test database is created and dropped through PgBouncer", async () => {
        const o = outputs();
        expect(o.dockerNetwork).toBe(`${CLUSTER}-net`);
        expect(o.inNetworkWriteConnectionString).toMatch(new RegExp(`@${CLUSTER}-pgbouncer:6432/app$`));
        const image = o.backupAccess.nodeImage;
        const out = await inNetwork(
            image,
            o.dockerNetwork,
            [
                `DATABASE_URL=${o.inNetworkWriteConnectionString}`,
                `READ_URL=${o.inNetworkReadConnectionString}`,
            ],
            [
                'psql "$DATABASE_URL" -tAc "SELECT \'write:\' || NOT pg_is_in_recovery()"',
                'psql "$READ_URL" -tAc "SELECT \'read:\' || pg_is_in_recovery()"',
                // What `rails db:create` / Django's test runner / Laravel's parallel testing do: CREATE
                // DATABASE from the postgres database, use the new one, DROP it from postgres again.
                "base=${DATABASE_URL%/*}",
                'psql "$base/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS app_test" -c "CREATE DATABASE app_test"',
                'psql "$base/app_test" -v ON_ERROR_STOP=1 -qc "CREATE TABLE t (i int)" -c "INSERT INTO t VALUES (1), (2)"',
                'psql "$base/app_test" -tAc "SELECT \'rows:\' || count(*) FROM t"',
                'psql "$base/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE app_test"',
                "psql \"$base/postgres\" -tAc \"SELECT 'left:' || count(*) FROM pg_database WHERE datname = 'app_test'\"",
                // A name that needs quoting: PgBouncer must release its idle pool for the DROP too.
                `psql "$base/postgres" -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE "app-test"'`,
                `psql "$base/app-test" -tAc "SELECT 'quoted:' || current_database()"`,
                `psql "$base/postgres" -v ON_ERROR_STOP=1 -qc 'DROP DATABASE "app-test"'`,
                `psql "$base/postgres" -tAc "SELECT 'quotedleft:' || count(*) FROM pg_database WHERE datname = 'app-test'"`,
            ].join("\n"),
        );
        expect(out.split("\n").filter((l) => /^(write|read|rows|left|quoted|quotedleft):/.test(l))).toEqual([
            "write:true",
            "read:true",
            "rows:2",
            "left:0",
            "quoted:app-test",
            "quotedleft:0",
        ]);
    }, 120_000);

    test("destroy keeps the primary's data volume and the repository (pgha:keepDataOnDestroy), not the replica's clone; npm run destroy removes restore containers", async () => {
        const r = await run("bash", ["scripts/destroy.sh", STACK], {
            PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
        });
        if (r.code !== 0) throw new Error(`destroy failed:\n${r.stderr.slice(-3000)}`);
        expect(await clusterContainers()).toEqual([]);
        const volumes = await clusterVolumes();
        // Exactly these: the replica's clone, the socket volume and the restore's volume are gone.
        expect(volumes).toEqual([`${CLUSTER}-backups`, `${CLUSTER}-primary-data`]);
        expect(volumes.filter((v) => v.includes("-restore-"))).toEqual([]);
    }, 300_000);
});
