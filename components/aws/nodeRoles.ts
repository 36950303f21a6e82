/**
 * Which roles each EC2 node runs, with their plans: the EC2 platform's composition of the
 * platform-neutral role plans. Pure, so the e2e test boots exactly what the program deploys.
 */
import { ClusterConfig } from "../config";
import {
    backupSchedulerPlan,
    BackupSettings,
    ClusterFacts,
    clusterNodes,
    NODE_PATHS,
    NodeSpec,
    PGBACKREST_PATHS,
    STANZA,
    pgbouncerPlan,
    postgresNodePlan,
    renderPgbackrestConf,
    RolePlan,
    sharedConfBackupServerPlan,
    slotsPlan,
} from "../postgres";
import { RoleOnNode } from "./nodeScript";
import { slotsParameterValue } from "./slotsDocument";

/** PGHA_ETC of a PgBouncer that shares the primary's instance: apart from the primary's /etc/pgha. */
export const COLOCATED_PGBOUNCER_ETC = `${NODE_PATHS.etc}/pgbouncer`;

/** PGHA_ETC of the pgBackRest TLS server beside each PostgreSQL node (`pgha:backupFromReplica`). */
export const BACKUP_SERVER_ETC = `${NODE_PATHS.etc}/backup-server`;

/** The nodes' fixed private addresses (their network interfaces'), known before any instance exists. */
export interface NodeAddresses {
    readonly primary: string;
    /** Replica i's address at index i - 1. */
    readonly replicas: readonly string[];
}

/** What every node of the cluster runs, and what the slot job needs. */
export interface Ec2Composition {
    readonly primary: RoleOnNode[];
    /** Replica i's roles at index i - 1. */
    readonly replicas: RoleOnNode[][];
    /** The PgBouncer instance's roles; absent when PgBouncer shares the primary's instance. */
    readonly pgbouncer?: RoleOnNode[];
    /** The slot job's plan, with no replica: the expected slots are the SSM association's parameter. */
    readonly slotJob: RolePlan;
    /** That parameter's value. */
    readonly expectedSlots: string;
    /**
     * What the backup timer of every PostgreSQL node runs (`pgha-node scheduled-backup`); absent when
     * backups are off. With `pgha:backupFromReplica` it carries no pgbackrest.conf of its own (each
     * node's PostgreSQL role writes the node's one, which names the other nodes) but the client key.
     */
    readonly scheduledBackup?: RolePlan;
}

/**
 * The facts every role shares on EC2: pg_hba admits the VPC's CIDR block, not Docker's `samenet`.
 * With `backup`, every PostgreSQL node gets pgbackrest.conf and WAL archiving (a replica archives
 * once promoted).
 */
export function ec2Facts(config: ClusterConfig, vpcCidr: string, backup?: BackupSettings): ClusterFacts {
    const postgres = backup
        ? { ...config, archive: { stanza: STANZA, timeoutSeconds: backup.archiveTimeoutSeconds } }
        : config;
    return {
        pgMajor: config.postgresVersion,
        postgres,
        bootstrap: config,
        clusterCidrs: [vpcCidr],
        clientCidrs: [vpcCidr],
        backup,
    };
}

/**
 * Composes the plans of every node: the primary (with PgBouncer in {@link COLOCATED_PGBOUNCER_ETC}
 * when `config.awsPgbouncerColocated`), each replica streaming from the primary's address, and
 * PgBouncer routing the read-write entry to the primary and the read-only one to the replicas.
 * With `backup` (awsBackupSettings), WAL archiving on every PostgreSQL node and the plan of their
 * backup timer.
 * @throws Error when the addresses do not match `config.replicas`.
 */
export function composeEc2Nodes(
    config: ClusterConfig,
    vpcCidr: string,
    addresses: NodeAddresses,
    backup?: BackupSettings,
): Ec2Composition {
    const nodes = clusterNodes(config.replicas);
    if (addresses.replicas.length !== nodes.replicas.length) {
        throw new Error(
            `${nodes.replicas.length} replicas but ${addresses.replicas.length} replica addresses`,
        );
    }
    if (config.backupFromReplica && !backup) {
        throw new Error("pgha:backupFromReplica needs backups on (pgha:backupEnabled true)");
    }
    const facts = ec2Facts(config, vpcCidr, backup);
    const colocated = config.awsPgbouncerColocated;
    const pgbouncer: RoleOnNode = {
        role: "pgbouncer",
        etc: colocated ? COLOCATED_PGBOUNCER_ETC : NODE_PATHS.etc,
        plan: pgbouncerPlan(facts, {
            ...config,
            readOnlyDatabaseName: `${config.databaseName}_ro`,
            primaryHost: addresses.primary,
            replicaHosts: [...addresses.replicas],
        }),
    };
    const postgresHosts = [addresses.primary, ...addresses.replicas];
    const postgresRoles = (node: NodeSpec, self: string): RoleOnNode[] => {
        const plan = postgresNodePlan(facts, node, { self, primary: addresses.primary });
        if (!config.backupFromReplica || !backup) {
            return [{ role: node.role, etc: NODE_PATHS.etc, plan }];
        }
        // The timer acts on whichever node is the primary, with itself as pg1: every other node is a standby it may copy from.
        const conf = renderPgbackrestConf(backup, {
            standbyHosts: postgresHosts.filter((h) => h !== self),
            tlsServer: true,
        });
        return [
            {
                role: node.role,
                etc: NODE_PATHS.etc,
                plan: {
                    ...plan,
                    files: plan.files.map((f) =>
                        f.path === PGBACKREST_PATHS.conf ? { ...f, content: conf } : f,
                    ),
                },
            },
            { role: "backup-server", etc: BACKUP_SERVER_ETC, plan: sharedConfBackupServerPlan(facts, node) },
        ];
    };
    return {
        primary: [...postgresRoles(nodes.primary, addresses.primary), ...(colocated ? [pgbouncer] : [])],
        replicas: nodes.replicas.map((node, i) => postgresRoles(node, addresses.replicas[i])),
        pgbouncer: colocated ? undefined : [pgbouncer],
        slotJob: slotsPlan(facts, [], addresses.primary),
        ...(backup ? { scheduledBackup: scheduledBackupPlan(facts, config) } : {}),
        expectedSlots: slotsParameterValue(nodes.replicas.map((r) => r.slotName)),
    };
}

/** The backup timer's plan; with backups from a replica, the node's pgbackrest.conf is the PostgreSQL role's, and the timer needs the client key. */
function scheduledBackupPlan(facts: ClusterFacts, config: ClusterConfig): RolePlan {
    const plan = backupSchedulerPlan(facts, config.databaseName, false);
    if (!config.backupFromReplica) {
        return plan;
    }
    return {
        files: plan.files.filter((f) => f.path !== PGBACKREST_PATHS.conf),
        secrets: [...plan.secrets, { credential: "pgbackrest_client_key", form: "password" }],
    };
}
