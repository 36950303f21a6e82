/**
 * What the engine needs from each resource type: the inputs it understands, how the provider
 * diffs them (which are ForceNew, which update in place, which it reads back into its state) and
 * its create / update / read (refresh) / delete.
 */
import Docker from "dockerode";
import { StateEntry } from "../state";

export type Inputs = Record<string, any>;

/** What a resource handler receives besides the inputs. */
export interface HandlerContext {
    docker: Docker;
    projectRoot: string;
    /** Pulumi resource name. */
    name: string;
    /** Labels every Docker object gets. */
    labels: Record<string, string>;
    /** The previous state entry, when its object is gone already (a name generated earlier is reused). */
    previous?: StateEntry;
    /** Progress lines. */
    log: (line: string) => void;
    /** Records an object as soon as it exists, so a failure later on cannot leak it. */
    onCreated(id: string, outputs: Record<string, unknown>): void;
}

/** Which input keys a type understands: `true` for a value used as a whole, a nested spec for objects or lists of objects. */
export type KeySpec = { [key: string]: true | KeySpec };

/** Marks an input key that is accepted on purpose but has no effect in the e2e engine. */
export const NOOP = true;

/** What a create, update or read returns. */
export interface Applied {
    id: string;
    outputs: Record<string, unknown>;
}

/** How the engine applies one resource type, as its provider does. */
export interface ResourceHandler {
    inputs: KeySpec;
    /** Output keys to return as secrets (the provider's own secret outputs). */
    secretOutputs?: string[];
    /**
     * Top-level inputs the provider changes in place (not ForceNew in its schema). A change of any
     * other input replaces the resource. Absent: every change replaces.
     */
    updatable?: ReadonlySet<string> | "all";
    /** Optional+Computed inputs: leaving them out of the program keeps the state's value (no diff). */
    computed?: ReadonlySet<string>;
    /**
     * The new inputs as the provider compares them (its schema defaults filled in, what its Check
     * adds); the engine keeps this with the state entry (`checked`) for the next diff.
     */
    diffView?(inputs: Inputs): Inputs;
    /** What the provider's state holds for the inputs (what it read back, where it reads back). */
    stateView?(entry: StateEntry): Inputs;
    create(inputs: Inputs, ctx: HandlerContext): Promise<Applied>;
    /** The in-place update of the `changed` inputs; returns the new outputs. */
    update?(
        entry: StateEntry,
        inputs: Inputs,
        changed: string[],
        ctx: HandlerContext,
    ): Promise<Record<string, unknown>>;
    /** Refresh: the live object's outputs, or undefined when it is gone. Absent: the provider reads nothing. */
    read?(entry: StateEntry, docker: Docker): Promise<Record<string, unknown> | undefined>;
    /** Deletes the object; must tolerate it being gone already. Absent: delete only drops the state. */
    remove?(entry: StateEntry, docker: Docker, log: (line: string) => void): Promise<void>;
}

/** Throws `unsupported input <type>.<key>` for the first key the spec does not list. */
export function checkKeys(type: string, value: unknown, spec: KeySpec, at = ""): void {
    if (Array.isArray(value)) {
        value.forEach((item) => checkKeys(type, item, spec, at));
        return;
    }
    if (typeof value !== "object" || value === null) return;
    for (const [key, v] of Object.entries(value)) {
        const sub = spec[key];
        const keyPath = at ? `${at}.${key}` : key;
        if (sub === undefined) throw new Error(`unsupported input ${type}.${keyPath}`);
        if (sub !== true) checkKeys(type, v, sub, keyPath);
    }
}
