import { renderBootstrapSql } from "./bootstrapSql";
import { configFile, patroniScript, roleScript } from "./nodeFiles";
import { pgbouncerPlan, ClusterFacts, backupParts, merge, roleEnv, RolePlan, SecretNeed } from "./rolePlans";
import { PgbouncerSettings } from "./pgbouncerIni";
import { renderPgHba, renderPostgresqlConf } from "./postgresqlConf";
import {
    PATRONI_PATHS,
    patroniDynamicConfig,
    PatroniMember,
    renderPatroniConf,
    SynchronousChoice,
} from "./patroniConf";
import { NodeSpec } from "./topology";

/** What every role of an automatic-failover cluster shares besides {@link ClusterFacts}. */
export interface PatroniFacts {
    /** Patroni's scope: the cluster's name in the DCS. */
    readonly scope: string;
    /** etcd members' host names on the cluster network. */
    readonly etcdHosts: readonly string[];
    /** How writes behave under synchronous replication. */
    readonly sync: SynchronousChoice;
}

const VERIFIERS: readonly SecretNeed[] = (
    ["superuser", "replicator", "app", "pgbouncer_auth", "monitor"] as const
).map((credential) => ({ credential, form: "verifier" as const }));

/**
 * A PostgreSQL node run by Patroni: the same files on every node, so any member can lead. Patroni
 * bootstraps the first member when the DCS holds no cluster (initdb, then bootstrap.sql), clones
 * every other from the leader with its own slot, rewinds a former leader, and promotes a replica
 * when the leader's key expires. Secrets: the roles' SCRAM verifiers (bootstrap.sql), the
 * replicator's password (streaming, pg_rewind), the REST API's and Patroni's etcd password.
 */
export function patroniNodePlan(
    facts: ClusterFacts,
    patroni: PatroniFacts,
    node: NodeSpec,
    host: string,
): RolePlan {
    const member: PatroniMember = {
        scope: patroni.scope,
        // Patroni names the member's slot and application_name after it: `replica_1`.
        name: node.identity,
        host,
        etcdHosts: patroni.etcdHosts,
        pgMajor: facts.pgMajor,
    };
    return merge(backupParts(facts), {
        files: [
            roleScript(),
            patroniScript(),
            roleEnv(node.identity, "patroni", facts.pgMajor, { PGHA_HOST: host }),
            configFile("postgresql.conf", renderPostgresqlConf(facts.postgres, node, { underPatroni: true })),
            configFile("pg_hba.conf", renderPgHba(facts.clusterCidrs, facts.clientCidrs)),
            configFile("bootstrap.sql", renderBootstrapSql(facts.bootstrap)),
            { path: PATRONI_PATHS.conf, content: renderPatroniConf(member, facts.postgres, patroni.sync) },
            {
                path: PATRONI_PATHS.dynamic,
                content: JSON.stringify(patroniDynamicConfig(facts.postgres, patroni.sync)) + "\n",
            },
        ],
        secrets: [
            ...VERIFIERS,
            { credential: "replicator", form: "password" },
            { credential: "patroni_api", form: "password" },
            { credential: "etcd_patroni", form: "password" },
        ],
    });
}

/**
 * One etcd member of the DCS. The members know each other from the start (a static initial
 * cluster of host names); the first turns etcd's authentication on once the cluster has a quorum,
 * with root and a `patroni` user that may only touch Patroni's keys.
 */
export function etcdMemberPlan(
    facts: Pick<ClusterFacts, "pgMajor">,
    patroni: Pick<PatroniFacts, "scope" | "etcdHosts">,
    host: string,
): RolePlan {
    const first = host === patroni.etcdHosts[0];
    return {
        files: [
            roleScript(),
            patroniScript(),
            roleEnv(host, "etcd", facts.pgMajor, {
                PGHA_HOST: host,
                PGHA_ETCD_HOSTS: patroni.etcdHosts.join(" "),
                PGHA_ETCD_CLUSTER_TOKEN: patroni.scope,
                PGHA_ETCD_FIRST: first ? "1" : "0",
            }),
        ],
        // Only the first member manages users; the others hold no credential.
        secrets: first
            ? [
                  { credential: "etcd_root", form: "password" },
                  { credential: "etcd_patroni", form: "password" },
              ]
            : [],
    };
}

/**
 * PgBouncer following Patroni: read-write to the member the DCS names leader once it confirms it
 * itself, read-only over the members that stream within `readMaxLagBytes`; checked every second
 * through the members' REST API (no database login).
 */
export function patroniPgbouncerPlan(
    facts: ClusterFacts,
    settings: PgbouncerSettings,
    readMaxLagBytes: number,
): RolePlan {
    const plan = pgbouncerPlan(facts, settings);
    const members = [settings.primaryHost, ...settings.replicaHosts];
    return {
        files: [
            ...plan.files.filter((f) => !f.path.endsWith("/node.env")),
            patroniScript(),
            roleEnv("pgbouncer", "pgbouncer", facts.pgMajor, {
                PGHA_DATABASE: settings.databaseName,
                PGHA_RO_DATABASE: settings.readOnlyDatabaseName,
                PGHA_PRIMARY_HOST: settings.primaryHost,
                PGHA_READ_HOSTS: "",
                PGHA_MEMBER_HOSTS: members.join(" "),
                PGHA_READ_MAX_LAG_BYTES: String(readMaxLagBytes),
                PGHA_POSTGRES_PORT: "5432",
            }),
        ],
        secrets: plan.secrets,
    };
}
