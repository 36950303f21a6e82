/**
 * The EC2 user data of a node: a `#!/bin/bash` script, rendered from the platform-neutral role
 * plans (components/postgres/rolePlans.ts), that installs PostgreSQL and PgBouncer, writes the
 * plans' files, fetches the secrets the plans need from Secrets Manager, mounts the data volume
 * and starts `pgha-node@<role>` under systemd. Pure functions: the e2e test renders and runs them.
 */
import { NodeFile, NODE_PATHS, PGBACKREST_PATHS, ROLE_SCRIPT, RolePlan } from "../postgres";
import { gzipDeterministic } from "./gzip";
import { BACKUP_TIMER_UNIT, backupTimerUnits, SCHEDULED_BACKUP_ETC } from "./nodeBackups";
import {
    relocatePlan,
    renderFileWrites,
    withoutCommentLines,
    renderSecretFetches,
    renderTlsCertificateFetches,
    RoleOnNode,
    SecretArns,
    SHELL_HELPERS,
    shellQuote,
} from "./nodeScript";

/** Where the data volume is mounted: the postgres user's home, holding PGDATA. */
export const DATA_MOUNT_POINT = "/var/lib/postgresql";

/** The systemd mount unit of {@link DATA_MOUNT_POINT}. */
export const DATA_MOUNT_UNIT = "var-lib-postgresql.mount";

/** The systemd template unit that runs the role script: `pgha-node@primary.service`, ... */
export const NODE_UNIT_TEMPLATE = "/etc/systemd/system/pgha-node@.service";

/** EC2's limit on user data, in bytes, before base64. */
export const USER_DATA_LIMIT = 16384;

/** What one node's bootstrap needs. */
export interface UserDataSpec {
    /** Cluster name, for the log. */
    readonly clusterName: string;
    /** Node name, e.g. `primary`, `replica-1`, `pgbouncer`. */
    readonly nodeName: string;
    /** AWS region (the aws CLI's default region, the SSM agent's bucket). */
    readonly region: string;
    /** PostgreSQL major version to install from apt.postgresql.org. */
    readonly postgresVersion: number;
    /** The roles this node runs: one, or primary plus a co-located PgBouncer. */
    readonly roles: readonly RoleOnNode[];
    /** Secrets Manager ARN of every credential (and of the pgBackRest TLS secrets when a plan needs them); only ARNs, never values, go into user data. */
    readonly secretArns: SecretArns;
    /** The EBS data volume mounted at /var/lib/postgresql; required when the node runs PostgreSQL. */
    readonly dataVolumeId?: string;
    /**
     * Scheduled backups (backupSchedulerPlan): its files go to {@link SCHEDULED_BACKUP_ETC}, and the
     * systemd timer {@link BACKUP_TIMER_UNIT} runs it. Only for a node that runs PostgreSQL; absent
     * when backups are off. Its only possible secret is pgBackRest's client key (backups from a replica).
     */
    readonly scheduledBackup?: RolePlan;
}

/** The udev path of an EBS volume on a Nitro instance: its NVMe serial is the volume id without the dash. */
export function ebsDevicePath(volumeId: string): string {
    if (!/^vol-[0-9a-z]+$/.test(volumeId)) {
        throw new Error(`${JSON.stringify(volumeId)} is not an EBS volume id such as vol-0123456789abcdef0`);
    }
    return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
}

/** The systemd unit template: the role script under systemd, restarted whenever it stops. */
export function nodeUnit(): NodeFile {
    return {
        path: NODE_UNIT_TEMPLATE,
        content: `# Rendered by pgha: one pgha node role (%i = primary, replica or pgbouncer).
[Unit]
Description=pgha node role %i
Wants=network-online.target
After=network-online.target
RequiresMountsFor=${DATA_MOUNT_POINT}
# Never give up: a replica retries its clone until the primary and its slot exist.
StartLimitIntervalSec=0

[Service]
Type=simple
EnvironmentFile=${NODE_PATHS.etc}/units/%i.env
ExecStart=${ROLE_SCRIPT} %i
Restart=always
RestartSec=5
# PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
KillSignal=SIGINT
KillMode=mixed
TimeoutStopSec=300

[Install]
WantedBy=multi-user.target
`,
    };
}

/** The environment file of `pgha-node@<role>`: which directory the role reads (PGHA_ETC). */
export function unitEnvFile(role: RoleOnNode): NodeFile {
    return { path: `${NODE_PATHS.etc}/units/${role.role}.env`, content: `PGHA_ETC=${role.etc}\n` };
}

/** Debian packages a node needs from apt.postgresql.org, by role; pgBackRest where a plan has its settings. */
export function pgdgPackages(roles: readonly RoleOnNode[], postgresVersion: number): string[] {
    const packages = new Set<string>();
    for (const r of roles) {
        if (r.plan.files.some((f) => f.path === PGBACKREST_PATHS.conf)) {
            packages.add("pgbackrest");
        }
        if (r.role === "pgbouncer") {
            packages.add(`postgresql-client-${postgresVersion}`).add("pgbouncer");
        } else if (r.role === "backup-server") {
            packages.add("pgbackrest");
        } else {
            packages.add(`postgresql-${postgresVersion}`).add(`postgresql-client-${postgresVersion}`);
        }
    }
    return [...packages].sort();
}

function validate(spec: UserDataSpec): void {
    if (spec.roles.length === 0) {
        throw new Error(`node ${spec.nodeName} has no role`);
    }
    const etcs = spec.roles.map((r) => r.etc);
    if (
        new Set(etcs).size !== etcs.length ||
        new Set(spec.roles.map((r) => r.role)).size !== spec.roles.length
    ) {
        throw new Error(
            `node ${spec.nodeName}: each role needs its own role name and directory, got ${spec.roles.map((r) => `${r.role}:${r.etc}`).join(", ")}`,
        );
    }
    const runsPostgres = spec.roles.some((r) => r.role === "primary" || r.role === "replica");
    if (runsPostgres && !spec.dataVolumeId) {
        throw new Error(`node ${spec.nodeName} runs PostgreSQL and needs a data volume`);
    }
    if (spec.roles.some((r) => r.role === "backup-server") && !runsPostgres) {
        throw new Error(
            `node ${spec.nodeName} runs no PostgreSQL: a pgBackRest TLS server belongs beside one`,
        );
    }
    if (spec.scheduledBackup && !runsPostgres) {
        throw new Error(
            `node ${spec.nodeName} runs no PostgreSQL: scheduled backups belong on PostgreSQL nodes`,
        );
    }
    const backupSecrets =
        spec.scheduledBackup?.secrets.filter((s) => s.credential !== "pgbackrest_client_key") ?? [];
    if (backupSecrets.length > 0) {
        // EC2 nodes reach the bucket with their instance role; no S3 key is ever shipped to them.
        throw new Error(
            `node ${spec.nodeName}: scheduled backups on EC2 take no secret but pgBackRest's client key (repo1-s3-key-type=auto), got ${backupSecrets.map((s) => s.credential).join(", ")}`,
        );
    }
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(spec.region)) {
        throw new Error(`${JSON.stringify(spec.region)} is not an AWS region`);
    }
}

/**
 * Renders the user data script of a node. Its only contacts with the outside world are `apt-get`
 * (Debian and apt.postgresql.org), `aws` (Secrets Manager, the SSM agent package) and
 * `systemctl`, so a test can put fakes of those first on PATH. It holds no secret, only ARNs.
 * @throws Error when the spec is inconsistent (no role, shared directories, PostgreSQL without a data volume).
 */
export function renderUserData(spec: UserDataSpec): string {
    validate(spec);
    const roles = spec.roles.map((r) => ({ ...r, plan: relocatePlan(r.plan, r.etc) }));
    const hasPgbouncer = roles.some((r) => r.role === "pgbouncer");
    const scheduledBackup = spec.scheduledBackup
        ? relocatePlan(spec.scheduledBackup, SCHEDULED_BACKUP_ETC)
        : undefined;
    const backupFiles = scheduledBackup ? [...scheduledBackup.files, ...backupTimerUnits()] : [];
    const secretFetches = [
        ...roles.map((r) => renderSecretFetches(r.plan.secrets, spec.secretArns, r.etc)),
        ...(scheduledBackup && scheduledBackup.secrets.length > 0
            ? [renderSecretFetches(scheduledBackup.secrets, spec.secretArns, SCHEDULED_BACKUP_ETC)]
            : []),
        renderTlsCertificateFetches(
            [...roles.flatMap((r) => r.plan.secrets), ...(scheduledBackup?.secrets ?? [])],
            spec.secretArns,
        ),
    ].filter((f) => f !== "");
    // The role script is most of the user data: its comments stay in the repository (EC2's 16 KB).
    const files = [
        ...roles.flatMap((r) => r.plan.files),
        ...roles.map(unitEnvFile),
        nodeUnit(),
        ...backupFiles,
    ].map((f) =>
        f.path === ROLE_SCRIPT && typeof f.content === "string"
            ? { ...f, content: withoutCommentLines(f.content) }
            : f,
    );
    const units = roles.map((r) => `pgha-node@${r.role}.service`).join(" ");
    const indent = (text: string) => text.replace(/^(?=.)/gm, "  ");

    const installPackages = `install_packages() {
  retry apt_get update
  retry apt_get install ca-certificates postgresql-common awscli perl
  # No Debian default cluster: the role script runs initdb in its own data directory.
  echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  # The PostgreSQL apt repository (pgdg), signed by the key postgresql-common ships.
  . /etc/os-release
  echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt \${VERSION_CODENAME}-pgdg main" >/etc/apt/sources.list.d/pgdg.list
  retry apt_get update
  retry apt_get install ${pgdgPackages(spec.roles, spec.postgresVersion).join(" ")}
${hasPgbouncer ? "  # Debian's own PgBouncer service would hold port 6432.\n  systemctl mask --now pgbouncer.service\n" : ""}  # The SSM agent (Session Manager, Run Command) is not part of the Debian AMI.
  retry aws s3 cp --no-sign-request --only-show-errors "s3://amazon-ssm-\${AWS_DEFAULT_REGION}/latest/debian_$(dpkg --print-architecture)/amazon-ssm-agent.deb" /tmp/amazon-ssm-agent.deb
  retry apt_get install /tmp/amazon-ssm-agent.deb
  systemctl enable --now amazon-ssm-agent.service
}`;

    const mount = spec.dataVolumeId
        ? `
# The data volume, found by its EBS volume id and formatted on first use (x-systemd.makefs leaves
# a volume that has a file system alone): a replacement instance finds the same data.
mount_data_volume() {
  if ! grep -qs ' ${DATA_MOUNT_POINT} ' /etc/fstab; then
    echo '${ebsDevicePath(spec.dataVolumeId)} ${DATA_MOUNT_POINT} ext4 defaults,noatime,nofail,x-systemd.makefs,x-systemd.device-timeout=10min 0 2' >>/etc/fstab
  fi
  systemctl daemon-reload
  systemctl start ${DATA_MOUNT_UNIT}
  chown postgres:postgres ${DATA_MOUNT_POINT}
}
`
        : "";

    return `#!/bin/bash
# pgha node bootstrap: ${spec.nodeName} of ${spec.clusterName} (${spec.roles.map((r) => r.role).join(", ")}). Rendered by the Pulumi program.
# No password or verifier is in here: the node fetches them from Secrets Manager with its role.
# It reaches the outside world only through apt-get, aws and systemctl.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive AWS_DEFAULT_REGION=${shellQuote(spec.region)}
umask 022

${SHELL_HELPERS}

apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends "$@"; }

${installPackages}

# Here-documents are not indented: their lines are the files' exact contents.
write_files() {
${renderFileWrites(files)}
}

fetch_secrets() {
${indent(secretFetches.join("\n"))}
}
${mount}
start_units() {
  systemctl daemon-reload
  systemctl enable --now ${units}
${spec.scheduledBackup ? `  # Backups: checked every few minutes on every PostgreSQL node, taken on the primary only.\n  systemctl enable --now ${BACKUP_TIMER_UNIT}\n` : ""}}

main() {
  log "bootstrapping ${spec.nodeName} of ${spec.clusterName}"
  install_packages
  write_files
  fetch_secrets
${spec.dataVolumeId ? "  mount_data_volume\n" : ""}  start_units
  log "${spec.nodeName} is up: ${units}"
}

main "$@"
`;
}

/**
 * User data as EC2 takes it (`userDataBase64`): the script gzip-compressed, which cloud-init
 * unpacks, because the primary's script is larger than EC2's 16 KB. Deterministic (see gzip.ts),
 * so an unchanged script never replaces an instance.
 * @throws Error when even the compressed script exceeds 16 KB.
 */
export function encodeUserData(script: string): string {
    const compressed = gzipDeterministic(Buffer.from(script, "utf8"));
    if (compressed.length > USER_DATA_LIMIT) {
        throw new Error(
            `user data is ${compressed.length} bytes compressed, above EC2's limit of ${USER_DATA_LIMIT}`,
        );
    }
    return compressed.toString("base64");
}
