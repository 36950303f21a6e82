/**
 * What the engine does with a declared resource, decided like Pulumi's step generator
 * (pkg/resource/deploy/step_generator.go, continueStepsFromDiff) over the provider's diff:
 * create; same; update in place when every changed input is one the provider updates; replace
 * when one is ForceNew in the provider's schema or matches `replaceOnChanges`; and, for a resource
 * whose create failed after the object existed ("initialization errors"), an empty update.
 */
import { CapturedOptions, parsePropertyPath, pathMatches } from "./options";
import { ResourceHandler } from "./resources/handler";
import { canonicalJson, StateEntry, unwrapSecrets } from "./state";

/** The step the engine takes for one resource. */
export type Plan =
    | { kind: "create" }
    | { kind: "same" }
    | { kind: "update"; changed: string[] }
    | { kind: "replace"; changed: string[]; replaceKeys: string[] };

/** Top-level input keys whose value differs between the provider's state and the new inputs. */
export function changedKeys(
    handler: ResourceHandler,
    previous: StateEntry,
    inputs: Record<string, any>,
): string[] {
    const olds =
        handler.stateView?.(previous) ??
        previous.checked ??
        (unwrapSecrets(previous.inputs) as Record<string, any>);
    const news = handler.diffView?.(inputs) ?? inputs;
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    return [...keys]
        .filter((k) => !(news[k] === undefined && handler.computed?.has(k)))
        .filter((k) => canonicalJson(olds[k]) !== canonicalJson(news[k]))
        .sort();
}

/** Plans one resource from its state entry (if any), its new inputs and its options. */
export function planResource(
    handler: ResourceHandler,
    previous: StateEntry | undefined,
    inputs: Record<string, any>,
    options: CapturedOptions,
): Plan {
    if (!previous) return { kind: "create" };
    const changed = changedKeys(handler, previous, inputs);
    if (previous.failed) return { kind: "replace", changed, replaceKeys: changed };
    const patterns = (options.replaceOnChanges ?? []).map(parsePropertyPath);
    const replaceKeys = changed.filter(
        (k) =>
            !(handler.updatable === "all" || (handler.updatable?.has(k) ?? false)) ||
            patterns.some((p) => pathMatches(parsePropertyPath(k), p)),
    );
    if (replaceKeys.length) return { kind: "replace", changed, replaceKeys };
    if (changed.length || previous.initError) return { kind: "update", changed };
    return { kind: "same" };
}
