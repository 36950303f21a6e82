import { renderBootstrapSql, BootstrapSettings } from "./bootstrapSql";
import { configFile, nodeEnvFile, NodeFile, roleScript } from "./nodeFiles";
import { renderPgbouncerIni, PgbouncerSettings } from "./pgbouncerIni";
import { NODE_PATHS, PostgresSettings, renderPgHba, renderPostgresqlConf } from "./postgresqlConf";
import { NodeSpec } from "./topology";
import type { CredentialName } from "../secrets/replicationSecrets";

/** A secret a role needs in /etc/pgha/secrets: the password itself, or only its SCRAM verifier. */
export interface SecretNeed {
    readonly credential: CredentialName;
    readonly form: "password" | "verifier";
}

/** Everything one node needs, whatever the platform: non-secret files, and the secrets to add. */
export interface RolePlan {
    readonly files: NodeFile[];
    readonly secrets: SecretNeed[];
}

/** Facts shared by every role of a cluster. */
export interface ClusterFacts {
    /** PostgreSQL major version (the binaries' directory). */
    readonly pgMajor: number;
    readonly postgres: PostgresSettings;
    readonly bootstrap: BootstrapSettings;
    /** Networks the nodes replicate over (pg_hba `samenet` on Docker, the VPC CIDR on AWS). */
    readonly clusterCidrs: readonly string[];
    /** Networks clients and PgBouncer connect from. */
    readonly clientCidrs: readonly string[];
}

function env(node: string, role: string, pgMajor: number, extra: Record<string, string> = {}): NodeFile {
    return nodeEnvFile({ PGHA_NODE: node, PGHA_ROLE: role, PG_MAJOR: pgMajor, PGDATA: NODE_PATHS.pgdata, ...extra });
}

/** The primary: initdb on first start, bootstrap SQL on every start. Stores verifiers only, no password. */
export function primaryPlan(facts: ClusterFacts, node: NodeSpec): RolePlan {
    return {
        files: [
            roleScript(),
            env(node.identity, "primary", facts.pgMajor),
            configFile("postgresql.conf", renderPostgresqlConf(facts.postgres, node)),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
            configFile("bootstrap.sql", renderBootstrapSql(facts.bootstrap)),
        ],
        secrets: (["superuser", "replicator", "app", "pgbouncer_auth", "monitor"] as const).map((credential) => ({ credential, form: "verifier" as const })),
    };
}

/** A replica: pg_basebackup from the primary through its own slot on first start, then streaming. */
export function replicaPlan(facts: ClusterFacts, node: NodeSpec, primaryHost: string): RolePlan {
    return {
        files: [
            roleScript(),
            env(node.identity, "replica", facts.pgMajor, { PGHA_PRIMARY_HOST: primaryHost, PGHA_SLOT: node.slotName ?? "" }),
            configFile("postgresql.conf", renderPostgresqlConf(facts.postgres, node, primaryHost)),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
        ],
        secrets: [{ credential: "replicator", form: "password" }],
    };
}

/** PgBouncer: only its auth user's password, which it needs to look up client verifiers. */
export function pgbouncerPlan(facts: ClusterFacts, settings: PgbouncerSettings): RolePlan {
    return {
        files: [roleScript(), env("pgbouncer", "pgbouncer", facts.pgMajor), configFile("pgbouncer.ini", renderPgbouncerIni(settings))],
        secrets: [{ credential: "pgbouncer_auth", form: "password" }],
    };
}

/** The slot job: makes the primary's pgha_ slots exactly those of `replicas`. */
export function slotsPlan(facts: ClusterFacts, replicas: readonly NodeSpec[], primaryHost: string): RolePlan {
    const slots = replicas.map((r) => r.slotName ?? "").join(" ");
    return {
        files: [roleScript(), env("slots", "reconcile-slots", facts.pgMajor, { PGHA_PRIMARY_HOST: primaryHost, PGHA_EXPECTED_SLOTS: slots })],
        secrets: [{ credential: "replicator", form: "password" }],
    };
}
