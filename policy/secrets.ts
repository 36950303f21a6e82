/**
 * Secrets that are not marked secret.
 *
 * What a policy can know: the policy SDK unwraps secrets before `validateResource` runs
 * (`deserializeProperties(props, false)` in @pulumi/policy), so a `pulumi.secret(...)` input and
 * a plain string look the same, and `pulumi.isSecret` works only on Outputs, which policies never
 * see. Pulumi documents this ("secrets are unencrypted in policy checks"; pulumi/pulumi-policy#241
 * is the open request to expose secretness). The one marker visible to a policy is the resource
 * option `additionalSecretOutputs` (`args.opts`): generated provider SDKs put every property their
 * schema calls secret there (`aws.secretsmanager.SecretVersion` → `secretString`,
 * `aws.rds.Instance` → `password`), and a program adds the others. These policies require it, so a
 * secret stays encrypted in the state even if an input ever reached the resource unwrapped.
 */
import { ResourcePolicy, TYPES } from "./types";
import { keysOf, peek, peekArray, UNKNOWN } from "./values";

/** The options a check reads: the resource's `additionalSecretOutputs`. */
export interface SecretOptions {
    readonly additionalSecretOutputs?: readonly string[];
}

const WHY =
    "a policy cannot see whether an input came from pulumi.secret() (the policy SDK unwraps secrets; pulumi/pulumi-policy#241)";

/** Prefix of the environment variables that carry a node's secrets into its container (pgha-node.sh). */
export const SECRET_ENV_PREFIX = "PGHA_SECRET_";

/**
 * A `docker.Container` whose `envs` carry `PGHA_SECRET_*` variables must list `envs` in
 * `additionalSecretOutputs`. Only variable names appear in the message, never values. Entries
 * unknown during preview cannot be read; `pulumi up` checks them once known.
 */
export function unmarkedSecretEnvs(name: string, props: Record<string, any>, opts: SecretOptions): string[] {
    const envs = peekArray(props, "envs");
    if (envs === UNKNOWN) return [];
    const secretNames = envs
        .filter((e): e is string => typeof e === "string" && e.startsWith(SECRET_ENV_PREFIX))
        .map((e) => e.split("=")[0]);
    if (secretNames.length === 0 || (opts.additionalSecretOutputs ?? []).includes("envs")) return [];
    const container = typeof props.name === "string" ? props.name : name;
    return [
        `container ${container}: envs carry ${secretNames.join(", ")} but "envs" is not in additionalSecretOutputs; ${WHY}, ` +
            'so mark it on the docker.Container: { additionalSecretOutputs: ["envs"] }',
    ];
}

/** Mandatory: containers mark their secret environment as secret. */
export const dockerSecretEnvsMarked: ResourcePolicy = {
    name: "docker-secret-envs-marked-secret",
    description: `docker.Container envs that carry ${SECRET_ENV_PREFIX}* variables are listed in additionalSecretOutputs.`,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.dockerContainer) return;
        for (const message of unmarkedSecretEnvs(args.name, args.props, args.opts)) reportViolation(message);
    },
};

/** Property names that look like they hold a secret. */
export const SECRET_NAME = /password|secret/i;

/** Names that match {@link SECRET_NAME} but name, count or point at a secret rather than hold one. */
const REFERENCE_NAME =
    /(Arns?|Ids?|Names?|Length|Versions?|VersionId|Stages?|Enabled|Count|Type|Prefix|Policy|Days)$/;

/**
 * A resource input whose top-level property name matches /password|secret/i and whose value is a
 * non-empty string (or unknown yet) must be listed in `additionalSecretOutputs`. Booleans, numbers
 * and references (`secretId`, `…Arn`, `…Name`, `passwordLength`) are not secrets. Provider
 * resources are skipped: their secrets come from `pulumi config set --secret`. Nested properties
 * (`registryAuth[].password`) cannot be marked one by one (the option takes top-level names) and
 * are not checked.
 */
export function unmarkedSecretInputs(
    type: string,
    name: string,
    props: Record<string, any>,
    opts: SecretOptions,
): string[] {
    if (type.startsWith("pulumi:providers:")) return [];
    const marked = opts.additionalSecretOutputs ?? [];
    return keysOf(props)
        .filter((key) => SECRET_NAME.test(key) && !REFERENCE_NAME.test(key) && !marked.includes(key))
        .filter((key) => {
            const value = peek(props, key);
            return value === UNKNOWN || (typeof value === "string" && value !== "");
        })
        .map(
            (key) =>
                `${type} ${name}: input "${key}" looks like a secret but is not in additionalSecretOutputs; ${WHY}, so mark it: { additionalSecretOutputs: ["${key}"] }`,
        );
}

/** Mandatory: password- and secret-named inputs are marked secret. */
export const secretInputsMarked: ResourcePolicy = {
    name: "secret-inputs-marked-secret",
    description: "Resource inputs named like a password or secret are listed in additionalSecretOutputs.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of unmarkedSecretInputs(args.type, args.name, args.props, args.opts))
            reportViolation(message);
    },
};
