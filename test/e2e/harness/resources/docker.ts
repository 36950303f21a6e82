/** Docker Engine API helpers shared by the resource types. */
import * as crypto from "crypto";
import Docker from "dockerode";
import { HandlerContext, Inputs } from "./handler";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Drops undefined members (docker-modem would send them as empty query parameters). */
export function withoutUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function dockerStatus(err: unknown): number | undefined {
    return typeof err === "object" &&
        err !== null &&
        typeof (err as { statusCode?: unknown }).statusCode === "number"
        ? (err as { statusCode: number }).statusCode
        : undefined;
}

/** Runs a Docker call, treating "not found" (and optionally other statuses) as success. */
export async function ignoring<T>(call: () => Promise<T>, ...statuses: number[]): Promise<T | undefined> {
    try {
        return await call();
    } catch (err) {
        if ([404, ...statuses].includes(dockerStatus(err) ?? 0)) return undefined;
        throw err;
    }
}

export async function existsBy(call: () => Promise<unknown>): Promise<boolean> {
    return (await ignoring(async () => (await call(), true))) === true;
}

/** The last `lines` lines of a text. */
export function tail(text: string, lines: number): string {
    return text.replace(/\n+$/, "").split("\n").slice(-lines).join("\n");
}

/** `[{label, value}]` → `{label: value}`, plus the engine's own labels. */
export function labelMap(
    list: { label: string; value: string }[] | undefined,
    own: Record<string, string>,
): Record<string, string> {
    return { ...Object.fromEntries((list ?? []).map((l) => [l.label, l.value])), ...own };
}

/** The name a Docker object gets: the `name` input, else the one generated earlier, else `<pulumi name>-<random>` like Pulumi autonaming. */
export function objectName(inputs: Inputs, ctx: HandlerContext): string {
    const earlier = ctx.previous?.outputs.name;
    if (inputs.name) return inputs.name;
    if (typeof earlier === "string" && ctx.previous?.inputs.name === undefined) return earlier;
    return `${ctx.name}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

/**
 * Retries a removal while Docker answers that the object is still in use, like the provider's
 * `retry.StateChangeConf` loops (30 s); then fails with Docker's answer.
 */
export async function removeWhileInUse(
    remove: () => Promise<unknown>,
    inUse: RegExp,
    timeoutMs = 30_000,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            await ignoring(remove);
            return;
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            if (!inUse.test(message) || Date.now() > deadline) throw err;
            await sleep(1000);
        }
    }
}

/** Runs a build or pull stream to its end; returns its events. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<any[]> {
    return new Promise<any[]>((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, out: any[]) =>
            err ? reject(err) : resolve(out),
        ),
    );
}
