/**
 * A node that cannot read a secret stops, naming the secret and never its value (issue 18). The
 * real role script (components/postgres/node/pgha-node.sh, shared by Docker and EC2) runs as the
 * entry point of a container of the local base image, given its secrets the Docker way
 * (`PGHA_SECRET_<NAME>` variables), one of them empty or missing. Before the fix a secret read
 * inside `$(...)` ended only a subshell and the node went on with an empty password.
 *
 *   npx jest test/e2e/nodeSecrets.test.ts --selectProjects e2e
 */
import * as fs from "fs";
import * as path from "path";
import { tarOf } from "../../scripts/docker/containers";
import { REPO_ROOT } from "./harness/client";
import { docker } from "./support/docker";

jest.setTimeout(120_000);

const IMAGE = "pgha-base:bookworm";
const SCRIPT = fs.readFileSync(
    process.env.PGHA_NODE_SCRIPT ?? path.join(REPO_ROOT, "components/postgres/node/pgha-node.sh"),
    "utf8",
);
const PGDATA = "/var/lib/postgresql/data/pgdata";
const created: string[] = [];

/** Distinct values, so a test can prove none of them reached the log. */
const VALUES: Record<string, string> = {
    superuser_verifier: "sv-3b7f0c",
    replicator_verifier: "rv-91d2aa",
    app_verifier: "av-4410ee",
    pgbouncer_auth_verifier: "pv-7c13d9",
    monitor_verifier: "mv-0f8b26",
    replicator: "rp-55e1c4",
    pgbouncer_auth: "pa-a0c3f1",
    monitor: "mp-d21e07",
    s3_key: "sk-6a0b3e",
    s3_key_secret: "ss-e8d5c2",
};

interface Outcome {
    exitCode: number;
    log: string;
    pgdataCreated: boolean;
}

/** Runs `pgha-node <role>` with the given secrets until it exits (or 60 s pass). */
async function runNode(role: string, secrets: Record<string, string>, env: Record<string, string> = {}) {
    const name = `pgha-e2e-secrets-${role}-${Date.now()}`;
    const nodeEnv = {
        PGHA_ROLE: role,
        PGHA_NODE: role,
        PG_MAJOR: "15",
        PGDATA,
        PGHA_HOST: role === "replica" ? "replica-1" : "primary",
        PGHA_PRIMARY_HOST: "primary",
        PGHA_SLOT: "pgha_replica_1",
        PGHA_DATABASE: "app",
        PGHA_RO_DATABASE: "app_ro",
        PGHA_READ_HOSTS: "",
        ...env,
    };
    const container = await docker.createContainer({
        name,
        Image: IMAGE,
        Entrypoint: ["bash", "/etc/pgha/bin/pgha-node"],
        Cmd: [role],
        Env: Object.entries(secrets).map(([k, v]) => `PGHA_SECRET_${k.toUpperCase()}=${v}`),
        HostConfig: { NetworkMode: "none" },
    });
    created.push(name);
    await container.putArchive(
        await tarOf([
            { path: "/etc/pgha/bin/pgha-node", content: SCRIPT, executable: true },
            {
                path: "/etc/pgha/node.env",
                content: Object.entries(nodeEnv)
                    .map(([k, v]) => `${k}="${v}"\n`)
                    .join(""),
            },
        ]),
        { path: "/" },
    );
    await container.start();
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
        container.wait() as Promise<{ StatusCode: number }>,
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 60_000))),
    ]);
    clearTimeout(timer);
    const log = ((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString(
        "utf8",
    );
    let pgdataCreated = false;
    if (exited === undefined) {
        await container.kill().catch(() => undefined);
    }
    try {
        await container.getArchive({ path: `${PGDATA}/PG_VERSION` });
        pgdataCreated = true;
    } catch {
        pgdataCreated = false;
    }
    return { exitCode: exited?.StatusCode ?? -1, log, pgdataCreated } satisfies Outcome;
}

const without = (name: string) => Object.fromEntries(Object.entries(VALUES).filter(([k]) => k !== name));

afterAll(async () => {
    for (const name of created)
        await docker
            .getContainer(name)
            .remove({ force: true, v: true })
            .catch(() => undefined);
});

describe("a node that cannot read a secret stops with the secret's name in its log", () => {
    test.each([
        ["primary", "an empty", "superuser_verifier", { ...VALUES, superuser_verifier: "" }, "is empty"],
        ["primary", "a missing", "app_verifier", without("app_verifier"), "is missing"],
        ["primary", "a refused", "monitor_verifier", { ...VALUES, monitor_verifier: "x'; --" }, "is refused"],
        ["replica", "an empty", "replicator", { ...VALUES, replicator: "" }, "is empty"],
        ["pgbouncer", "a missing", "monitor", without("monitor"), "is missing"],
        ["primary", "an empty S3 key", "s3_key_secret", { ...VALUES, s3_key_secret: "" }, "is empty"],
    ])("%s given %s secret (%s)", async (role, _what, secretName, secrets, why) => {
        const run = await runNode(role, secrets);
        expect(run.log).toContain(`ERROR: secret ${secretName} ${why}`);
        expect(run.exitCode).toBe(1);
        // It stopped at the secret: no data directory, no server started, nothing else logged after.
        expect(run.pgdataCreated).toBe(false);
        expect(run.log).not.toMatch(/initialising|starting/);
        for (const value of Object.values(VALUES)) expect(run.log).not.toContain(value);
        expect(run.log).not.toContain("x';");
    });
});
