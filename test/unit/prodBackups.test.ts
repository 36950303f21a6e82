/**
 * Backups on the prod stack (Pulumi.prod.yaml, platform aws) under mocks, on the real index.ts: the
 * bucket and its settings, lifecycle days from the config, the nodes' IAM access to exactly this
 * bucket and prefix, pgBackRest with instance-role credentials and the backup timer in every
 * PostgreSQL node's user data, no secret anywhere, and nothing of it when backups are off.
 */
import { USER_DATA_LIMIT } from "../../components/aws";
import { isSecret, RecordedResource, runProgram } from "./support/programMocks";
import {
    named,
    ofType,
    prod,
    secretValues,
    userData,
    withoutRoleScript,
    writtenFile,
} from "./support/prodRun";

const T = {
    bucket: "aws:s3/bucket:Bucket",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    key: "aws:kms/key:Key",
    alias: "aws:kms/alias:Alias",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    instance: "aws:ec2/instance:Instance",
    document: "aws:ssm/document:Document",
} as const;

const BACKUP_TYPES = [
    T.bucket,
    T.versioning,
    T.encryption,
    T.publicAccess,
    T.ownership,
    T.bucketPolicy,
    T.lifecycle,
];
const TAGS = {
    Name: "pgha-prod-backups",
    "pgha:cluster": "pgha-prod",
    "pgha:role": "backup",
    "pgha:stack": "prod",
};

/** The repository's bucket as the mocks name it (`<name>-<7 hex>`), read from the recorded state. */
const bucketOf = (resources: RecordedResource[]) =>
    named(resources, T.bucket, "pgha-prod-backups").state as { bucket: string; arn: string };

/** pgbackrest.conf of every PostgreSQL node: the bucket's regional endpoint, the cluster's prefix, instance-role credentials. */
const expectedPgbackrestConf = (bucket: string, retentionDays = 30) => `# Rendered by pgha.
[global]
repo1-type=s3
repo1-s3-endpoint=s3.eu-west-1.amazonaws.com
repo1-storage-port=443
repo1-s3-bucket=${bucket}
repo1-s3-region=eu-west-1
repo1-s3-uri-style=host
repo1-s3-key-type=auto
repo1-storage-verify-tls=y
repo1-path=/pgha-prod
repo1-retention-full-type=time
repo1-retention-full=${retentionDays}
compress-type=zst
process-max=2
start-fast=y
io-timeout=10
archive-async=n
log-level-console=info
log-level-file=off

[main]
pg1-path=/var/lib/postgresql/data/pgdata
pg1-socket-path=/var/run/postgresql
`;

const TIMER = `# Rendered by pgha: checks every 10 minutes whether a backup is due.
[Unit]
Description=pgha scheduled backup check

[Timer]
OnActiveSec=2min
OnUnitInactiveSec=10min
AccuracySec=1min

[Install]
WantedBy=timers.target
`;

const SERVICE = `# Rendered by pgha: a pgBackRest backup when one is due, taken only on the node that is the primary.
[Unit]
Description=pgha scheduled backup (acts on the primary only)
Wants=network-online.target
After=network-online.target
RequiresMountsFor=/var/lib/postgresql

[Service]
Type=oneshot
Environment=PGHA_ETC=/etc/pgha/backup
ExecStart=/etc/pgha/bin/pgha-node scheduled-backup
# A full backup of a large database takes hours: never stop it for time.
TimeoutStartSec=infinity
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
`;

describe("backups on the prod stack (AWS)", () => {
    test("the bucket: versioned, encrypted with its own rotated KMS key, public access blocked, owner enforced, TLS only, kept on destroy", async () => {
        const { resources } = await prod();
        for (const type of [...BACKUP_TYPES, T.alias]) {
            expect([
                type,
                ofType(resources, type).filter((r) => r.name.startsWith("pgha-prod-backups")).length,
            ]).toEqual([type, 1]);
        }
        const { bucket, arn } = bucketOf(resources);
        expect(bucket).toMatch(/^pgha-prod-backups-[0-9a-f]{7}$/);
        expect(named(resources, T.bucket, "pgha-prod-backups").inputs).toEqual({
            forceDestroy: false,
            tags: TAGS,
        });
        const key = named(resources, T.key, "pgha-prod-backups-key");
        expect(key.inputs).toEqual({
            description: "pgBackRest backups in pgha-prod-backups",
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags: TAGS,
        });
        expect(named(resources, T.versioning, "pgha-prod-backups-versioning").inputs).toEqual({
            bucket,
            versioningConfiguration: { status: "Enabled" },
        });
        expect(named(resources, T.encryption, "pgha-prod-backups-encryption").inputs).toEqual({
            bucket,
            rules: [
                {
                    applyServerSideEncryptionByDefault: {
                        sseAlgorithm: "aws:kms",
                        kmsMasterKeyId: key.state.arn,
                    },
                    bucketKeyEnabled: true,
                },
            ],
        });
        expect(named(resources, T.publicAccess, "pgha-prod-backups-public-access").inputs).toEqual({
            bucket,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(named(resources, T.ownership, "pgha-prod-backups-ownership").inputs).toEqual({
            bucket,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        });
        expect(
            JSON.parse(named(resources, T.bucketPolicy, "pgha-prod-backups-tls-only").inputs.policy),
        ).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [arn, `${arn}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        });
    });

    test.each([
        [{}, 44, "pgha-prod/"],
        [{ backupRetentionDays: 14, backupFullIntervalDays: 3 }, 24, "pgha-prod/"],
        [{ backupRetentionDays: 3600, backupFullIntervalDays: 50 }, 3657, "pgha-prod/"],
    ])(
        "lifecycle from the config %j: backups expire after retention + full interval + 7 days (%i), under the cluster's prefix",
        async (overrides, days, prefix) => {
            const { resources } = await prod(overrides);
            const { bucket } = bucketOf(resources);
            expect(named(resources, T.lifecycle, "pgha-prod-backups-lifecycle").inputs).toEqual({
                bucket,
                rules: [
                    {
                        id: "expire-old-backups",
                        status: "Enabled",
                        filter: { and: { prefix, objectSizeGreaterThan: 16384 } },
                        expiration: { days },
                    },
                    {
                        id: "housekeeping",
                        status: "Enabled",
                        filter: { prefix },
                        expiration: { expiredObjectDeleteMarker: true },
                        noncurrentVersionExpiration: { noncurrentDays: 7 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            });
            // pgBackRest's own retention is the configured one.
            const retention = (overrides as { backupRetentionDays?: number }).backupRetentionDays ?? 30;
            expect(
                writtenFile(
                    userData(named(resources, T.instance, "pgha-prod-primary")),
                    "/etc/pgbackrest/pgbackrest.conf",
                ),
            ).toContain(`\nrepo1-retention-full=${retention}\n`);
        },
    );

    test("a retention the bucket cannot keep fails before any resource is declared, naming the keys", async () => {
        const error = await runProgram("prod", { backupRetentionDays: 3650, backupFullIntervalDays: 7 }).then(
            () => undefined,
            (e: Error & { resources?: RecordedResource[] }) => e,
        );
        expect(error?.message).toContain(
            "pgha:backupRetentionDays (3650) + pgha:backupFullIntervalDays (7) must be at most 3650 days on platform aws",
        );
        expect(error?.resources?.filter((r) => r.custom)).toEqual([]);
    });

    test("the node role may list, read, write and delete only under this bucket's prefix and use only its key; nothing wider anywhere", async () => {
        const { resources } = await prod();
        const { arn } = bucketOf(resources);
        const role = named(resources, T.role, "pgha-prod-node");
        const access = named(resources, T.rolePolicy, "pgha-prod-backups-node-access");
        expect(access.inputs.role).toBe(role.id);
        expect(JSON.parse(access.inputs.policy)).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ListBackupRepository",
                    Effect: "Allow",
                    Action: "s3:ListBucket",
                    Resource: arn,
                    Condition: { StringLike: { "s3:prefix": "pgha-prod/*" } },
                },
                {
                    Sid: "ReadWriteBackupRepository",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    Resource: `${arn}/pgha-prod/*`,
                },
                {
                    Sid: "UseBackupKey",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
                    Resource: named(resources, T.key, "pgha-prod-backups-key").state.arn,
                },
            ],
        });
        // Exactly two inline policies on the role (credentials, backups); no statement of either grants a wildcard.
        expect(
            ofType(resources, T.rolePolicy)
                .map((p) => p.name)
                .sort(),
        ).toEqual(["pgha-prod-backups-node-access", "pgha-prod-node-credentials"]);
        for (const policy of ofType(resources, T.rolePolicy)) {
            for (const s of JSON.parse(policy.inputs.policy).Statement) {
                const actions = [s.Action].flat();
                const targets = [s.Resource].flat();
                expect([
                    policy.name,
                    s.Sid,
                    actions.some((a: string) => a === "*" || a.endsWith(":*")),
                    targets.some((r: string) => r === "*" || r === "arn:aws:s3:::*"),
                ]).toEqual([policy.name, s.Sid, false, false]);
                // Every S3 grant is on this bucket: the bucket itself (listing, limited by prefix) or objects under the prefix.
                if (actions.some((a: string) => a.startsWith("s3:"))) {
                    expect(targets.every((r: string) => r === arn || r === `${arn}/pgha-prod/*`)).toBe(true);
                }
            }
        }
    });

    test("every PostgreSQL node gets pgbackrest.conf (instance-role credentials), WAL archiving, the backup timer and pgBackRest; PgBouncer's node none of it", async () => {
        const { resources } = await prod();
        const { bucket } = bucketOf(resources);
        for (const node of ["primary", "replica-1", "replica-2"]) {
            const script = userData(named(resources, T.instance, `pgha-prod-${node}`));
            expect([node, writtenFile(script, "/etc/pgbackrest/pgbackrest.conf")]).toEqual([
                node,
                expectedPgbackrestConf(bucket),
            ]);
            expect([node, writtenFile(script, "/etc/systemd/system/pgha-backup.timer")]).toEqual([
                node,
                TIMER,
            ]);
            expect([node, writtenFile(script, "/etc/systemd/system/pgha-backup.service")]).toEqual([
                node,
                SERVICE,
            ]);
            expect([node, writtenFile(script, "/etc/pgha/backup/node.env")]).toEqual([
                node,
                'PGHA_NODE="backup"\nPGHA_ROLE="backup-scheduler"\nPG_MAJOR="16"\nPGDATA="/var/lib/postgresql/data/pgdata"\nPGHA_DATABASE="app"\nPGHA_BACKUP_INTERVAL_HOURS="6"\nPGHA_BACKUP_FULL_INTERVAL_DAYS="7"\nPGHA_S3_CREATE_BUCKET="0"\n',
            ]);
            expect([node, script]).toEqual([
                node,
                expect.stringContaining("\n  systemctl enable --now pgha-backup.timer\n"),
            ]);
            expect([node, script]).toEqual([
                node,
                expect.stringContaining(
                    "\n  retry apt_get install pgbackrest postgresql-16 postgresql-client-16\n",
                ),
            ]);
            const conf = writtenFile(script, "/etc/pgha/postgresql.conf");
            expect([node, conf]).toEqual([
                node,
                expect.stringContaining(
                    "\narchive_mode = on\narchive_command = 'timeout 120 pgbackrest --stanza=main --archive-push-queue-max=4294967296 archive-push %p'\narchive_timeout = 60\n",
                ),
            ]);
            // The role script the timer runs has the primary-only entry point.
            expect([node, script]).toEqual([
                node,
                expect.stringContaining("\n  scheduled-backup) run_scheduled_backup ;;\n"),
            ]);
        }
        const pgbouncer = userData(named(resources, T.instance, "pgha-prod-pgbouncer"));
        expect(writtenFile(pgbouncer, "/etc/pgbackrest/pgbackrest.conf")).toBeUndefined();
        expect(pgbouncer).not.toContain("pgha-backup");
        expect(pgbouncer).toContain("\n  retry apt_get install pgbouncer postgresql-client-16\n");
        // Co-located PgBouncer: the primary's instance still gets one timer, the pgbouncer role no backup files of its own.
        const colocated = await prod({ awsPgbouncerColocated: true });
        const primary = userData(named(colocated.resources, T.instance, "pgha-prod-primary"));
        expect(primary.split("systemctl enable --now pgha-backup.timer").length - 1).toBe(1);
        expect(writtenFile(primary, "/etc/pgbackrest/pgbackrest.conf")).toEqual(
            expectedPgbackrestConf(bucketOf(colocated.resources).bucket),
        );
    });

    test("no S3 key, password or verifier in any user data or SSM document; nodes fetch no backup secret", async () => {
        for (const overrides of [{}, { awsPgbouncerColocated: true }]) {
            const { resources } = await prod(overrides);
            const texts = [
                ...ofType(resources, T.instance).map(
                    (i) => [i.name, withoutRoleScript(userData(i))] as const,
                ),
                ...ofType(resources, T.document).map((d) => [d.name, d.inputs.content as string] as const),
            ];
            expect(texts.length).toBeGreaterThanOrEqual(4);
            for (const [name, text] of texts) {
                for (const v of secretValues()) {
                    expect([name, text.includes(v)]).toEqual([name, false]);
                }
                for (const pattern of [
                    /repo1-s3-key(-secret)?=/,
                    /s3_key/,
                    /AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|aws_secret_access_key/,
                    /AKIA[0-9A-Z]{16}/,
                    /SCRAM-SHA-256\$/,
                ]) {
                    expect([name, pattern.source, pattern.test(text)]).toEqual([name, pattern.source, false]);
                }
            }
            // The only secrets a PostgreSQL node fetches are the cluster's credentials, never a backup key.
            const primary = userData(named(resources, T.instance, "pgha-prod-primary"));
            const fetched = [...primary.matchAll(/retry fetch_secret '[^']+' \w+ '([^']+)'$/gm)].map(
                (m) => m[1],
            );
            expect(fetched.length).toBeGreaterThan(0);
            expect(
                fetched.filter(
                    (f) =>
                        !/^\/etc\/pgha\/(pgbouncer\/)?secrets\/(superuser|replicator|app|pgbouncer_auth|monitor)(_verifier)?\.password$/.test(
                            f,
                        ),
                ),
            ).toEqual([]);
        }
    });

    test("user data stays under EC2's 16 KB (gzip'd) with backups on, for every node layout", async () => {
        const sizes: Record<string, number> = {};
        for (const overrides of [{}, { awsPgbouncerColocated: true }]) {
            const { resources } = await prod(overrides);
            for (const i of ofType(resources, T.instance)) {
                const bytes = Buffer.from(i.inputs.userDataBase64, "base64").length;
                sizes[`${i.name}${"awsPgbouncerColocated" in overrides ? " (co-located)" : ""}`] = bytes;
                expect([i.name, bytes < USER_DATA_LIMIT]).toEqual([i.name, true]);
            }
        }
        const off = await prod({ awsPgbouncerColocated: true, backupEnabled: false });
        const offPrimary = Buffer.from(
            named(off.resources, T.instance, "pgha-prod-primary").inputs.userDataBase64,
            "base64",
        ).length;
        // What backups add to the largest user data (the co-located primary): the settings, the units, their node.env.
        expect(sizes["pgha-prod-primary (co-located)"] - offPrimary).toBeLessThan(1024);
        console.log(
            `[prodBackups] user data sizes (gzip'd bytes): ${JSON.stringify(sizes)}; co-located primary without backups: ${offPrimary}`,
        );
    });

    test("outputs: the backup summary names the bucket, its ARN and key; backupAccess the PostgreSQL nodes' instance ids; nothing secret", async () => {
        const { resources, outputs } = await prod();
        const { bucket, arn } = bucketOf(resources);
        const keyArn = named(resources, T.key, "pgha-prod-backups-key").state.arn;
        expect(outputs.backup).toEqual({
            secret: false,
            value: {
                stanza: "main",
                intervalHours: 6,
                fullIntervalDays: 7,
                retentionDays: 30,
                archiveTimeoutSeconds: 60,
                repository: {
                    endpoint: "s3.eu-west-1.amazonaws.com",
                    port: 443,
                    bucket,
                    region: "eu-west-1",
                    path: "/pgha-prod",
                    bucketArn: arn,
                    kmsKeyArn: keyArn,
                },
            },
        });
        const id = (n: string) => named(resources, T.instance, `pgha-prod-${n}`).id;
        expect(outputs.backupAccess).toEqual({
            secret: false,
            value: {
                platform: "aws",
                region: "eu-west-1",
                bucketName: bucket,
                bucketArn: arn,
                kmsKeyArn: keyArn,
                postgresInstanceIds: {
                    primary: id("primary"),
                    "replica-1": id("replica-1"),
                    "replica-2": id("replica-2"),
                },
                roleScript: "/etc/pgha/bin/pgha-node",
                etc: "/etc/pgha/backup",
                scheduledService: "pgha-backup.service",
                stanza: "main",
            },
        });
    });

    test("backupEnabled false: no bucket, backup key, policy or timer; archiving off; no backup outputs", async () => {
        const { resources, outputs } = await prod({ backupEnabled: false });
        for (const type of BACKUP_TYPES) {
            expect([type, ofType(resources, type)]).toEqual([type, []]);
        }
        expect(resources.filter((r) => r.name.startsWith("pgha-prod-backups"))).toEqual([]);
        expect(ofType(resources, T.key).map((k) => k.name)).toEqual(["pgha-prod-credentials-key"]);
        expect(ofType(resources, T.rolePolicy).map((p) => p.name)).toEqual(["pgha-prod-node-credentials"]);
        for (const i of ofType(resources, T.instance)) {
            const script = withoutRoleScript(userData(i));
            expect([i.name, script.includes("pgha-backup"), script.includes("pgbackrest")]).toEqual([
                i.name,
                false,
                false,
            ]);
            expect([i.name, writtenFile(userData(i), "/etc/pgha/bin/pgha-node")]).toEqual([
                i.name,
                expect.stringContaining("scheduled-backup) run_scheduled_backup ;;"),
            ]);
            const conf = writtenFile(script, "/etc/pgha/postgresql.conf");
            if (conf)
                expect([i.name, conf]).toEqual([i.name, expect.stringContaining("\narchive_mode = off\n")]);
        }
        expect(outputs.backup.value).toBeUndefined();
        expect(outputs.backupAccess.value).toBeUndefined();
    });

    test("the backup outputs hold no value that is secret elsewhere in the stack", async () => {
        const { outputs } = await prod({ awsPgbouncerColocated: true });
        const text = JSON.stringify([outputs.backup, outputs.backupAccess]);
        expect(secretValues().filter((v) => text.includes(v))).toEqual([]);
        expect(isSecret(outputs.backup.value)).toBe(false);
    });
});
