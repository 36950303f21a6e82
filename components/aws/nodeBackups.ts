/**
 * Backups on EC2, as pure renderers: the pgBackRest settings of a cluster's {@link BackupBucket}
 * (credentials from the instance role, never a key), and the systemd timer that runs the role
 * script's `scheduled-backup` on every PostgreSQL node. The e2e test renders exactly these.
 */
import { ClusterConfig } from "../config";
import { BackupSettings, NODE_PATHS, NodeFile, ROLE_SCRIPT } from "../postgres";
import { pgbackrestS3RepoOptions } from "./backupBucket";

/** PGHA_ETC of the scheduled backup: its own node.env (database, interval), apart from the PostgreSQL role's. */
export const SCHEDULED_BACKUP_ETC = `${NODE_PATHS.etc}/backup`;

/** The oneshot service the timer starts. */
export const BACKUP_SERVICE_UNIT = "pgha-backup.service";

/** The timer, enabled on every PostgreSQL node. */
export const BACKUP_TIMER_UNIT = "pgha-backup.timer";

/**
 * Minutes between two checks of the timer. A check on the primary takes a backup only when the last
 * good one (in pgha.backup_runs, which every node replicates) is `backupIntervalHours` old, so the
 * schedule survives a failover and a failed backup is retried at the next check, not hours later.
 */
export const BACKUP_CHECK_INTERVAL_MINUTES = 10;

/** The repository prefix of a cluster inside its bucket: `<cluster>/`, also the IAM policy's scope. */
export function backupPrefixFor(clusterName: string): string {
    return `${clusterName}/`;
}

/**
 * The pgBackRest settings of an EC2 cluster: repository 1 in `bucketName` under `prefix`, through
 * the bucket's regional endpoint over verified TLS (virtual-host style), credentials from the
 * instance role (`repo1-s3-key-type=auto`, IMDSv2), schedule and retention from the config.
 */
export function awsBackupSettings(
    config: Pick<
        ClusterConfig,
        "backupRetentionDays" | "backupIntervalHours" | "backupFullIntervalDays" | "archiveTimeoutSeconds"
    >,
    bucketName: string,
    region: string,
    prefix: string,
): BackupSettings {
    const repo = pgbackrestS3RepoOptions(bucketName, region, prefix);
    return {
        repository: {
            endpoint: repo["repo1-s3-endpoint"],
            port: 443,
            bucket: repo["repo1-s3-bucket"],
            region: repo["repo1-s3-region"],
            path: repo["repo1-path"],
            uriStyle: "host",
            verifyTls: true,
            keyType: repo["repo1-s3-key-type"],
        },
        retentionDays: config.backupRetentionDays,
        intervalHours: config.backupIntervalHours,
        fullIntervalDays: config.backupFullIntervalDays,
        archiveTimeoutSeconds: config.archiveTimeoutSeconds,
    };
}

/**
 * The systemd units of scheduled backups: `pgha-backup.timer` starts `pgha-backup.service` two
 * minutes after boot (or after the timer is enabled) and then {@link BACKUP_CHECK_INTERVAL_MINUTES}
 * after each run ends; the service runs `pgha-node scheduled-backup`, which acts only where
 * PostgreSQL is the primary. A failed run leaves the service failed (`systemctl --failed`) and logs
 * `ERROR` in the journal; a run still going when the timer elapses is not started twice.
 */
export function backupTimerUnits(): NodeFile[] {
    return [
        {
            path: `/etc/systemd/system/${BACKUP_SERVICE_UNIT}`,
            content: `# Rendered by pgha: a pgBackRest backup when one is due, taken only on the node that is the primary.
[Unit]
Description=pgha scheduled backup (acts on the primary only)
Wants=network-online.target
After=network-online.target
RequiresMountsFor=/var/lib/postgresql

[Service]
Type=oneshot
Environment=PGHA_ETC=${SCHEDULED_BACKUP_ETC}
ExecStart=${ROLE_SCRIPT} scheduled-backup
# A full backup of a large database takes hours: never stop it for time.
TimeoutStartSec=infinity
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
`,
        },
        {
            path: `/etc/systemd/system/${BACKUP_TIMER_UNIT}`,
            content: `# Rendered by pgha: checks every ${BACKUP_CHECK_INTERVAL_MINUTES} minutes whether a backup is due.
[Unit]
Description=pgha scheduled backup check

[Timer]
OnActiveSec=2min
OnUnitInactiveSec=${BACKUP_CHECK_INTERVAL_MINUTES}min
AccuracySec=1min

[Install]
WantedBy=timers.target
`,
        },
    ];
}
