/**
 * Backups from a replica on the prod stack (Pulumi.prod.yaml with pgha:backupFromReplica, platform
 * aws) under mocks, on the real index.ts: every PostgreSQL node's one pgbackrest.conf names the
 * other nodes' fixed addresses as pgBackRest TLS standbys and carries its own TLS server's settings,
 * every PostgreSQL node runs `pgha-node@backup-server`, the TLS keys and certificates reach the
 * nodes through Secrets Manager only, 8432 is open between the PostgreSQL nodes only, the node
 * role reads exactly the two new secrets more; and with the key off, none of it exists.
 */
import { USER_DATA_LIMIT } from "../../components/aws";
import { isSecret, RecordedResource, runProgram } from "./support/programMocks";
import { named, ofType, prod, userData, withoutRoleScript, writtenFile } from "./support/prodRun";

const T = {
    instance: "aws:ec2/instance:Instance",
    eni: "aws:ec2/networkInterface:NetworkInterface",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    kmsKey: "aws:kms/key:Key",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    certRequest: "tls:index/certRequest:CertRequest",
} as const;

/** The `fetch_secret ARN FIELD FILE` lines of a script, as [arn, field, file]. */
const fetches = (script: string) =>
    [...script.matchAll(/retry fetch_secret '([^']+)' (\w+) '([^']+)'$/gm)].map((m) => [m[1], m[2], m[3]]);

const ON = { backupFromReplica: true };
const POSTGRES_NODES = ["primary", "replica-1", "replica-2"];

/** Each PostgreSQL node's fixed address, from its network interface as the mocks gave it. */
const addresses = (resources: RecordedResource[]) =>
    Object.fromEntries(
        POSTGRES_NODES.map((n) => [
            n,
            named(resources, T.eni, `pgha-prod-${n}-eni`).state.privateIp as string,
        ]),
    );

/** What every PostgreSQL node's pgbackrest.conf adds with backups from a replica: its TLS server, and each other node as a standby. */
const tlsServerLines = `tls-server-address=*
tls-server-port=8432
tls-server-ca-file=/etc/pgbackrest/tls/ca.crt
tls-server-cert-file=/etc/pgbackrest/tls/server.crt
tls-server-key-file=/etc/pgbackrest/tls/server.key
tls-server-auth=pgha-backup=main
`;
const standby = (n: number, host: string) => `pg${n}-host=${host}
pg${n}-host-type=tls
pg${n}-host-port=8432
pg${n}-host-ca-file=/etc/pgbackrest/tls/ca.crt
pg${n}-host-cert-file=/etc/pgbackrest/tls/client.crt
pg${n}-host-key-file=/etc/pgbackrest/tls/client.key
pg${n}-path=/var/lib/postgresql/data/pgdata
pg${n}-socket-path=/var/run/postgresql
`;

describe("backups from a replica on the prod stack (AWS)", () => {
    test("the ENIs' mock addresses are distinct (the tests below tell nodes apart by them)", async () => {
        const { resources } = await prod(ON);
        expect(new Set(Object.values(addresses(resources))).size).toBe(3);
    });

    test.each(POSTGRES_NODES)(
        "%s: one pgbackrest.conf with its TLS server's settings, the other nodes as pg2.. standbys (TLS, 8432) and backup-standby=y",
        async (node) => {
            const { resources } = await prod(ON);
            const ips = addresses(resources);
            const conf = writtenFile(
                userData(named(resources, T.instance, `pgha-prod-${node}`)),
                "/etc/pgbackrest/pgbackrest.conf",
            )!;
            const others = POSTGRES_NODES.filter((n) => n !== node).map((n) => ips[n]);
            expect(conf).toContain(
                `\nlog-level-file=off\n${tlsServerLines}\n[main]\npg1-path=/var/lib/postgresql/data/pgdata\npg1-socket-path=/var/run/postgresql\n${standby(2, others[0])}${standby(3, others[1])}backup-standby=y\n`,
            );
            expect(conf.endsWith("\nbackup-standby=y\n")).toBe(true);
            // The repository is the same as without the key: instance-role credentials, no key in the file.
            expect(conf).toContain("\nrepo1-s3-key-type=auto\n");
            expect(conf).not.toMatch(/repo1-s3-key(-secret)?=/);
            expect(conf.match(/^pg\d+-host=/gm)).toHaveLength(2);
        },
    );

    test("every PostgreSQL node starts pgha-node@backup-server (its own PGHA_ETC, node.env and server key); the timer's plan gets the client key, PgBouncer's node nothing", async () => {
        const { resources } = await prod(ON);
        for (const node of POSTGRES_NODES) {
            const script = userData(named(resources, T.instance, `pgha-prod-${node}`));
            const role = node === "primary" ? "primary" : "replica";
            expect([node, script]).toEqual([
                node,
                expect.stringContaining(
                    `\n  systemctl enable --now pgha-node@${role}.service pgha-node@backup-server.service\n`,
                ),
            ]);
            expect([node, writtenFile(script, "/etc/pgha/units/backup-server.env")]).toEqual([
                node,
                "PGHA_ETC=/etc/pgha/backup-server\n",
            ]);
            const identity = node.replace("-", "_");
            expect([node, writtenFile(script, "/etc/pgha/backup-server/node.env")]).toEqual([
                node,
                `PGHA_NODE="${identity}-pgbackrest"\nPGHA_ROLE="backup-server"\nPG_MAJOR="16"\nPGDATA="/var/lib/postgresql/data/pgdata"\n`,
            ]);
            // The timer's directory has its node.env but no pgbackrest.conf of its own: the node has one.
            expect([node, writtenFile(script, "/etc/pgha/backup/node.env")]).toEqual([
                node,
                expect.stringContaining('PGHA_ROLE="backup-scheduler"'),
            ]);
            expect([node, script.match(/^cat >'[^']*pgbackrest\.conf'/gm)]).toEqual([
                node,
                ["cat >'/etc/pgbackrest/pgbackrest.conf'"],
            ]);
            expect([node, script]).toEqual([
                node,
                expect.stringContaining("\n  systemctl enable --now pgha-backup.timer\n"),
            ]);
        }
        const pgbouncer = withoutRoleScript(userData(named(resources, T.instance, "pgha-prod-pgbouncer")));
        for (const text of ["backup-server", "pgbackrest", "8432", "backup-tls"]) {
            expect([text, pgbouncer.includes(text)]).toEqual([text, false]);
        }
    });

    test("TLS keys and certificates come from the two new secrets only, fetched at boot; no PEM or key in any user data", async () => {
        const { resources } = await prod(ON);
        const server = named(resources, T.secret, "pgha-prod-backup-tls-server").state.arn;
        const client = named(resources, T.secret, "pgha-prod-backup-tls-client").state.arn;
        for (const node of POSTGRES_NODES) {
            const script = userData(named(resources, T.instance, `pgha-prod-${node}`));
            const tls = fetches(script).filter(([arn]) => arn === server || arn === client);
            expect([node, tls]).toEqual([
                node,
                [
                    [server, "password", "/etc/pgha/backup-server/secrets/pgbackrest_server_key.password"],
                    [client, "password", "/etc/pgha/backup/secrets/pgbackrest_client_key.password"],
                    [server, "certificate", "/etc/pgbackrest/tls/server.crt"],
                    [client, "certificate", "/etc/pgbackrest/tls/client.crt"],
                    [server, "ca", "/etc/pgbackrest/tls/ca.crt"],
                ],
            ]);
            // Certificates are public (pgBackRest runs as postgres); the keys stay root-only until the role script writes them for postgres.
            expect([node, script]).toEqual([
                node,
                expect.stringContaining(
                    "\n  chmod 0644 '/etc/pgbackrest/tls/server.crt' '/etc/pgbackrest/tls/client.crt' '/etc/pgbackrest/tls/ca.crt'\n",
                ),
            ]);
        }
        for (const i of ofType(resources, T.instance)) {
            const text = withoutRoleScript(userData(i));
            for (const pattern of [
                /-----BEGIN/,
                /PRIVATE KEY/,
                /tls-server-key-file=(?!\/etc\/pgbackrest\/tls\/server\.key\n)/,
            ]) {
                expect([i.name, pattern.source, pattern.test(text)]).toEqual([i.name, pattern.source, false]);
            }
        }
    });

    test("the two secrets: under the cluster's KMS key, their values secret, {password, certificate, ca} from the TLS resources", async () => {
        const { resources } = await prod(ON);
        const key = named(resources, T.kmsKey, "pgha-prod-credentials-key").state.arn;
        for (const suffix of ["server", "client"]) {
            const secret = named(resources, T.secret, `pgha-prod-backup-tls-${suffix}`);
            expect([suffix, secret.inputs.kmsKeyId]).toEqual([suffix, key]);
            expect(secret.inputs.tags).toEqual({
                Name: `pgha-prod-pgbackrest-tls-${suffix}`,
                "pgha:cluster": "pgha-prod",
                "pgha:role": "secrets",
                "pgha:stack": "prod",
            });
            const version = named(resources, T.secretVersion, `pgha-prod-backup-tls-${suffix}`);
            expect(version.inputs.secretId).toBe(secret.id);
            expect([suffix, isSecret(version.inputs.secretString)]).toEqual([suffix, true]);
        }
        // The mocks compute no PEM; what reaches the engine is the TLS resources' own inputs.
        expect(ofType(resources, "tls:index/privateKey:PrivateKey").map((k) => [k.name, k.inputs])).toEqual(
            ["ca", "server", "client"].map((n) => [
                `pgha-prod-pgbackrest-tls-${n}`,
                { algorithm: "ECDSA", ecdsaCurve: "P256" },
            ]),
        );
        expect(named(resources, T.certRequest, "pgha-prod-pgbackrest-tls-client").inputs.subject).toEqual({
            commonName: "pgha-backup",
        });
    });

    test("the server certificate names every PostgreSQL node's fixed address, as IP and as DNS name (pgBackRest 2.45 matches DNS names only)", async () => {
        const { resources } = await prod(ON);
        const ips = addresses(resources);
        const request = named(resources, T.certRequest, "pgha-prod-pgbackrest-tls-server");
        expect(request.inputs.ipAddresses).toEqual([ips.primary, ips["replica-1"], ips["replica-2"]]);
        expect(request.inputs.dnsNames).toEqual([ips.primary, ips["replica-1"], ips["replica-2"]]);
    });

    test("8432 is open only between the PostgreSQL nodes: one ingress and one egress rule, group to itself, no CIDR", async () => {
        const { resources } = await prod(ON);
        const postgres = named(resources, T.sg, "pgha-prod-sg-postgres").id;
        const rules = [...ofType(resources, T.ingress), ...ofType(resources, T.egress)].filter(
            (r) => r.inputs.fromPort === 8432 || r.inputs.toPort === 8432,
        );
        expect(
            rules.map((r) => [
                r.type,
                r.name,
                r.inputs.securityGroupId,
                r.inputs.referencedSecurityGroupId,
                r.inputs.fromPort,
                r.inputs.toPort,
                r.inputs.ipProtocol,
                r.inputs.cidrIpv4,
            ]),
        ).toEqual([
            [
                T.ingress,
                "pgha-prod-sg-backup-server-from-members",
                postgres,
                postgres,
                8432,
                8432,
                "tcp",
                undefined,
            ],
            [
                T.egress,
                "pgha-prod-sg-postgres-to-backup-servers",
                postgres,
                postgres,
                8432,
                8432,
                "tcp",
                undefined,
            ],
        ]);
        // No rule of any port covers 8432 from a CIDR block (the app's or the internet).
        for (const r of ofType(resources, T.ingress)) {
            expect([
                r.name,
                r.inputs.cidrIpv4 !== undefined && r.inputs.fromPort <= 8432 && r.inputs.toPort >= 8432,
            ]).toEqual([r.name, false]);
        }
    });

    test("the node role reads exactly the cluster's credentials and the two TLS secrets; still two inline policies", async () => {
        const { resources } = await prod(ON);
        const policy = JSON.parse(named(resources, T.rolePolicy, "pgha-prod-node-credentials").inputs.policy);
        const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadClusterCredentials");
        const credentialArns = ofType(resources, T.secret)
            .filter((s) => s.name.startsWith("pgha-prod-credentials-"))
            .map((s) => s.state.arn);
        expect(credentialArns).toHaveLength(5);
        expect(read.Resource).toEqual([
            ...credentialArns,
            named(resources, T.secret, "pgha-prod-backup-tls-server").state.arn,
            named(resources, T.secret, "pgha-prod-backup-tls-client").state.arn,
        ]);
        expect(read.Action).toBe("secretsmanager:GetSecretValue");
        expect(
            ofType(resources, T.rolePolicy)
                .map((p) => p.name)
                .sort(),
        ).toEqual(["pgha-prod-backups-node-access", "pgha-prod-node-credentials"]);
    });

    test("instances start only after the TLS secrets' values exist", async () => {
        // The mocks record registration order: every SecretVersion is declared before the first instance.
        const { resources } = await prod(ON);
        const firstInstance = resources.findIndex((r) => r.type === T.instance);
        for (const suffix of ["server", "client"]) {
            expect([
                suffix,
                resources.findIndex(
                    (r) => r.type === T.secretVersion && r.name === `pgha-prod-backup-tls-${suffix}`,
                ) < firstInstance,
            ]).toEqual([suffix, true]);
        }
    });

    test("user data stays under EC2's 16 KB (gzip'd) with backups from a replica, for every node layout up to 15 replicas beside a co-located primary", async () => {
        const sizes: Record<string, number> = {};
        for (const overrides of [
            ON,
            { ...ON, awsPgbouncerColocated: true },
            { ...ON, awsPgbouncerColocated: true, replicas: 15 },
        ]) {
            const { resources } = await prod(overrides);
            for (const i of ofType(resources, T.instance)) {
                const bytes = Buffer.from(i.inputs.userDataBase64, "base64").length;
                sizes[
                    `${i.name}${"awsPgbouncerColocated" in overrides ? " (co-located)" : ""}${"replicas" in overrides ? " (15 replicas)" : ""}`
                ] = bytes;
                expect([i.name, bytes < USER_DATA_LIMIT]).toEqual([i.name, true]);
            }
        }
        console.log(`[prodBackupFromReplica] user data sizes (gzip'd bytes): ${JSON.stringify(sizes)}`);
    });

    test("backupFromReplica off (the default): no TLS resource, secret, 8432 rule or backup-server anywhere", async () => {
        for (const overrides of [{}, { backupFromReplica: false, awsPgbouncerColocated: true }]) {
            const { resources } = await prod(overrides);
            expect(
                resources.filter(
                    (r) =>
                        r.type.startsWith("tls:") ||
                        r.name.includes("backup-tls") ||
                        r.name.includes("pgbackrest-tls") ||
                        r.name.includes("backup-server"),
                ),
            ).toEqual([]);
            expect(
                [...ofType(resources, T.ingress), ...ofType(resources, T.egress)].filter(
                    (r) => r.inputs.fromPort === 8432,
                ),
            ).toEqual([]);
            expect(
                ofType(resources, T.secret)
                    .map((s) => s.name)
                    .filter((n) => !n.startsWith("pgha-prod-credentials-")),
            ).toEqual([]);
            for (const i of ofType(resources, T.instance)) {
                const text = withoutRoleScript(userData(i));
                for (const t of [
                    "backup-server",
                    "tls-server",
                    "pg2-host",
                    "backup-standby",
                    "/etc/pgbackrest/tls",
                ]) {
                    expect([i.name, t, text.includes(t)]).toEqual([i.name, t, false]);
                }
            }
        }
    });

    test("pgha:backupFromReplica without a replica fails before any resource is declared, naming the key", async () => {
        const error = await runProgram("prod", { ...ON, replicas: 0, synchronousMode: "off" }).then(
            () => undefined,
            (e: Error & { resources?: RecordedResource[] }) => e,
        );
        expect(error?.message).toContain(
            "pgha:backupFromReplica needs pgha:backupEnabled true and at least 1 replica",
        );
        expect(error?.resources?.filter((r) => r.custom)).toEqual([]);
    });
});
