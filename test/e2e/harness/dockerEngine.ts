/**
 * A tiny Pulumi engine + Docker provider for end-to-end tests, plugged into the Pulumi runtime
 * through `pulumi.runtime.setMocks`. It applies the resources a program declares to the local
 * Docker engine and keeps a persisted state (JSON, `state.ts`) so that consecutive runs behave
 * like consecutive `pulumi up`s, planned as Pulumi plans them (`plan.ts`): unchanged resources are
 * left alone, changes the provider applies in place are updates, ForceNew changes (and
 * `replaceOnChanges`) replace, creating the new object first and deleting the old one at the end
 * of the run unless `deleteBeforeReplace`; resources a run no longer declares are deleted by
 * `finish()`. Resource options reach the engine through a stack transformation (`options.ts`).
 *
 * A plain run never reads live state, as `pulumi up` does not; {@link DockerEngineMocks.refresh}
 * does what `pulumi up --refresh` does first. Each resource type (`resources/`) maps its inputs
 * onto the Docker Engine API the way its provider does (terraform-provider-docker for containers,
 * networks, volumes and remote images; pulumi-docker's native provider for images). Any input key
 * a type does not understand is an error, so a program change can never be silently ignored.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import Docker from "dockerode";
import { applyIgnoreChanges, OptionsCapture, stateKey } from "./options";
import { planResource } from "./plan";
import { checkKeys, HandlerContext, Inputs } from "./resources/handler";
import { deletionRank, resourceHandlers, ResourceHandler } from "./resources";
import { EngineState, loadState, saveState, StateEntry, unwrapSecrets, wrapSecret } from "./state";

export { canonicalJson, unwrapSecrets } from "./state";
export { formatGoDuration, parseGoDuration } from "./resources/duration";

/** Label put on every Docker object the engine creates, so a safety net can find leftovers. */
export const E2E_LABEL = "pgha.e2e";
/** Label holding the absolute path of the state file that owns a Docker object. */
export const E2E_STATE_LABEL = "pgha.e2e.state";

/** What one run (or a destroy) did, by Pulumi resource name. */
export interface EngineSummary {
    created: string[];
    /** Updated in place (the provider's Update), including the empty update after an initialization error. */
    updated: string[];
    replaced: string[];
    deleted: string[];
    unchanged: string[];
    /** Dropped from the state by the refresh (`--refresh`): the object was gone. */
    gone: string[];
}

/** A resource the engine failed to create, update, replace or keep. */
export interface ResourceFailure {
    type: string;
    name: string;
    message: string;
}

/** Options of {@link DockerEngineMocks}. */
export interface DockerEngineOptions {
    /** Where the engine state (like a Pulumi stack state) is persisted, as JSON. */
    statePath: string;
    /** The Pulumi project root: build contexts, Dockerfiles and upload sources are relative to it. */
    projectRoot: string;
    /** Progress lines (never secret values); default: silent. */
    log?: (line: string) => void;
    /** Docker client; default: the local engine. */
    docker?: Docker;
}

/** The key deleteAll gets for a pending delete (old objects of replacements are not in `resources`). */
const PENDING = "(pending delete)";

/**
 * `pulumi.runtime.Mocks` that act as a mini Pulumi engine over the local Docker engine, with
 * state persisted at `statePath`. `newResource` only returns once the Docker work is done, so the
 * SDK's dependency ordering (dependsOn, input dependencies) becomes real ordering.
 */
export class DockerEngineMocks implements pulumi.runtime.Mocks {
    private readonly docker: Docker;
    private readonly statePath: string;
    private readonly projectRoot: string;
    private readonly log: (line: string) => void;
    private readonly state: EngineState;
    private readonly handlers: Record<string, ResourceHandler>;
    /** State keys the current run declared. */
    private readonly declared = new Set<string>();
    private readonly done: EngineSummary = {
        created: [],
        updated: [],
        replaced: [],
        deleted: [],
        unchanged: [],
        gone: [],
    };
    private readonly failed: ResourceFailure[] = [];
    private stackTransforms = 0;
    /** Every resource's options; `runProgram` registers {@link OptionsCapture.transformation} before the program runs. */
    readonly options = new OptionsCapture();

    constructor(options: DockerEngineOptions) {
        this.statePath = path.resolve(options.statePath);
        this.projectRoot = path.resolve(options.projectRoot);
        this.docker = options.docker ?? new Docker();
        this.log = options.log ?? (() => undefined);
        this.state = loadState(this.statePath);
        this.handlers = resourceHandlers(this.projectRoot);
    }

    /** Fails with a hint when no Docker engine answers. */
    async ping(): Promise<void> {
        try {
            await this.docker.ping();
        } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            throw new Error(
                `no Docker engine answers (${reason}); start one with: bash scripts/e2e/ensure-docker.sh`,
            );
        }
    }

    /** What this run did so far. */
    summary(): EngineSummary {
        return structuredClone(this.done);
    }

    /** Invokes (data sources) are not part of the e2e engine. */
    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`the e2e engine does not implement the function ${args.token}`);
    }

    /** Records stack transforms, which the e2e engine cannot apply: the next registration fails. */
    registerTransform(): void {
        this.stackTransforms++;
    }

    /**
     * What `pulumi refresh` (and `pulumi up --refresh`, first) does: every provider reads its
     * objects back. Objects that are gone leave the state; what the providers read (a stopped
     * container's `mustRun` false, health check durations in Go's form) is what the next diff sees.
     * Providers that read nothing (random, tls, pulumi-docker's native Image) keep their state.
     */
    async refresh(): Promise<void> {
        for (const [key, entry] of Object.entries(this.state.resources)) {
            const read = this.handlers[entry.type]?.read;
            if (!read || entry.failed) continue;
            const outputs = await read(entry, this.docker);
            if (outputs === undefined) {
                this.record("gone", entry.name, entry.type);
                delete this.state.resources[key];
            } else {
                this.state.resources[key] = { ...entry, outputs };
            }
        }
        this.save();
    }

    /** Creates, updates, replaces or keeps one resource; resolves once the Docker object is ready. */
    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        if (!args.custom) return { id: undefined, state: args.inputs };
        if (args.type.startsWith("pulumi:providers:")) return { id: args.name, state: args.inputs };
        try {
            return await this.apply(args);
        } catch (err) {
            this.failed.push({
                type: args.type,
                name: args.name,
                message: err instanceof Error ? err.message : String(err),
            });
            throw err;
        }
    }

    /**
     * The resources that failed in this run, with their errors. The SDK reports a failed
     * registration only as unhandled rejections (and only if something awaits the resource), so a
     * runner must check this after the run.
     */
    failures(): ResourceFailure[] {
        return [...this.failed];
    }

    private async apply(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        const handler = this.handlers[args.type];
        if (!handler) throw new Error(`the e2e engine does not implement ${args.type}`);
        if (args.id)
            throw new Error(
                `the e2e engine cannot read or import existing resources (${args.type} ${args.name})`,
            );
        if (this.stackTransforms > 0 || args.transforms?.length)
            throw new Error("the e2e engine does not implement resource transforms");
        const options = this.options.get(args.type, args.name);
        const key = stateKey(args.type, args.name);
        if (this.declared.has(key)) throw new Error(`duplicate resource ${args.name} of type ${args.type}`);
        this.declared.add(key);
        const previous = this.state.resources[key];
        // ignoreChanges: the engine keeps the old values at those paths (on the inputs as sent, secrets still wrapped).
        const declaredInputs =
            previous && options.ignoreChanges
                ? applyIgnoreChanges(args.inputs, previous.inputs, options.ignoreChanges)
                : (args.inputs as Inputs);
        // Secret wrappers can sit anywhere (the SDK may wrap a whole list element), so check keys on unwrapped inputs.
        const inputs = unwrapSecrets(declaredInputs) as Inputs;
        checkKeys(args.type, inputs, handler.inputs);
        const checked = handler.diffView?.(inputs);
        const plan = planResource(handler, previous, inputs, options);

        if (plan.kind === "same") {
            this.record("unchanged", args.name, args.type);
            const kept = { ...previous!, options };
            this.state.resources[key] = kept;
            this.save();
            return this.result(declaredInputs, kept, handler);
        }
        if (plan.kind === "update") {
            if (!handler.update) throw new Error(`the e2e engine cannot update ${args.type} in place`);
            this.log(
                `updating ${args.type} ${args.name} in place${plan.changed.length ? ` (${plan.changed.join(", ")})` : " (initialization error last time)"}`,
            );
            const outputs = await handler.update(
                previous!,
                inputs,
                plan.changed,
                this.context(args.name, key, previous),
            );
            const updated: StateEntry = {
                ...previous!,
                inputs: declaredInputs,
                checked,
                outputs,
                options,
                initError: undefined,
            };
            this.state.resources[key] = updated;
            this.save();
            this.record("updated", args.name, args.type);
            return this.result(declaredInputs, updated, handler);
        }

        // Pulumi's two ways to replace: delete first only when the resource asks for it (or when
        // the old object never finished its create); else create the new object first and delete
        // the old one at the end of the run (its name must be free by then: a fixed container
        // name collides; for a volume, Docker hands back the existing one).
        const deleteFirst = options.deleteBeforeReplace === true || previous?.failed === true;
        if (previous) {
            if (previous.options?.protect && !previous.failed)
                throw new Error(`unable to replace ${args.type} ${args.name}: it is protected`);
            const why = plan.kind === "replace" ? plan.replaceKeys.join(", ") : "";
            if (deleteFirst) {
                this.log(`replacing ${args.type} ${args.name} (${why}): deleting the old one first`);
                await this.deleteDependents(key);
                await this.deleteEntry(key, previous);
            } else {
                this.log(`replacing ${args.type} ${args.name} (${why}): creating the new one first`);
                (this.state.pendingDeletes ??= []).push(previous);
                delete this.state.resources[key];
                this.save();
            }
        }

        const entry: StateEntry = {
            type: args.type,
            name: args.name,
            seq: ++this.state.seq,
            inputs: declaredInputs,
            checked,
            outputs: {},
            id: "",
            failed: true,
            options,
        };
        let recorded = false;
        const ctx = this.context(args.name, key, deleteFirst ? previous : undefined, (id, outputs) => {
            recorded = true;
            this.state.resources[key] = { ...entry, id, outputs };
            this.save();
        });
        let created: StateEntry;
        try {
            const { id, outputs } = await handler.create(inputs, ctx);
            created = { ...entry, id, outputs, failed: undefined };
        } catch (err) {
            // The object exists but its create failed afterwards: Pulumi keeps the resource with its
            // initialization error, and updates it (without a diff) next time.
            if (recorded) {
                const partial = this.state.resources[key];
                this.state.resources[key] = {
                    ...partial,
                    failed: undefined,
                    initError: err instanceof Error ? err.message : String(err),
                };
                this.save();
            }
            throw err;
        }
        this.record(previous ? "replaced" : "created", args.name, args.type);
        this.state.resources[key] = created;
        this.save();
        return this.result(declaredInputs, created, handler);
    }

    private context(
        name: string,
        key: string,
        previous: StateEntry | undefined,
        onCreated: HandlerContext["onCreated"] = () => undefined,
    ): HandlerContext {
        return {
            docker: this.docker,
            projectRoot: this.projectRoot,
            name,
            labels: { [E2E_LABEL]: "1", [E2E_STATE_LABEL]: this.statePath },
            previous,
            log: this.log,
            onCreated,
        };
    }

    /**
     * Ends a successful run: deletes what the run did not declare and the old objects of
     * replacements (containers, then volumes, then networks, each in reverse creation order),
     * saves the state and returns the run's summary.
     */
    async finish(): Promise<EngineSummary> {
        const stale = Object.entries(this.state.resources).filter(([key]) => !this.declared.has(key));
        await this.deleteAll([...stale, ...this.pendingDeletes()]);
        this.save();
        return this.summary();
    }

    /** Deletes everything in the state (what the providers delete) and removes the state file. */
    async destroyAll(): Promise<EngineSummary> {
        await this.deleteAll([...Object.entries(this.state.resources), ...this.pendingDeletes()]);
        fs.rmSync(this.statePath, { force: true });
        return this.summary();
    }

    /** Old objects of replacements, keyed so that deleteEntry can drop them from the pending list. */
    private pendingDeletes(): [string, StateEntry][] {
        return (this.state.pendingDeletes ?? []).map((entry) => [PENDING, entry]);
    }

    /**
     * The resource's state as the SDK sees it: inputs and outputs, the provider's secret outputs
     * and the resource's additionalSecretOutputs wrapped as secrets (as the engine does).
     */
    private result(
        inputs: Inputs,
        entry: StateEntry,
        handler: ResourceHandler,
    ): pulumi.runtime.MockResourceResult {
        const secret = new Set([
            ...(handler.secretOutputs ?? []),
            ...(entry.options?.additionalSecretOutputs ?? []),
        ]);
        const state: Record<string, unknown> = { ...inputs, ...entry.outputs, id: entry.id };
        for (const k of secret) if (state[k] !== undefined) state[k] = wrapSecret(unwrapSecrets(state[k]));
        return { id: entry.id, state };
    }

    private record(kind: keyof EngineSummary, name: string, type: string): void {
        this.done[kind].push(name);
        this.log(`${kind} ${type} ${name}`);
    }

    /** Deletes entries in dependency-safe order; reports every failure after trying them all. */
    private async deleteAll(entries: [string, StateEntry][]): Promise<void> {
        const ordered = [...entries].sort(
            ([, a], [, b]) => deletionRank(a.type) - deletionRank(b.type) || b.seq - a.seq,
        );
        const errors: string[] = [];
        for (const [key, entry] of ordered) {
            try {
                await this.deleteEntry(key, entry);
                this.record("deleted", entry.name, entry.type);
            } catch (err) {
                errors.push(
                    `deleting ${entry.type} ${entry.name}: ${err instanceof Error ? err.message : String(err)}`,
                );
            }
        }
        if (errors.length) throw new Error(errors.join("\n"));
    }

    /**
     * Before a delete-first replacement, Pulumi deletes the resources that depend on it and would
     * be replaced by the change (step_generator.go, calculateDependentReplacements): here, those
     * with an input from it that their provider cannot update in place, and their own such
     * dependents, in reverse creation order. They are created again when they register.
     */
    private async deleteDependents(key: string): Promise<void> {
        const condemned = new Set([key]);
        const order: [string, StateEntry][] = [];
        for (let grew = true; grew;) {
            grew = false;
            for (const [k, e] of Object.entries(this.state.resources)) {
                if (condemned.has(k)) continue;
                const handler = this.handlers[e.type];
                const replacedBy = Object.entries(e.options?.propertyDependencies ?? {}).some(
                    ([input, deps]) =>
                        deps.some((d) => condemned.has(d)) &&
                        !(handler?.updatable === "all" || (handler?.updatable?.has(input) ?? false)),
                );
                if (replacedBy) {
                    condemned.add(k);
                    order.push([k, e]);
                    grew = true;
                }
            }
        }
        for (const [k, e] of order.sort(([, a], [, b]) => b.seq - a.seq)) {
            this.log(
                `deleting ${e.type} ${e.name} first: it depends on ${key}, which is replaced delete-first`,
            );
            await this.deleteEntry(k, e);
        }
    }

    /** Deletes one object (unless retainOnDelete) and drops it from the state, or from the pending deletes. */
    private async deleteEntry(key: string, entry: StateEntry): Promise<void> {
        if (entry.options?.protect && !entry.failed)
            throw new Error(`unable to delete ${entry.type} ${entry.name}: it is protected`);
        if (entry.options?.retainOnDelete) this.log(`retaining ${entry.type} ${entry.name} (retainOnDelete)`);
        else await this.handlers[entry.type]?.remove?.(entry, this.docker, this.log);
        if (key === PENDING)
            this.state.pendingDeletes = this.state.pendingDeletes?.filter((e) => e !== entry);
        else delete this.state.resources[key];
        this.save();
    }

    private save(): void {
        saveState(this.statePath, this.state);
    }
}
