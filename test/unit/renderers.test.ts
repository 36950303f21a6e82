import { execFileSync } from "child_process";
import * as path from "path";
import {
    clusterNodes,
    deriveSalt,
    nodeEnvFile,
    renderBootstrapSql,
    renderPgbouncerIni,
    renderPgHba,
    renderPostgresqlConf,
    scramSha256Verifier,
    WAL_SENDERS,
} from "../../components/postgres";

const settings = { maxConnections: 200, synchronousMode: "off" as const, walKeepSizeMb: 512, maxSlotWalKeepSizeMb: 8192 };
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

    test("replica: streams from the primary through its own slot and follows new timelines", () => {
        const conf = renderPostgresqlConf(settings, nodes.replicas[1], "db-primary");
        expect(conf).toContain(
            "primary_conninfo = 'host=db-primary port=5432 user=replicator passfile=/run/pgha/pgpass application_name=replica_2 connect_timeout=5 keepalives_idle=10'",
        );
        expect(conf).toContain("primary_slot_name = 'pgha_replica_2'");
        expect(conf).toContain("recovery_target_timeline = 'latest'");
        expect(conf).toContain("cluster_name = 'replica_2'");
    });

    test("a replica without an upstream is a programming error", () => {
        expect(() => renderPostgresqlConf(settings, nodes.replicas[0])).toThrow("replica replica-1 needs an upstream host and a slot name");
    });

    test.each([
        ["off", "synchronous_standby_names = ''"],
        ["any1", "synchronous_standby_names = 'ANY 1 (*)'"],
    ] as const)("synchronous mode %s", (mode, line) => {
        expect(renderPostgresqlConf({ ...settings, synchronousMode: mode }, nodes.primary)).toContain(line);
    });
});

describe("pg_hba.conf", () => {
    test("replication only for the replicator from the cluster networks; SCRAM only; no trust", () => {
        const hba = renderPgHba(["10.0.1.0/24", "10.0.2.0/24"], ["10.0.0.0/16"]);
        const rows = hba.split("\n").filter((l) => l && !l.startsWith("#"));
        expect(rows).toEqual([
            "local all postgres peer",
            "local all all scram-sha-256",
            "host replication replicator 10.0.1.0/24 scram-sha-256",
            "host replication replicator 10.0.2.0/24 scram-sha-256",
            "host postgres replicator 10.0.1.0/24 scram-sha-256",
            "host postgres replicator 10.0.2.0/24 scram-sha-256",
            "host all replicator all reject",
            "host replication all all reject",
            "host all all 10.0.0.0/16 scram-sha-256",
        ]);
        expect(hba).not.toMatch(/\btrust\b|\bmd5\b|\bpassword\b/);
    });
});

describe("pgbouncer.ini", () => {
    const base = { databaseName: "shop", readOnlyDatabaseName: "shop_ro", primaryHost: "p", poolMode: "transaction" as const, poolSize: 20, maxClientConnections: 500 };

    test.each([
        [["r1", "r2"], "shop_ro = host=r1,r2 port=5432 dbname=shop"],
        [[], "shop_ro = host=p port=5432 dbname=shop"],
    ])("read-only entry for replicas %j", (replicaHosts, line) => {
        const ini = renderPgbouncerIni({ ...base, replicaHosts });
        expect(ini).toContain(line);
        expect(ini).toContain("shop = host=p port=5432 dbname=shop");
    });

    test("SCRAM through auth_query; no application password in its files", () => {
        const ini = renderPgbouncerIni({ ...base, replicaHosts: ["r1"] });
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
        expect(sql).toContain("ALTER ROLE replicator WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'replicator_password';");
        expect(sql).toContain("ALTER ROLE shop_user WITH LOGIN NOSUPERUSER NOREPLICATION PASSWORD :'app_password';");
        expect(sql).toContain("CREATE DATABASE shop OWNER shop_user;");
        expect(sql).toContain("WHERE usename = p_usename AND NOT usesuper AND NOT userepl");
        expect(sql).not.toMatch(/PASSWORD '/);
        expect(sql.match(/CREATE ROLE/g)).toHaveLength(4);
        expect(sql.match(/\\if :role_missing/g)).toHaveLength(4);
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
        expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    });
});

describe("node files", () => {
    test("node.env refuses values that a shell would interpret", () => {
        expect(nodeEnvFile({ A: "x y", B: 15 }).content).toBe('A="x y"\nB="15"\n');
        expect(() => nodeEnvFile({ A: "$(reboot)" })).toThrow("node.env value for A has characters outside");
    });

    test("the role script is valid bash", () => {
        expect(() => execFileSync("bash", ["-n", path.join(__dirname, "..", "..", "components", "postgres", "node", "pgha-node.sh")])).not.toThrow();
    });
});
