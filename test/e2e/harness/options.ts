/**
 * Resource options, captured for the e2e engine. `pulumi.runtime.setMocks` hands the mocks only a
 * resource's type, name and inputs: the options that decide how the real engine plans a resource
 * (`deleteBeforeReplace`, `ignoreChanges`, ...) never reach them. A stack transformation runs in
 * the SDK, in every resource's constructor, and sees the options: {@link OptionsCapture.transformation}
 * records them, and the engine looks them up when the resource registers.
 */
import * as pulumi from "@pulumi/pulumi";

/** The resource options the e2e engine honours, as the Pulumi engine does. */
export interface CapturedOptions {
    /** Delete the old object before creating its replacement (default: create first, delete at the end of the run). */
    deleteBeforeReplace?: boolean;
    /** Property paths whose changes are ignored: the old value is kept. */
    ignoreChanges?: string[];
    /** Property paths whose changes replace the resource even if the provider would update it in place. */
    replaceOnChanges?: string[];
    /** Deleting the resource only drops it from the state; the object stays. */
    retainOnDelete?: boolean;
    /** Output properties returned as secrets. */
    additionalSecretOutputs?: string[];
    /** Deleting or replacing the resource is an error. */
    protect?: boolean;
    /**
     * Property dependencies, as the engine records them: input name → state keys of the custom
     * resources its value came from. A deleteBeforeReplace replacement deletes first the dependents
     * whose dependent input the provider cannot update in place.
     */
    propertyDependencies?: Record<string, string[]>;
}

/** Options that change what the engine does and that the e2e engine does not implement: using one is an error. */
// (`aliases` only move state between names; SDKs add them for renamed types, as @pulumi/docker's Image does.)
const UNSUPPORTED = [
    "customTimeouts",
    "deletedWith",
    "replaceWith",
    "hooks",
    "import",
    "id",
    "transforms",
] as const;

/** Collects every resource's options, keyed like the engine's state (`<type>::<name>`). */
export class OptionsCapture {
    private readonly byKey = new Map<string, CapturedOptions>();
    private readonly problems = new Map<string, string>();

    /** The stack transformation to register (`pulumi.runtime.registerStackTransformation`); it changes nothing. */
    readonly transformation: pulumi.ResourceTransformation = (args) => {
        const key = stateKey(args.type, args.name);
        const opts = args.opts as pulumi.CustomResourceOptions & Record<string, unknown>;
        const unsupported = UNSUPPORTED.filter((k) => {
            const v = opts[k];
            return v !== undefined && !(Array.isArray(v) && v.length === 0);
        });
        if (unsupported.length)
            this.problems.set(
                key,
                `the e2e engine does not implement the resource option ${unsupported.join(", ")}`,
            );
        this.byKey.set(
            key,
            withoutUndefined({
                deleteBeforeReplace: opts.deleteBeforeReplace,
                ignoreChanges: nonEmpty(opts.ignoreChanges),
                replaceOnChanges: nonEmpty(opts.replaceOnChanges),
                retainOnDelete: opts.retainOnDelete,
                additionalSecretOutputs: nonEmpty(opts.additionalSecretOutputs),
                protect: opts.protect,
                propertyDependencies: propertyDependencies(args.props),
            }),
        );
        return undefined;
    };

    /** The options a resource was declared with; throws for an option the engine does not implement. */
    get(type: string, name: string): CapturedOptions {
        const key = stateKey(type, name);
        const problem = this.problems.get(key);
        if (problem) throw new Error(problem);
        const options = this.byKey.get(key);
        if (!options)
            throw new Error(
                `no resource options were captured for ${type} ${name}: register OptionsCapture.transformation before the program runs`,
            );
        return options;
    }
}

/** The custom resources each input's value depends on (through Outputs), as state keys. */
function propertyDependencies(props: Record<string, unknown>): Record<string, string[]> | undefined {
    const found: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(props ?? {})) {
        const keys = new Set<string>();
        collectResources(value, keys, new Set());
        if (keys.size) found[name] = [...keys].sort();
    }
    return Object.keys(found).length ? found : undefined;
}

function collectResources(value: unknown, keys: Set<string>, seen: Set<unknown>): void {
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    if (pulumi.Output.isInstance(value)) {
        // Output.resources() is the SDK's own record of where a value came from (internal, synchronous).
        const resources = (value as unknown as { resources(): Set<pulumi.Resource> }).resources();
        for (const r of resources) {
            const res = r as unknown as { __pulumiType?: string; __name?: string };
            if (pulumi.CustomResource.isInstance(r) && res.__pulumiType && res.__name)
                keys.add(stateKey(res.__pulumiType, res.__name));
        }
        return;
    }
    for (const v of Array.isArray(value) ? value : Object.values(value)) collectResources(v, keys, seen);
}

/** The key of a resource in the engine's state. */
export function stateKey(type: string, name: string): string {
    return `${type}::${name}`;
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
    return list && list.length ? [...list] : undefined;
}

function withoutUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------
// Property paths (`a.b[0]["c"]`, `*` and `[*]` as wildcards), as ignoreChanges and replaceOnChanges take them
// ---------------------------------------------------------------------------------------------

type Segment = string | number;
const WILDCARD = "*";

/** Parses a Pulumi property path into segments; `*` stands for any key or index. */
export function parsePropertyPath(text: string): Segment[] {
    const segments: Segment[] = [];
    const re = /\[(\d+)\]|\[\*\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/gy;
    let m: RegExpExecArray | null;
    while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
        if (m[1] !== undefined) segments.push(Number(m[1]));
        else if (m[0] === "[*]") segments.push(WILDCARD);
        else if (m[2] !== undefined) segments.push(JSON.parse(`"${m[2]}"`));
        else segments.push(m[3]);
    }
    if (re.lastIndex !== text.length || segments.length === 0)
        throw new Error(`invalid property path ${JSON.stringify(text)}`);
    return segments;
}

function isContainer(v: unknown): v is Record<string | number, unknown> {
    return typeof v === "object" && v !== null;
}

/** Whether a changed property (a path without wildcards) falls under a pattern (a prefix, with wildcards). */
export function pathMatches(changed: Segment[], pattern: Segment[]): boolean {
    if (pattern.length > changed.length) {
        // A change of a whole object or list touches every path under it.
        return pattern.slice(0, changed.length).every((p, i) => p === WILDCARD || p === changed[i]);
    }
    return pattern.every((p, i) => p === WILDCARD || p === changed[i]);
}

/**
 * Applies `ignoreChanges` like the Pulumi engine: at each path, the new inputs take the old
 * value, or lose the property when the old inputs have none. Returns a copy.
 */
export function applyIgnoreChanges(
    news: Record<string, unknown>,
    olds: Record<string, unknown>,
    paths: string[],
): Record<string, unknown> {
    const result = structuredClone(news);
    for (const text of paths) copyAt(result, olds, parsePropertyPath(text));
    return result;
}

function copyAt(target: unknown, source: unknown, path: Segment[]): void {
    if (!isContainer(target)) return;
    const [head, ...rest] = path;
    const keys =
        head === WILDCARD
            ? [...new Set([...Object.keys(target), ...(isContainer(source) ? Object.keys(source) : [])])]
            : [head];
    for (const key of keys) {
        const k = Array.isArray(target) && typeof key === "string" && /^\d+$/.test(key) ? Number(key) : key;
        const old = isContainer(source) ? source[k] : undefined;
        if (rest.length === 0) {
            if (old === undefined) {
                if (Array.isArray(target) && typeof k === "number") continue;
                delete target[k];
            } else target[k] = structuredClone(old);
        } else {
            // Like the engine's SetValue: missing containers on the way are created.
            if (!isContainer(target[k]) && isContainer(old)) target[k] = Array.isArray(old) ? [] : {};
            copyAt(target[k], old, rest);
        }
    }
}
