/**
 * The e2e engine's persisted state, like a Pulumi stack's: one entry per resource with its inputs
 * and the provider's outputs, and the old objects of replacements still to delete.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CapturedOptions } from "./options";

/** One resource in the persisted state. */
export interface StateEntry {
    type: string;
    name: string;
    /** Creation sequence number: deletion goes in reverse order. */
    seq: number;
    /** Inputs as the program sent them (secret values still wrapped, so they stay recognisable). */
    inputs: Record<string, unknown>;
    /** The inputs as the provider's Check returned them (defaults, digests), for the next diff; see ResourceHandler.diffView. */
    checked?: Record<string, unknown>;
    /** Provider-computed outputs and what the provider read back (Docker IDs, random results, ...). */
    outputs: Record<string, unknown>;
    id: string;
    /** Set while the object is being created; an entry still marked is replaced (deleted first) next time. */
    failed?: boolean;
    /**
     * The object exists but its create failed afterwards (e.g. a `wait` timeout): Pulumi keeps such
     * a resource with "initialization errors" and runs an (empty) update on it next time.
     */
    initError?: string;
    /** The resource options it was declared with (the engine keeps retainOnDelete and protect in its state too). */
    options?: CapturedOptions;
}

/** The whole state file. */
export interface EngineState {
    version: 1;
    seq: number;
    resources: Record<string, StateEntry>;
    /**
     * Old objects of create-before-delete replacements: like Pulumi's pending deletes, deleted at
     * the end of a successful run and kept in the state (to delete next time) when the run fails.
     */
    pendingDeletes?: StateEntry[];
}

/** Reads the state file, or an empty state. */
export function loadState(statePath: string): EngineState {
    return fs.existsSync(statePath)
        ? (JSON.parse(fs.readFileSync(statePath, "utf8")) as EngineState)
        : { version: 1, seq: 0, resources: {} };
}

/** Writes the state atomically, readable by its owner only (it holds secrets). */
export function saveState(statePath: string, state: EngineState): void {
    fs.mkdirSync(path.dirname(statePath), { recursive: true });
    const tmp = `${statePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, statePath);
}

export function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Replaces every secret wrapper (`{<sigKey>: <secretSig>, value}`) by its value, recursively. */
export function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (!isObject(v)) return v;
    const sig = v[pulumi.runtime.specialSigKey];
    if (sig === pulumi.runtime.specialSecretSig) return unwrapSecrets(v.value);
    if (sig !== undefined)
        throw new Error(`the e2e engine does not support input values of kind ${String(sig)}`);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
}

/** Wraps a value as a secret, as the engine returns secret outputs. */
export function wrapSecret(value: unknown): unknown {
    return { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value };
}

/** JSON with sorted object keys and no undefined members, so equal values compare equal. */
export function canonicalJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
    if (isObject(v)) {
        const keys = Object.keys(v)
            .filter((k) => v[k] !== undefined)
            .sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
    }
    return JSON.stringify(v ?? null);
}

export const sha256 = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");
