/**
 * The primary's bootstrap SQL (components/postgres/bootstrapSql.ts) on a real PostgreSQL 15 (the
 * local base image), as the role script runs it: psql as postgres over the socket, passwords as
 * psql variables. It proves what unit tests of the text cannot (issue 18):
 * - the longest database name the config accepts (60 characters) works;
 * - every name is quoted: a name the config refuses (`user`, a database with a quote and a space)
 *   still reaches PostgreSQL as one name;
 * - renaming `pgha:appUser` on a live cluster hands the database and what the old role owned to the
 *   new role (which can then create tables in `public`: the app's first migration) and retires the
 *   old role's login; a second run changes nothing.
 *
 *   npx jest test/e2e/bootstrapSql.test.ts --selectProjects e2e
 */
import { renderBootstrapSql } from "../../components/postgres/bootstrapSql";
import { tarOf } from "../../scripts/docker/containers";
import { docker, execIn } from "./support/docker";

jest.setTimeout(120_000);

const IMAGE = "pgha-base:bookworm";
const NAME = `pgha-e2e-bootstrap-sql-${process.pid}`;
const BIN = "/usr/lib/postgresql/15/bin";
const LONG_DB = `app_${"x".repeat(56)}`;

/** Runs a bash script in the container as `user`; throws with its output when it fails. */
async function sh(script: string, user = "postgres"): Promise<string> {
    const r = await execIn(NAME, ["bash", "-c", script], user);
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stdout}\n${r.stderr}`);
    return r.stdout.trim();
}

/** Runs the rendered bootstrap for these names, as the role script does; returns what psql printed. */
async function bootstrap(databaseName: string, appUser: string): Promise<string> {
    const c = docker.getContainer(NAME);
    await c.putArchive(
        await tarOf([
            { path: "/tmp/b/bootstrap.sql", content: renderBootstrapSql({ databaseName, appUser }) },
        ]),
        { path: "/" },
    );
    return sh("psql -X -q -v ON_ERROR_STOP=1 -h /tmp -d postgres -f /tmp/b/vars.sql -f /tmp/b/bootstrap.sql");
}

/** psql as `user` with its password over TCP, the way an application connects. */
function asApp(user: string, database: string, sql: string): Promise<string> {
    return sh(
        `PGPASSWORD=app-pw psql -X -qtA -v ON_ERROR_STOP=1 "host=127.0.0.1 user=${user} dbname=${database}" -c "${sql}"`,
    );
}

/** psql as postgres over the socket. */
function asSuperuser(database: string, sql: string): Promise<string> {
    return sh(`psql -X -qtA -v ON_ERROR_STOP=1 -h /tmp -d "${database}" -c "${sql}"`);
}

beforeAll(async () => {
    const c = await docker.createContainer({
        name: NAME,
        Image: IMAGE,
        Entrypoint: ["sleep", "infinity"],
        HostConfig: { NetworkMode: "none" },
    });
    await c.start();
    await c.putArchive(
        await tarOf([
            {
                path: "/tmp/b/vars.sql",
                content: [
                    "superuser_password 'su-pw'",
                    "replicator_password 'rep-pw'",
                    "app_password 'app-pw'",
                    "pgbouncer_auth_password 'pgb-pw'",
                    "monitor_password 'mon-pw'",
                ]
                    .map((v) => `\\set ${v}\n`)
                    .join(""),
            },
        ]),
        { path: "/" },
    );
    await sh("mkdir -p /tmp/d && chown -R postgres /tmp/d /tmp/b", "root");
    await sh(
        `${BIN}/initdb -D /tmp/d -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null && ` +
            `${BIN}/pg_ctl -D /tmp/d -l /tmp/d/log -o "-c listen_addresses=127.0.0.1 -k /tmp" -w start >/dev/null`,
    );
});

afterAll(async () => {
    await docker
        .getContainer(NAME)
        .remove({ force: true, v: true })
        .catch(() => undefined);
});

describe("bootstrap.sql on a real PostgreSQL", () => {
    test("a 60-character database (the longest the config accepts) is created and owned by the app", async () => {
        expect(LONG_DB).toHaveLength(60);
        expect(await bootstrap(LONG_DB, "app_before")).toBe("");
        await asApp("app_before", LONG_DB, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)");
        expect(
            await asSuperuser(
                LONG_DB,
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
            ),
        ).toBe("app_before");
    });

    test("renaming pgha:appUser moves ownership to the new role and retires the old login", async () => {
        const out = await bootstrap(LONG_DB, "app_after");
        expect(out).toContain("pgha:appUser changed from app_before to app_after");
        expect(
            await asSuperuser(
                LONG_DB,
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
            ),
        ).toBe("app_after");
        expect(
            await asSuperuser(LONG_DB, "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"),
        ).toBe("app_after");
        // The app's first migration as the new role: no "permission denied for schema public".
        await asApp("app_after", LONG_DB, "CREATE TABLE invoices (id int); INSERT INTO orders VALUES (2)");
        expect(await asApp("app_after", LONG_DB, "SELECT count(*) FROM orders")).toBe("2");
        // The old role stays (nothing that names it breaks) but cannot log in.
        expect(
            await asSuperuser("postgres", "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_before'"),
        ).toBe("f");
        await expect(asApp("app_before", LONG_DB, "SELECT 1")).rejects.toThrow(/not permitted to log in/);
        // Idempotent: a second start changes nothing and says nothing.
        expect(await bootstrap(LONG_DB, "app_after")).toBe("");
    });

    test("names are quoted: even names the config refuses stay one name", async () => {
        expect(await bootstrap('we"ird db', "user")).toBe("");
        expect(
            await asSuperuser(
                "postgres",
                `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'we\\"ird db'`,
            ),
        ).toBe("user");
    });
});
