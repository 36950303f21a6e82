/**
 * Builds the arguments the policy SDK passes to `validateResource` / `validateStack`, the way its
 * server does: props wrapped in the SDK's unknown-checking proxy, secrets already unwrapped.
 */
import type {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { ResourcePolicy, StackPolicy } from "../../../policy/types";

// The SDK's sentinel for a string that is unknown during preview (@pulumi/policy/proxy, internal).
export const UNKNOWN_STRING: string = require("@pulumi/policy/proxy").unknownStringValue;

/** Thrown by the fake `notApplicable`, as the SDK's own does. */
export class NotApplicable extends Error {}

function options(opts: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        additionalSecretOutputs: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        ...opts,
    };
}

const urnOf = (type: string, name: string, stack = "prod") => `urn:pulumi:${stack}::pgha::${type}::${name}`;

/** `ResourceValidationArgs` for one resource. */
export function resourceArgs(
    type: string,
    name: string,
    props: Record<string, unknown>,
    opts?: Partial<PolicyResourceOptions>,
): ResourceValidationArgs {
    return {
        type,
        name,
        urn: urnOf(type, name),
        props: unknownCheckingProxy(props),
        opts: options(opts),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string) => {
            throw new NotApplicable(reason);
        },
    };
}

/** Runs a resource policy on one resource; returns the messages it reported. */
export function validate(
    policy: ResourcePolicy,
    type: string,
    name: string,
    props: Record<string, unknown>,
    opts?: Partial<PolicyResourceOptions>,
): string[] {
    const messages: string[] = [];
    void policy.validateResource(resourceArgs(type, name, props, opts), (message) => messages.push(message));
    return messages;
}

/** A resource of the stack, as a test declares it. */
export interface StackResource {
    type: string;
    name: string;
    props: Record<string, unknown>;
    opts?: Partial<PolicyResourceOptions>;
    /** Names of resources each property depends on, e.g. `{ bucket: ["backups"] }`. */
    propertyDependencies?: Record<string, string[]>;
}

/** `StackValidationArgs` for a set of resources, dependencies resolved to the resource objects. */
export function stackArgs(declared: StackResource[]): StackValidationArgs {
    const resources: PolicyResource[] = declared.map((d) => ({
        type: d.type,
        name: d.name,
        urn: urnOf(d.type, d.name),
        props: unknownCheckingProxy(d.props),
        opts: options(d.opts),
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    }));
    declared.forEach((d, i) => {
        for (const [key, names] of Object.entries(d.propertyDependencies ?? {})) {
            resources[i].propertyDependencies[key] = names.map((n) => {
                const target = resources.find((r) => r.name === n);
                if (!target) throw new Error(`no resource named ${n}`);
                return target;
            });
            resources[i].dependencies.push(...resources[i].propertyDependencies[key]);
        }
    });
    return {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string) => {
            throw new NotApplicable(reason);
        },
    };
}

/** What a stack policy said: its violations (with the URN each names), or why it does not apply. */
export type StackOutcome = { violations: { message: string; urn?: string }[] } | { notApplicable: string };

/** Runs a stack policy. */
export function validateStack(policy: StackPolicy, declared: StackResource[]): StackOutcome {
    const violations: { message: string; urn?: string }[] = [];
    try {
        void policy.validateStack(stackArgs(declared), (message, urn) => violations.push({ message, urn }));
    } catch (err) {
        if (err instanceof NotApplicable) return { notApplicable: err.message };
        throw err;
    }
    return { violations };
}

/** The URN the helpers give a resource. */
export { urnOf };
