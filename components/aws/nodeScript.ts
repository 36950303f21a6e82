/**
 * Shell building blocks shared by the EC2 user data and the slot job's SSM document: writing a
 * role plan's files, fetching its secrets from Secrets Manager. Pure functions of their inputs.
 */
import * as path from "path";
import {
    NODE_PATHS,
    NodeFile,
    PGBACKREST_TLS_PATHS,
    ROLE_SCRIPT,
    RolePlan,
    SecretNeed,
    secretFileName,
} from "../postgres";
import type { CredentialName } from "../secrets/replicationSecrets";

/** Secrets Manager ARN by secret name (every cluster credential; more when a plan needs more). */
export type SecretArns = Readonly<Record<CredentialName, string>> & Readonly<Partial<Record<string, string>>>;

/** A role run on an EC2 node, and the directory (PGHA_ETC) holding its node.env, config files and secrets. */
export interface RoleOnNode {
    /** The role script's argument, and the systemd unit `pgha-node@<role>`; `backup-server` is pgBackRest's TLS server beside a PostgreSQL node. */
    readonly role: "primary" | "replica" | "pgbouncer" | "backup-server";
    /** PGHA_ETC of the role: /etc/pgha for PostgreSQL (postgresql.conf names /etc/pgha/pg_hba.conf), a directory of its own for a PgBouncer that shares the node. */
    readonly etc: string;
    readonly plan: RolePlan;
}

/** Quotes a string for the shell: single quotes, with embedded ones closed and escaped. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Moves a plan's files from /etc/pgha to `etc`, so two roles (or the slot job) can share a node
 * without sharing node.env or secrets. The role script stays where it is: every role runs the one
 * installed at {@link ROLE_SCRIPT}.
 * @throws Error when `etc` is not an absolute path.
 */
export function relocatePlan(plan: RolePlan, etc: string): RolePlan {
    if (!path.posix.isAbsolute(etc)) {
        throw new Error(`a role's directory must be an absolute path, got ${JSON.stringify(etc)}`);
    }
    if (etc === NODE_PATHS.etc) {
        return plan;
    }
    // Files elsewhere (a tool's own configuration) are node-wide and stay where they are.
    const files = plan.files
        .filter((f) => f.path !== ROLE_SCRIPT)
        .map((f) =>
            f.path.startsWith(`${NODE_PATHS.etc}/`)
                ? { ...f, path: path.posix.join(etc, path.posix.relative(NODE_PATHS.etc, f.path)) }
                : f,
        );
    return { files, secrets: plan.secrets };
}

/** A file's content as plain text. @throws Error for an Output: only non-secret, resolved files go into scripts. */
function plainContent(file: NodeFile): string {
    if (typeof file.content !== "string") {
        throw new Error(
            `${file.path}: only plain file contents can be written by a node script (never a secret)`,
        );
    }
    return file.content;
}

/**
 * Commands that write `files` exactly: a quoted here-document (no expansion) when the content ends
 * with a newline, base64 otherwise; directories 0755, files 0644 or 0755 when executable.
 * @throws Error when two files share a path with different contents.
 */
export function renderFileWrites(files: readonly NodeFile[]): string {
    const byPath = new Map<string, NodeFile>();
    for (const f of files) {
        const seen = byPath.get(f.path);
        if (
            seen &&
            (plainContent(seen) !== plainContent(f) || (seen.executable ?? false) !== (f.executable ?? false))
        ) {
            throw new Error(`two different files would be written to ${f.path}`);
        }
        byPath.set(f.path, f);
    }
    const dirs = [...new Set([...byPath.keys()].map((p) => path.posix.dirname(p)))];
    const lines = [`install -d -m 0755 ${dirs.map(shellQuote).join(" ")}`];
    for (const f of byPath.values()) {
        const content = plainContent(f);
        const target = shellQuote(f.path);
        if (content.endsWith("\n")) {
            let delimiter = "PGHA_EOF";
            for (let n = 1; content.split("\n").includes(delimiter); n++) delimiter = `PGHA_EOF_${n}`;
            lines.push(`cat >${target} <<'${delimiter}'`, content + delimiter);
        } else {
            lines.push(
                `printf '%s' ${shellQuote(Buffer.from(content).toString("base64"))} | base64 -d >${target}`,
            );
        }
        lines.push(`chmod ${f.executable ? "0755" : "0644"} ${target}`);
    }
    return lines.join("\n");
}

/**
 * Shell functions every node script defines: `log`, `retry` (60 attempts, 5 s apart: instance
 * credentials, mirrors and the NAT route can lag behind the first boot) and `fetch_secret`.
 */
export const SHELL_HELPERS = String.raw`log() { printf '%s pgha-bootstrap: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 60 ]; then log "giving up after $attempt attempts: $*"; return 1; fi
    log "attempt $attempt failed, retrying in 5 s: $*"
    attempt=$((attempt + 1))
    sleep 5
  done
}

# fetch_secret ARN FIELD FILE: writes one field of a JSON secret to a root-only file. The value
# passes through a pipe only: never a command line, an environment variable or the log.
fetch_secret() {
  (
    umask 077
    aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text \
      | perl -MJSON::PP -e 'my $v = JSON::PP->new->decode(do { local $/; <STDIN> })->{$ARGV[0]}; die "the secret has no $ARGV[0]\n" unless defined $v && length $v; print $v' "$2" >"$3.tmp"
  ) && mv "$3.tmp" "$3"
}`;

/**
 * Commands that fetch each of `needs` into `<etc>/secrets/<credential>.password` (0600), where
 * the role script reads them: the `password` or the `verifier` field of the credential's secret.
 * @throws Error when a needed credential has no ARN.
 */
export function renderSecretFetches(needs: readonly SecretNeed[], arns: SecretArns, etc: string): string {
    const dir = path.posix.join(etc, "secrets");
    const lines = [`install -d -m 0700 ${shellQuote(dir)}`];
    for (const need of needs) {
        const arn = arns[need.credential];
        if (!arn) {
            throw new Error(`no Secrets Manager ARN for the ${need.credential} secret this node needs`);
        }
        lines.push(
            `retry fetch_secret ${shellQuote(arn)} ${need.form} ${shellQuote(path.posix.join(dir, `${secretFileName(need)}.password`))}`,
        );
    }
    return lines.join("\n");
}

/**
 * A shell script without its comment-only and blank lines (the `#!` line stays); here-document
 * bodies are kept exactly. Shrinks the role script where bytes count (EC2 user data).
 */
export function withoutCommentLines(script: string): string {
    const out: string[] = [];
    let hereDocEnd: string | undefined;
    for (const line of script.split("\n")) {
        if (hereDocEnd !== undefined) {
            out.push(line);
            if (line === hereDocEnd) hereDocEnd = undefined;
            continue;
        }
        if (/^\s*$/.test(line) || (/^\s*#/.test(line) && !line.startsWith("#!"))) continue;
        out.push(line);
        hereDocEnd = /<<-?\s*'?"?([A-Za-z_]+)'?"?/.exec(line)?.[1];
    }
    return out.join("\n") + "\n";
}

/**
 * The fields of a pgBackRest TLS secret in Secrets Manager (`pgbackrest_server_key`,
 * `pgbackrest_client_key`): the private key under `password` (what renderSecretFetches fetches for
 * a SecretNeed), and the public certificate and the CA beside it.
 */
export const PGBACKREST_TLS_SECRET_FIELDS = {
    key: "password",
    certificate: "certificate",
    ca: "ca",
} as const;

/**
 * Commands that fetch pgBackRest's public TLS files (not the keys: the role script writes those
 * from the plans' secrets) into PGBACKREST_TLS_PATHS, world-readable: the server certificate when a
 * plan needs `pgbackrest_server_key`, the client certificate when one needs
 * `pgbackrest_client_key`, and the CA from either. Kept out of user data, which EC2 limits to 16 KB.
 * Empty when no plan needs a pgBackRest key.
 * @throws Error when a needed secret has no ARN.
 */
export function renderTlsCertificateFetches(needs: readonly SecretNeed[], arns: SecretArns): string {
    const tls = PGBACKREST_TLS_PATHS;
    const wanted = (["pgbackrest_server_key", "pgbackrest_client_key"] as const).filter((c) =>
        needs.some((n) => n.credential === c),
    );
    if (wanted.length === 0) {
        return "";
    }
    const arnOf = (credential: string) => {
        const arn = arns[credential];
        if (!arn) throw new Error(`no Secrets Manager ARN for the ${credential} secret this node needs`);
        return shellQuote(arn);
    };
    const files: [string, string, string][] = [
        ...wanted.map((c): [string, string, string] => [
            arnOf(c),
            PGBACKREST_TLS_SECRET_FIELDS.certificate,
            c === "pgbackrest_server_key" ? tls.serverCertificate : tls.clientCertificate,
        ]),
        [arnOf(wanted[0]), PGBACKREST_TLS_SECRET_FIELDS.ca, tls.ca],
    ];
    return [
        `install -d -m 0755 ${shellQuote(path.posix.dirname(tls.ca))}`,
        ...files.map(([arn, field, file]) => `retry fetch_secret ${arn} ${field} ${shellQuote(file)}`),
        `chmod 0644 ${files.map(([, , file]) => shellQuote(file)).join(" ")}`,
    ].join("\n");
}
