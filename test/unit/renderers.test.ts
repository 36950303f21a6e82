import { execFileSync } from "child_process";
import * as path from "path";
import {
    clusterNodes,
    deriveSalt,
    nodeEnvFile,
    renderBootstrapSql,
    pgbouncerEnv,
    renderPgbouncerIni,
    renderPostgresqlConf,
    scramSha256Verifier,
    WAL_SENDERS,
} from "../../components/postgres";

const settings = {
    maxConnections: 200,
    synchronousMode: "off" as const,
    walKeepSizeMb: 512,
    maxSlotWalKeepSizeMb: 8192,
};
const nodes = clusterNodes(2);

describe("postgresql.conf", () => {
    test("primary: replication sized for the largest cluster, SCRAM only, WAL bounded", () => {
        const conf = renderPostgresqlConf(settings, nodes.primary);
        expect(conf).toContain("wal_level = replica");
        expect(conf).toContain(`max_wal_senders = ${WAL_SENDERS}`);
        expect(conf).toContain(`max_replication_slots = ${WAL_SENDERS}`);
        expect(conf).toContain("max_slot_wal_keep_size = '8192MB'");
        expect(conf).toContain("wal_keep_size = '512MB'");
        expect(conf).toContain("password_encryption = 'scram-sha-256'");
        expect(conf).toContain("cluster_name = 'primary'");
        expect(conf).not.toMatch(/primary_conninfo|primary_slot_name/);
    });

    test("every node renders the same but its cluster_name: the upstream is included from the file the role script writes", () => {
        const primary = renderPostgresqlConf(settings, nodes.primary);
        const replica = renderPostgresqlConf(settings, nodes.replicas[1]);
        expect(replica).toContain("cluster_name = 'replica_2'");
        expect(replica.replace("'replica_2'", "'primary'")).toBe(primary);
        expect(primary).toContain("include_if_exists = '/run/pgha/upstream.conf'");
        expect(primary).toContain("recovery_target_timeline = 'latest'");
    });
});

describe("topology", () => {
    test("names are stable and every node has a slot; pgha:primaryNode picks the primary", () => {
        const after = clusterNodes(2, "replica-1");
        expect(after.all.map((n) => [n.name, n.role, n.slotName, n.index])).toEqual([
            ["primary", "replica", "pgha_primary", 0],
            ["replica-1", "primary", "pgha_replica_1", 1],
            ["replica-2", "replica", "pgha_replica_2", 2],
        ]);
        expect(after.primary.name).toBe("replica-1");
        expect(after.replicas.map((n) => n.identity)).toEqual(["primary", "replica_2"]);
        expect(nodes.primary.name).toBe("primary");
        expect(() => clusterNodes(1, "replica-2")).toThrow(
            "primary node replica-2 is not one of primary, replica-1",
        );
    });
});

describe("pgbouncer.ini", () => {
    const base = {
        databaseName: "shop",
        readOnlyDatabaseName: "shop_ro",
        primaryHost: "p",
        poolMode: "transaction" as const,
        poolSize: 20,
        maxClientConnections: 500,
    };

    test("routes are not fixed in the file: the role script writes the [databases] it includes", () => {
        const ini = renderPgbouncerIni(base);
        expect(ini).toContain("%include /run/pgha/pgbouncer-databases.ini");
        expect(ini).not.toContain("[databases]");
        expect(pgbouncerEnv({ ...base, replicaHosts: ["r1", "r2"] })).toEqual({
            PGHA_DATABASE: "shop",
            PGHA_RO_DATABASE: "shop_ro",
            PGHA_PRIMARY_HOST: "p",
            PGHA_READ_HOSTS: "r1 r2",
            PGHA_POSTGRES_PORT: "5432",
        });
    });

    test("SCRAM through auth_query; no application password in its files", () => {
        const ini = renderPgbouncerIni(base);
        expect(ini).toContain("auth_type = scram-sha-256");
        expect(ini).toContain("auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)");
        expect(ini).toContain("pool_mode = transaction");
        expect(ini).toContain("default_pool_size = 20");
        expect(ini).toContain("max_client_conn = 500");
    });
});

describe("bootstrap.sql", () => {
    test("is idempotent and holds no secret: passwords come in as psql variables", () => {
        const sql = renderBootstrapSql({ databaseName: "shop", appUser: "shop_user" });
        expect(sql).toContain(
            `ALTER ROLE "replicator" WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'replicator_password';`,
        );
        expect(sql).toContain(
            `ALTER ROLE "shop_user" WITH LOGIN NOSUPERUSER NOREPLICATION CREATEDB PASSWORD :'app_password';`,
        );
        // Frameworks' test databases through PgBouncer: the auth function where CREATE DATABASE runs
        // (postgres), in template1 (copied into each new database) and in the application database.
        expect(sql.match(/^\\connect .*$/gm)).toEqual([
            '\\connect "shop"',
            "\\connect template1",
            "\\connect postgres",
            '\\connect "shop"',
        ]);
        expect(sql.match(/CREATE OR REPLACE FUNCTION pgbouncer.get_auth/g)).toHaveLength(3);
        expect(sql).toContain('CREATE DATABASE "shop" OWNER "shop_user";');
        expect(sql).toContain('\\connect "shop"');
        // A renamed pgha:appUser: the previous owner hands over and loses its login.
        expect(sql).toContain('ALTER DATABASE "shop" OWNER TO "shop_user";');
        expect(sql).toContain('REASSIGN OWNED BY :"previous_app_user" TO "shop_user";');
        expect(sql).toContain('ALTER ROLE :"previous_app_user" NOLOGIN;');
        expect(sql).toContain("WHERE usename = p_usename AND NOT usesuper AND NOT userepl");
        expect(sql).not.toMatch(/PASSWORD '/);
        expect(sql.match(/CREATE ROLE/g)).toHaveLength(4);
        expect(sql.match(/\\if :role_missing/g)).toHaveLength(4);
    });

    test("quotes every name, even one the config refuses", () => {
        const sql = renderBootstrapSql({ databaseName: 'we"ird db', appUser: "user" });
        expect(sql).toContain('CREATE DATABASE "we""ird db" OWNER "user";');
        expect(sql).toContain("WHERE datname = 'we\"ird db'");
        expect(sql).toContain(`ALTER ROLE "user" WITH LOGIN`);
    });
});

describe("SCRAM verifiers", () => {
    test("have PostgreSQL's format, depend on password and salt, and are stable", () => {
        const salt = deriveSalt("seed", "app");
        const v = scramSha256Verifier("pencil", salt);
        expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
        expect(scramSha256Verifier("pencil", salt)).toBe(v);
        expect(scramSha256Verifier("pencil2", salt)).not.toBe(v);
        expect(scramSha256Verifier("pencil", deriveSalt("seed", "monitor"))).not.toBe(v);
        expect(() => scramSha256Verifier("pencil", Buffer.alloc(8))).toThrow("at least 16 bytes");
    });

    test("matches the RFC 7677 test vector (SCRAM-SHA-256, user 'user', password 'pencil')", () => {
        // RFC 7677 section 3: salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. The server signature in the
        // RFC's exchange is HMAC(ServerKey, AuthMessage); check that ServerKey reproduces it.
        const { createHmac } = require("crypto");
        const v = scramSha256Verifier("pencil", Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"));
        const serverKey = Buffer.from(v.split(":")[2], "base64");
        const authMessage =
            "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe(
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
    });
});

describe("node files", () => {
    test("node.env refuses values that a shell would interpret", () => {
        expect(nodeEnvFile({ A: "x y", B: 15 }).content).toBe('A="x y"\nB="15"\n');
        expect(() => nodeEnvFile({ A: "$(reboot)" })).toThrow("node.env value for A has characters outside");
    });

    test("the role script is valid bash", () => {
        expect(() =>
            execFileSync("bash", [
                "-n",
                path.join(__dirname, "..", "..", "components", "postgres", "node", "pgha-node.sh"),
            ]),
        ).not.toThrow();
    });
});
