import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { NODE_PATHS, ROLE_SCRIPT } from "./postgresqlConf";

/** A file a node needs, with where it goes. Platforms ship these: Docker as uploads, EC2 through cloud-init. */
export interface NodeFile {
    /** Absolute path on the node. */
    readonly path: string;
    /** File content; a secret Output for secret files. */
    readonly content: pulumi.Input<string>;
    /** Whether the file is a program to run. */
    readonly executable?: boolean;
}

/** Node roles, as the role script's first argument. */
export type NodeRole =
    | "primary"
    | "replica"
    | "pgbouncer"
    | "reconcile-slots"
    | "backup-scheduler"
    | "backup-server"
    | "restore"
    | "patroni"
    | "etcd";

/** The role script, shared by every platform (components/postgres/node/pgha-node.sh). */
export function roleScript(): NodeFile {
    return {
        path: ROLE_SCRIPT,
        content: fs.readFileSync(path.join(__dirname, "node", "pgha-node.sh"), "utf8"),
        executable: true,
    };
}

/** The roles of automatic failover (components/postgres/node/pgha-patroni.sh), which sources the role script. */
export function patroniScript(): NodeFile {
    return {
        path: `${NODE_PATHS.etc}/bin/pgha-patroni`,
        content: fs.readFileSync(path.join(__dirname, "node", "pgha-patroni.sh"), "utf8"),
        executable: true,
    };
}

/** node.env: the non-secret facts the role script reads. Values are validated identifiers and host names. */
export function nodeEnvFile(env: Record<string, string | number>): NodeFile {
    const body = Object.entries(env)
        .map(([k, v]) => {
            if (!/^[A-Za-z0-9_.:/ ,+-]*$/.test(String(v))) {
                throw new Error(`node.env value for ${k} has characters outside [A-Za-z0-9_.:/ ,+-]: ${v}`);
            }
            return `${k}="${v}"`;
        })
        .join("\n");
    return { path: `${NODE_PATHS.etc}/node.env`, content: body + "\n" };
}

/** A config file under /etc/pgha. */
export function configFile(name: string, content: pulumi.Input<string>): NodeFile {
    return { path: `${NODE_PATHS.etc}/${name}`, content };
}

/** A secret file under /etc/pgha/secrets (how EC2 nodes receive secrets); the content stays a Pulumi secret. */
export function secretFile(name: string, value: pulumi.Input<string>): NodeFile {
    return { path: `${NODE_PATHS.secrets}/${name}.password`, content: pulumi.secret(value) };
}

/**
 * A secret as an environment variable `PGHA_SECRET_<NAME>=value` (how Docker nodes receive
 * secrets); the role script moves it into /etc/pgha/secrets/<name>.password and unsets it.
 * Keeping secrets out of the uploaded files keeps those files readable in `pulumi preview` diffs.
 */
export function secretEnv(name: string, value: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(value).apply((v) => secretEnvLine(name, v)));
}

/** The `PGHA_SECRET_<NAME>=value` line itself, for tools that start containers outside Pulumi. */
export function secretEnvLine(name: string, value: string): string {
    return `PGHA_SECRET_${name.toUpperCase()}=${value}`;
}
