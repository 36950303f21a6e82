/**
 * The EC2 platform's pure parts: user data, the slot job's SSM document, the deterministic gzip,
 * CIDR carving, AMI and instance-type rules, the node policy. Whole scripts are snapshotted with
 * the plans' file contents replaced by their paths (those belong to components/postgres and have
 * their own tests); the contents are checked to be written byte for byte instead. The e2e test
 * (test/e2e/ec2Bootstrap.test.ts) runs these scripts for real.
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import {
    assertNitroInstanceType,
    BACKUP_SERVER_ETC,
    composeEc2Nodes,
    renderTlsCertificateFetches,
    crc32,
    debianAmiFilters,
    ebsDevicePath,
    encodeUserData,
    gzipDeterministic,
    instanceArchitecture,
    nodePolicyDocument,
    pgdgPackages,
    relocatePlan,
    renderFileWrites,
    renderSecretFetches,
    renderSlotsDocument,
    renderSlotsScript,
    renderUserData,
    RoleOnNode,
    shellQuote,
    withoutCommentLines,
    slotsParameterValue,
    UserDataSpec,
    vpcLayout,
} from "../../components/aws";
import { parseClusterConfig } from "../../components/config";
import {
    BackupSettings,
    ClusterFacts,
    clusterNodes,
    NodeFile,
    PGBACKREST_PATHS,
    pgbouncerPlan,
    postgresNodePlan,
    renderPgbackrestConf,
    ROLE_SCRIPT,
    slotsPlan,
} from "../../components/postgres";

const config = parseClusterConfig({
    "pgha:platform": "aws",
    "aws:region": "eu-west-1",
    "pgha:replicas": "2",
    "pgha:synchronousMode": "any1",
});
const facts: ClusterFacts = {
    pgMajor: 16,
    postgres: config,
    bootstrap: config,
    clusterCidrs: ["10.42.0.0/16"],
    clientCidrs: ["10.42.0.0/16"],
};
const nodes = clusterNodes(2);
const ARNS = Object.fromEntries(
    ["superuser", "replicator", "app", "pgbouncer_auth", "monitor"].map((c) => [
        c,
        `arn:aws:secretsmanager:eu-west-1:123456789012:secret:pgha-prod-credentials-${c}-AbCdEf`,
    ]),
) as UserDataSpec["secretArns"];
const PRIMARY_IP = "10.42.3.17";
const REPLICA_IPS = ["10.42.20.5", "10.42.40.9"];
const pgbouncerSettings = {
    ...config,
    readOnlyDatabaseName: "app_ro",
    primaryHost: PRIMARY_IP,
    replicaHosts: REPLICA_IPS,
};
const roles = {
    primary: {
        role: "primary",
        etc: "/etc/pgha",
        plan: postgresNodePlan(facts, nodes.primary, { self: PRIMARY_IP, primary: PRIMARY_IP }),
    },
    replica: {
        role: "replica",
        etc: "/etc/pgha",
        plan: postgresNodePlan(facts, nodes.replicas[0], { self: REPLICA_IPS[0], primary: PRIMARY_IP }),
    },
    pgbouncer: { role: "pgbouncer", etc: "/etc/pgha", plan: pgbouncerPlan(facts, pgbouncerSettings) },
    colocatedPgbouncer: {
        role: "pgbouncer",
        etc: "/etc/pgha/pgbouncer",
        plan: pgbouncerPlan(facts, pgbouncerSettings),
    },
} satisfies Record<string, RoleOnNode>;
const spec = (nodeName: string, nodeRoles: RoleOnNode[], dataVolumeId?: string): UserDataSpec => ({
    clusterName: "pgha-prod",
    nodeName,
    region: "eu-west-1",
    postgresVersion: 16,
    roles: nodeRoles,
    secretArns: ARNS,
    dataVolumeId,
});
const specs = {
    primary: spec("primary", [roles.primary], "vol-0123456789abcdef0"),
    replica: spec("replica-1", [roles.replica], "vol-0fedcba9876543210"),
    pgbouncer: spec("pgbouncer", [roles.pgbouncer]),
    "primary with PgBouncer": spec(
        "primary",
        [roles.primary, roles.colocatedPgbouncer],
        "vol-0123456789abcdef0",
    ),
};

/** Every here-document the script writes: path → exact content. */
function writtenFiles(script: string): Map<string, string> {
    const files = new Map<string, string>();
    for (const m of script.matchAll(/^cat >'([^']+)' <<'(PGHA_EOF[_0-9]*)'\n([\s\S]*?)^\2$/gm)) {
        files.set(m[1], m[3]);
    }
    return files;
}
/** The script with the plans' file bodies replaced by their paths: what the snapshot holds (the unit files are this platform's own and stay). */
function skeleton(script: string): string {
    return script.replace(
        /^(cat >'([^']+)' <<'(PGHA_EOF[_0-9]*)'\n)([\s\S]*?)^\3$/gm,
        (_all, head: string, file: string, delimiter: string, body: string) =>
            /^\/etc\/(systemd|pgha\/units)\//.test(file)
                ? `${head}${body}${delimiter}`
                : `${head}<content of ${file}>\n${delimiter}`,
    );
}
const contentOf = (f: NodeFile) => f.content as string;

describe("renderUserData", () => {
    test.each(Object.entries(specs))("%s: the script's structure", (_name, s) => {
        expect(skeleton(renderUserData(s))).toMatchSnapshot();
    });

    test.each(Object.entries(specs))(
        "%s: writes every file of its plans byte for byte, relocated to its role's directory",
        (_name, s) => {
            const written = writtenFiles(renderUserData(s));
            const expected = new Map<string, string>();
            for (const r of s.roles) {
                for (const f of relocatePlan(r.plan, r.etc).files)
                    expected.set(
                        f.path,
                        f.path === ROLE_SCRIPT ? withoutCommentLines(contentOf(f)) : contentOf(f),
                    );
                expected.set(`/etc/pgha/units/${r.role}.env`, `PGHA_ETC=${r.etc}\n`);
            }
            expected.set(
                "/etc/systemd/system/pgha-node@.service",
                written.get("/etc/systemd/system/pgha-node@.service") ?? "missing",
            );
            expect(written).toEqual(expected);
            expect(written.get("/etc/pgha/bin/pgha-node")).toBe(
                withoutCommentLines(
                    fs.readFileSync(
                        path.join(__dirname, "../../components/postgres/node/pgha-node.sh"),
                        "utf8",
                    ),
                ),
            );
        },
    );

    test.each(Object.entries(specs))("%s: is valid bash", (_name, s) => {
        expect(() => execFileSync("bash", ["-n"], { input: renderUserData(s) })).not.toThrow();
    });

    test.each([
        ["primary", "postgresql-16 postgresql-client-16"],
        ["replica", "postgresql-16 postgresql-client-16"],
        ["pgbouncer", "pgbouncer postgresql-client-16"],
        ["primary with PgBouncer", "pgbouncer postgresql-16 postgresql-client-16"],
    ] as const)("%s: installs %s from apt.postgresql.org, in install_packages", (name, packages) => {
        const script = renderUserData(specs[name]);
        const install = /^install_packages\(\) \{\n([\s\S]*?)^\}$/m.exec(script)?.[1] ?? "";
        expect(install).toContain("https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main");
        expect(install).toContain("signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc");
        expect(install).toContain(`retry apt_get install ${packages}\n`);
        expect(install.includes("systemctl mask --now pgbouncer.service")).toBe(
            packages.includes("pgbouncer"),
        );
        expect(pgdgPackages(specs[name].roles, 16).join(" ")).toBe(packages);
    });

    // Every PostgreSQL node can take either role: the roles' verifiers and the replicator's password.
    const postgresNeeds = [
        "superuser verifier /etc/pgha",
        "replicator verifier /etc/pgha",
        "app verifier /etc/pgha",
        "pgbouncer_auth verifier /etc/pgha",
        "monitor verifier /etc/pgha",
        "replicator password /etc/pgha",
    ] as const;
    test.each([
        ["primary", postgresNeeds],
        ["replica", postgresNeeds],
        ["pgbouncer", ["pgbouncer_auth password /etc/pgha", "monitor password /etc/pgha"]],
        [
            "primary with PgBouncer",
            [
                ...postgresNeeds,
                "pgbouncer_auth password /etc/pgha/pgbouncer",
                "monitor password /etc/pgha/pgbouncer",
            ],
        ],
    ] as const)("%s: fetches exactly its secrets by ARN into its role's secrets directory", (name, needs) => {
        const fetches = [
            ...renderUserData(specs[name]).matchAll(/^ {2}retry fetch_secret '([^']+)' (\w+) '([^']+)'$/gm),
        ].map((m) => [m[1], m[2], m[3]]);
        expect(fetches).toEqual(
            needs.map((n) => {
                const [credential, form, etc] = n.split(" ");
                return [
                    ARNS[credential as keyof typeof ARNS],
                    form,
                    `${etc}/secrets/${form === "verifier" ? `${credential}_verifier` : credential}.password`,
                ];
            }),
        );
    });

    test("the seams: only apt-get, aws and systemctl reach outside the node", () => {
        for (const s of Object.values(specs)) {
            const script = renderUserData(s);
            // The code, without the files it writes (the role script has its own network tools).
            const code = skeleton(script)
                .split("\n")
                .filter((line) => !/^\s*#/.test(line))
                .join("\n");
            expect(code).not.toMatch(/\b(curl|wget|nc|ssh|scp|gpg)\b/);
            expect([...code.matchAll(/\baws (\S+) (\S+)/g)].map((m) => `${m[1]} ${m[2]}`).sort()).toEqual([
                "s3 cp",
                "secretsmanager get-secret-value",
            ]);
            expect(code).toContain("retry fetch_secret");
            expect(code).toMatch(/^ {2}systemctl enable --now pgha-node@/m);
        }
    });

    test("the data volume: found by its volume id, mounted at /var/lib/postgresql through systemd, only on PostgreSQL nodes", () => {
        const primary = renderUserData(specs.primary);
        expect(primary).toContain(
            "echo '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0 /var/lib/postgresql ext4 defaults,noatime,nofail,x-systemd.makefs,x-systemd.device-timeout=10min 0 2' >>/etc/fstab\n",
        );
        expect(primary).toContain("  systemctl start var-lib-postgresql.mount\n");
        expect(primary).toMatch(/fetch_secrets\n {2}mount_data_volume\n {2}start_units\n/);
        expect(renderUserData(specs.pgbouncer)).not.toContain("mount_data_volume");
        expect(ebsDevicePath("vol-0abc")).toBe("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc");
        expect(() => ebsDevicePath("/dev/sdf")).toThrow("is not an EBS volume id");
    });

    test("the systemd unit runs the role script, restarts it forever and stops PostgreSQL fast", () => {
        const unit = writtenFiles(renderUserData(specs.primary)).get(
            "/etc/systemd/system/pgha-node@.service",
        )!;
        for (const line of [
            "ExecStart=/etc/pgha/bin/pgha-node %i",
            "EnvironmentFile=/etc/pgha/units/%i.env",
            "Restart=always",
            "StartLimitIntervalSec=0",
            "RequiresMountsFor=/var/lib/postgresql",
            "KillSignal=SIGINT",
            "WantedBy=multi-user.target",
        ]) {
            expect(unit.split("\n")).toContain(line);
        }
    });

    test("inconsistent specs are refused", () => {
        expect(() => renderUserData(spec("x", []))).toThrow("node x has no role");
        expect(() => renderUserData(spec("primary", [roles.primary]))).toThrow(
            "node primary runs PostgreSQL and needs a data volume",
        );
        expect(() => renderUserData(spec("primary", [roles.primary, roles.pgbouncer], "vol-01"))).toThrow(
            "each role needs its own role name and directory",
        );
        expect(() => renderUserData({ ...specs.pgbouncer, region: "moon" })).toThrow(
            '"moon" is not an AWS region',
        );
        expect(() => renderUserData({ ...specs.replica, secretArns: { ...ARNS, replicator: "" } })).toThrow(
            "no Secrets Manager ARN for the replicator secret",
        );
    });
});

describe("node script building blocks", () => {
    test("files are written exactly: here-documents with a delimiter not in the content, base64 without a final newline", () => {
        const files: NodeFile[] = [
            { path: "/etc/pgha/a", content: "one\nPGHA_EOF\ntwo\n" },
            { path: "/etc/pgha/b", content: "no newline at the end $HOME `x`" },
            { path: "/etc/pgha/bin/c", content: "#!/bin/sh\necho '$1'\n", executable: true },
        ];
        const script = renderFileWrites(files);
        expect(script).toContain(
            "cat >'/etc/pgha/a' <<'PGHA_EOF_1'\none\nPGHA_EOF\ntwo\nPGHA_EOF_1\nchmod 0644 '/etc/pgha/a'",
        );
        expect(script).toContain(
            `printf '%s' '${Buffer.from("no newline at the end $HOME `x`").toString("base64")}' | base64 -d >'/etc/pgha/b'`,
        );
        expect(script).toContain("chmod 0755 '/etc/pgha/bin/c'");
        const root = fs.mkdtempSync("/tmp/pgha-files-");
        try {
            const relocated = files.map((f) => ({ ...f, path: root + f.path }));
            execFileSync("bash", ["-euo", "pipefail", "-c", renderFileWrites(relocated)]);
            for (const f of relocated) {
                expect(fs.readFileSync(f.path, "utf8")).toBe(f.content);
            }
            expect(fs.statSync(`${root}/etc/pgha/bin/c`).mode & 0o777).toBe(0o755);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    test("a file can only be written once, and never from a secret Output", () => {
        expect(() =>
            renderFileWrites([
                { path: "/a", content: "1\n" },
                { path: "/a", content: "2\n" },
            ]),
        ).toThrow("two different files would be written to /a");
        expect(
            renderFileWrites([
                { path: "/a", content: "1\n" },
                { path: "/a", content: "1\n" },
            ]).match(/cat >/g),
        ).toHaveLength(1);
        const pulumi = require("@pulumi/pulumi");
        expect(() =>
            renderFileWrites([{ path: "/etc/pgha/secrets/x.password", content: pulumi.secret("s3cret") }]),
        ).toThrow("only plain file contents");
    });

    test("relocatePlan moves /etc/pgha files to the role's directory and leaves the role script and other files alone", () => {
        const plan = {
            files: [
                ...roles.pgbouncer.plan.files,
                { path: "/etc/pgbackrest/pgbackrest.conf", content: "x\n" },
            ],
            secrets: roles.pgbouncer.plan.secrets,
        };
        expect(relocatePlan(plan, "/etc/pgha/pgbouncer").files.map((f) => f.path)).toEqual([
            "/etc/pgha/pgbouncer/node.env",
            "/etc/pgha/pgbouncer/pgbouncer.ini",
            "/etc/pgbackrest/pgbackrest.conf",
        ]);
        expect(relocatePlan(plan, "/etc/pgha")).toBe(plan);
        expect(() => relocatePlan(plan, "relative")).toThrow("must be an absolute path");
    });

    test.each([
        ["plain", "'plain'"],
        ["it's", `'it'\\''s'`],
        ["$(rm -rf /)", "'$(rm -rf /)'"],
    ])("shellQuote(%s)", (value, quoted) => {
        expect(shellQuote(value)).toBe(quoted);
        expect(execFileSync("bash", ["-c", `printf '%s' ${quoted}`]).toString()).toBe(value);
    });

    test("fetch_secret writes one field of the JSON secret to a 0600 file, the value only through a pipe", () => {
        const root = fs.mkdtempSync("/tmp/pgha-fetch-");
        try {
            // A fake aws on PATH, answering like `aws secretsmanager get-secret-value --query SecretString --output text`.
            fs.mkdirSync(`${root}/bin`);
            fs.writeFileSync(
                `${root}/bin/aws`,
                `#!/bin/sh\necho "$*" >>${root}/calls\nprintf '%s\\n' '{"password":"pw1","verifier":"SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vy"}'\n`,
                { mode: 0o755 },
            );
            const helpers = require("../../components/aws").SHELL_HELPERS;
            const fetches = renderSecretFetches(
                [
                    { credential: "app", form: "verifier" },
                    { credential: "replicator", form: "password" },
                ],
                ARNS,
                `${root}/etc`,
            );
            execFileSync("bash", ["-euo", "pipefail", "-c", `${helpers}\n${fetches}`], {
                env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` },
            });
            expect(fs.readFileSync(`${root}/etc/secrets/app_verifier.password`, "utf8")).toBe(
                "SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vy",
            );
            expect(fs.readFileSync(`${root}/etc/secrets/replicator.password`, "utf8")).toBe("pw1");
            expect(fs.statSync(`${root}/etc/secrets/app_verifier.password`).mode & 0o777).toBe(0o600);
            expect(fs.statSync(`${root}/etc/secrets`).mode & 0o777).toBe(0o700);
            expect(fs.readFileSync(`${root}/calls`, "utf8").trim().split("\n")).toEqual([
                `secretsmanager get-secret-value --secret-id ${ARNS.app} --query SecretString --output text`,
                `secretsmanager get-secret-value --secret-id ${ARNS.replicator} --query SecretString --output text`,
            ]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("withoutCommentLines (the role script in user data)", () => {
    test("drops comment-only and blank lines, keeps the #! line, code with trailing comments and here-document bodies", () => {
        const script = [
            "#!/usr/bin/env bash",
            "# about",
            "",
            "  # indented",
            "x=1 # kept",
            "cat <<'EOF'",
            "# a line of the document",
            "",
            "EOF",
            "  # gone",
            "y=2",
            "",
        ].join("\n");
        expect(withoutCommentLines(script)).toBe(
            [
                "#!/usr/bin/env bash",
                "x=1 # kept",
                "cat <<'EOF'",
                "# a line of the document",
                "",
                "EOF",
                "y=2",
                "",
            ].join("\n"),
        );
    });

    test("the role script keeps its syntax and every command line", () => {
        const source = fs.readFileSync(
            path.join(__dirname, "../../components/postgres/node/pgha-node.sh"),
            "utf8",
        );
        const stripped = withoutCommentLines(source);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pgha-strip-")), "pgha-node");
        fs.writeFileSync(file, stripped);
        expect(() => execFileSync("bash", ["-n", file])).not.toThrow();
        const commands = (text: string) =>
            text.split("\n").filter((l) => l.trim() !== "" && !/^\s*#/.test(l));
        expect(commands(stripped)).toEqual(commands(source));
        expect(stripped.length).toBeLessThan(source.length * 0.85);
    });
});

describe("encodeUserData and the deterministic gzip", () => {
    test.each([
        ["empty", Buffer.alloc(0)],
        ["one byte", Buffer.from("a")],
        [
            "long runs (matches of 258, distances up to 32 KiB)",
            Buffer.concat([Buffer.alloc(70000, 1), Buffer.from("tail")]),
        ],
        ["random bytes (no matches)", randomBytes(40000)],
        [
            "the role script",
            fs.readFileSync(path.join(__dirname, "../../components/postgres/node/pgha-node.sh")),
        ],
    ])("%s: gunzip gives the input back", (_name, data) => {
        expect(zlib.gunzipSync(gzipDeterministic(data)).equals(data)).toBe(true);
    });

    test("the same input gives the same bytes, and a known input a known output (an encoder change would replace every instance)", () => {
        const input = Buffer.from("#!/bin/bash\necho pgha pgha pgha pgha\n");
        expect(gzipDeterministic(input).equals(gzipDeterministic(Buffer.from(input)))).toBe(true);
        expect(gzipDeterministic(input).toString("base64")).toBe(
            "H4sIAAAAAAAA/1NW1E/KzNNPSizO4EpNzshXKEjPSEQjuABHe1j8JQAAAA==",
        );
        expect(crc32(Buffer.from("123456789")).toString(16)).toBe("cbf43926");
    });

    test("user data is the gzip of the script, in base64, within EC2's 16 KB", () => {
        const script = renderUserData(specs["primary with PgBouncer"]);
        expect(Buffer.byteLength(script)).toBeGreaterThan(16384);
        const encoded = Buffer.from(encodeUserData(script), "base64");
        expect(encoded.length).toBeLessThanOrEqual(16384);
        expect(zlib.gunzipSync(encoded).toString("utf8")).toBe(script);
        expect(() => encodeUserData(randomBytes(20000).toString("base64"))).toThrow(
            "above EC2's limit of 16384",
        );
    });
});

describe("the slot job's SSM document", () => {
    const documentSpec = { region: "eu-west-1", plan: slotsPlan(facts, [], PRIMARY_IP), secretArns: ARNS };

    test("its script's structure", () => {
        expect(skeleton(renderSlotsScript(documentSpec))).toMatchSnapshot();
    });

    test("runCommand writes the bash script to a file and runs it (runShellScript uses /bin/sh); the parameter is validated", () => {
        const document = JSON.parse(renderSlotsDocument(documentSpec));
        expect(document.schemaVersion).toBe("2.2");
        expect(document.mainSteps).toHaveLength(1);
        expect(document.mainSteps[0]).toMatchObject({
            action: "aws:runShellScript",
            inputs: { timeoutSeconds: "900" },
        });
        const lines: string[] = document.mainSteps[0].inputs.runCommand;
        expect(lines.slice(0, 4)).toEqual([
            "set -e",
            "script=$(mktemp)",
            `trap 'rm -f "$script"' EXIT`,
            `cat >"$script" <<'PGHA_SLOTS_EOF'`,
        ]);
        expect(lines.slice(-2)).toEqual(["PGHA_SLOTS_EOF", 'bash "$script"']);
        expect(lines.slice(4, -2).join("\n") + "\n").toBe(renderSlotsScript(documentSpec));
        const pattern = new RegExp(document.parameters.expectedSlots.allowedPattern);
        for (const ok of ["none", "pgha_replica_1", "pgha_replica_1 pgha_replica_2"])
            expect([ok, pattern.test(ok)]).toEqual([ok, true]);
        for (const bad of ["", "pgha_replica_1 ", "x'; rm -rf /", "pgha_replica_1\npgha_x", "other_slot"])
            expect([bad, pattern.test(bad)]).toEqual([bad, false]);
        expect(() => execFileSync("sh", ["-n"], { input: lines.join("\n") })).not.toThrow();
    });

    test("the job's node.env names the primary; the expected slots are appended from the parameter, 'none' meaning none", () => {
        const script = renderSlotsScript(documentSpec);
        expect(writtenFiles(script).get("/run/pgha-slots/node.env")).toContain(
            `PGHA_ROLE="reconcile-slots"\nPG_MAJOR="16"\nPGDATA="/var/lib/postgresql/data/pgdata"\nPGHA_PRIMARY_HOST="${PRIMARY_IP}"\nPGHA_EXPECTED_SLOTS=""\n`,
        );
        expect(script).toContain(
            "expected='{{ expectedSlots }}'\nif [ \"$expected\" = none ]; then expected=; fi\n",
        );
        expect(script).toContain(
            `printf 'PGHA_EXPECTED_SLOTS="%s"\\n' "$expected" >>/run/pgha-slots/node.env\n`,
        );
        expect(script).toContain(
            `retry fetch_secret '${ARNS.replicator}' password '/run/pgha-slots/secrets/replicator.password'\n`,
        );
        expect(script).toContain("PGHA_ETC=/run/pgha-slots /etc/pgha/bin/pgha-node reconcile-slots\n");
        expect(script).not.toContain("cat >'/etc/pgha/bin/pgha-node'");
    });

    test.each([
        [[], "none"],
        [["pgha_replica_1"], "pgha_replica_1"],
        [["pgha_replica_1", "pgha_replica_2"], "pgha_replica_1 pgha_replica_2"],
    ])("slotsParameterValue(%j) = %s", (slots, value) => {
        expect(slotsParameterValue(slots)).toBe(value);
    });

    test("slotsParameterValue refuses names the document would not accept", () => {
        expect(() => slotsParameterValue(["other"])).toThrow('"other" is not a pgha slot name');
    });
});

describe("network, AMI and IAM rules", () => {
    test.each([
        ["10.42.0.0/16", 3, ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"], "10.42.240.0/20"],
        ["10.42.0.0/16", 2, ["10.42.0.0/20", "10.42.16.0/20"], "10.42.240.0/20"],
        [
            "172.16.64.0/18",
            6,
            [
                "172.16.64.0/22",
                "172.16.68.0/22",
                "172.16.72.0/22",
                "172.16.76.0/22",
                "172.16.80.0/22",
                "172.16.84.0/22",
            ],
            "172.16.124.0/22",
        ],
        ["192.168.7.0/24", 3, ["192.168.7.0/28", "192.168.7.16/28", "192.168.7.32/28"], "192.168.7.240/28"],
    ])("vpcLayout(%s, %i)", (cidr, count, privates, publicSubnet) => {
        expect(vpcLayout(cidr, count)).toEqual({ private: privates, public: publicSubnet });
    });

    test.each([
        ["10.0.0.0/8", 3, "pgha:awsVpcCidr must be a /16 to /24 block"],
        ["10.42.0.0/25", 3, "pgha:awsVpcCidr must be a /16 to /24 block"],
        ["10.42.1.0/16", 3, "10.42.1.0/16 has host bits set; the block starts at 10.42.0.0/16"],
        ["10.42.0.0/16", 16, "the VPC holds 1 to 15 private subnets"],
    ])("vpcLayout(%s, %i) is refused", (cidr, count, message) => {
        expect(() => vpcLayout(cidr, count)).toThrow(message);
    });

    test.each([
        ["m7i.large", "amd64"],
        ["t3.small", "amd64"],
        ["g5.xlarge", "amd64"],
        ["m7i-flex.large", "amd64"],
        ["m7g.large", "arm64"],
        ["c7gn.xlarge", "arm64"],
        ["t4g.small", "arm64"],
        ["r8gd.2xlarge", "arm64"],
        ["x2gd.medium", "arm64"],
    ])("instanceArchitecture(%s) = %s", (type, arch) => {
        expect(instanceArchitecture(type)).toBe(arch);
    });

    test("the AMI is the latest official Debian 12 of the architecture", () => {
        expect(debianAmiFilters("arm64")).toEqual([
            { name: "name", values: ["debian-12-arm64-*"] },
            { name: "architecture", values: ["arm64"] },
            { name: "virtualization-type", values: ["hvm"] },
            { name: "root-device-type", values: ["ebs"] },
        ]);
    });

    test.each(["t2.micro", "m4.large", "r4.xlarge", "c4.large", "i3.large"])(
        "%s (Xen) is refused: its volumes are not NVMe devices",
        (type) => {
            expect(() => assertNitroInstanceType("pgha:awsPrimaryInstanceType", type)).toThrow(
                `pgha:awsPrimaryInstanceType ${type} is a Xen-based (previous generation) type`,
            );
        },
    );

    test("the node policy names its secrets and key and nothing else", () => {
        expect(nodePolicyDocument(["arn:s1", "arn:s2"], "arn:key", "eu-west-1")).toEqual({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ReadClusterCredentials",
                    Effect: "Allow",
                    Action: "secretsmanager:GetSecretValue",
                    Resource: ["arn:s1", "arn:s2"],
                },
                {
                    Sid: "DecryptClusterCredentials",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: "arn:key",
                    Condition: {
                        StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" },
                    },
                },
            ],
        });
        expect(() => nodePolicyDocument([], "arn:key", "eu-west-1")).toThrow("at least one secret ARN");
    });
});

describe("backups from a replica on EC2 (composition and user data)", () => {
    const backup: BackupSettings = {
        repository: {
            endpoint: "s3.eu-west-1.amazonaws.com",
            port: 443,
            bucket: "b",
            region: "eu-west-1",
            path: "/pgha-prod",
            uriStyle: "host",
            verifyTls: true,
            keyType: "auto",
        },
        retentionDays: 30,
        intervalHours: 6,
        fullIntervalDays: 7,
        archiveTimeoutSeconds: 60,
    };
    const onConfig = { ...config, backupFromReplica: true };
    const composed = composeEc2Nodes(
        onConfig,
        "10.42.0.0/16",
        { primary: PRIMARY_IP, replicas: REPLICA_IPS },
        backup,
    );
    const TLS_ARNS = {
        ...ARNS,
        pgbackrest_server_key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf",
        pgbackrest_client_key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf",
    };
    const confOf = (r: RoleOnNode) => r.plan.files.find((f) => f.path === PGBACKREST_PATHS.conf)?.content;

    test.each([
        ["primary", () => composed.primary, [...REPLICA_IPS]],
        ["replica-1", () => composed.replicas[0], [PRIMARY_IP, REPLICA_IPS[1]]],
        ["replica-2", () => composed.replicas[1], [PRIMARY_IP, REPLICA_IPS[0]]],
    ])(
        "%s: its PostgreSQL role's pgbackrest.conf lists the other nodes and its TLS server; a backup-server role beside it",
        (_node, rolesOf, standbyHosts) => {
            const [postgres, server, ...rest] = rolesOf();
            expect(rest).toEqual([]);
            expect(confOf(postgres)).toBe(renderPgbackrestConf(backup, { standbyHosts, tlsServer: true }));
            expect([server.role, server.etc, server.plan.secrets]).toEqual([
                "backup-server",
                BACKUP_SERVER_ETC,
                [{ credential: "pgbackrest_server_key", form: "password" }],
            ]);
            expect(server.plan.files.map((f) => f.path)).toEqual([ROLE_SCRIPT, "/etc/pgha/node.env"]);
        },
    );

    test("the timer's plan: no pgbackrest.conf of its own, the client key; without the key, exactly as before", () => {
        expect(composed.scheduledBackup!.files.map((f) => f.path)).toEqual([
            ROLE_SCRIPT,
            "/etc/pgha/node.env",
        ]);
        expect(composed.scheduledBackup!.secrets).toEqual([
            { credential: "pgbackrest_client_key", form: "password" },
        ]);
        const off = composeEc2Nodes(
            config,
            "10.42.0.0/16",
            { primary: PRIMARY_IP, replicas: REPLICA_IPS },
            backup,
        );
        expect(off.primary.map((r) => r.role)).toEqual(["primary"]);
        expect(confOf(off.primary[0])).toBe(renderPgbackrestConf(backup));
        expect(off.scheduledBackup!.secrets).toEqual([]);
        expect(() =>
            composeEc2Nodes(onConfig, "10.42.0.0/16", { primary: PRIMARY_IP, replicas: REPLICA_IPS }),
        ).toThrow("pgha:backupFromReplica needs backups on");
    });

    test("tls-server settings go into [global] only when asked; Docker's renderings are unchanged", () => {
        const plain = renderPgbackrestConf(backup, { standbyHosts: ["h"] });
        expect(plain).not.toContain("tls-server");
        const both = renderPgbackrestConf(backup, { standbyHosts: ["h"], tlsServer: true });
        expect(both.replace(/^tls-server-.*\n/gm, "")).toBe(plain);
        expect(both).toContain("\nlog-level-file=off\ntls-server-address=*\ntls-server-port=8432\n");
    });

    test("user data: the server unit, the keys and certificates fetched from their secrets, the certificates made readable", () => {
        const script = renderUserData({
            ...spec("primary", composed.primary, "vol-0123456789abcdef0"),
            secretArns: TLS_ARNS,
            scheduledBackup: composed.scheduledBackup,
        });
        expect(script).toContain(
            "\n  systemctl enable --now pgha-node@primary.service pgha-node@backup-server.service\n",
        );
        const fetches = [...script.matchAll(/^ {2}retry fetch_secret '([^']+)' (\w+) '([^']+)'$/gm)]
            .map((m) => [m[1], m[2], m[3]])
            .filter(([arn]) => !Object.values(ARNS).includes(arn));
        expect(fetches).toEqual([
            [
                TLS_ARNS.pgbackrest_server_key,
                "password",
                "/etc/pgha/backup-server/secrets/pgbackrest_server_key.password",
            ],
            [
                TLS_ARNS.pgbackrest_client_key,
                "password",
                "/etc/pgha/backup/secrets/pgbackrest_client_key.password",
            ],
            [TLS_ARNS.pgbackrest_server_key, "certificate", "/etc/pgbackrest/tls/server.crt"],
            [TLS_ARNS.pgbackrest_client_key, "certificate", "/etc/pgbackrest/tls/client.crt"],
            [TLS_ARNS.pgbackrest_server_key, "ca", "/etc/pgbackrest/tls/ca.crt"],
        ]);
        expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
        expect(renderTlsCertificateFetches([{ credential: "replicator", form: "password" }], TLS_ARNS)).toBe(
            "",
        );
        expect(
            renderTlsCertificateFetches(
                [{ credential: "pgbackrest_client_key", form: "password" }],
                TLS_ARNS,
            ),
        ).toBe(
            `install -d -m 0755 '/etc/pgbackrest/tls'\nretry fetch_secret '${TLS_ARNS.pgbackrest_client_key}' certificate '/etc/pgbackrest/tls/client.crt'\nretry fetch_secret '${TLS_ARNS.pgbackrest_client_key}' ca '/etc/pgbackrest/tls/ca.crt'\nchmod 0644 '/etc/pgbackrest/tls/client.crt' '/etc/pgbackrest/tls/ca.crt'`,
        );
    });

    test("inconsistent specs fail clearly: a TLS secret without its ARN, a server without PostgreSQL, a backup secret other than the client key", () => {
        const primarySpec = {
            ...spec("primary", composed.primary, "vol-0123456789abcdef0"),
            secretArns: TLS_ARNS,
            scheduledBackup: composed.scheduledBackup,
        };
        expect(() => renderUserData({ ...primarySpec, secretArns: ARNS })).toThrow(
            "no Secrets Manager ARN for the pgbackrest_server_key secret this node needs",
        );
        expect(() =>
            renderUserData({
                ...spec("pgbouncer", [roles.pgbouncer, { ...composed.primary[1], etc: BACKUP_SERVER_ETC }]),
                secretArns: TLS_ARNS,
            }),
        ).toThrow("node pgbouncer runs no PostgreSQL: a pgBackRest TLS server belongs beside one");
        expect(() =>
            renderUserData({
                ...primarySpec,
                scheduledBackup: {
                    ...composed.scheduledBackup!,
                    secrets: [{ credential: "s3_key", form: "password" }],
                },
            }),
        ).toThrow(
            "scheduled backups on EC2 take no secret but pgBackRest's client key (repo1-s3-key-type=auto), got s3_key",
        );
    });
});
