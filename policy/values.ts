/**
 * Reading resource properties inside a policy.
 *
 * The policy SDK hands policies `props` wrapped in a proxy that throws `UnknownValueError` when a
 * property is unknown (during `pulumi preview`, an input computed from another resource's output).
 * A resource policy may let that error escape: the SDK then reports "can't run policy during
 * preview" for that one resource, and the policy runs again with known values during `pulumi up`.
 * A stack policy must not, since one unknown anywhere would skip the whole check; it reads with
 * {@link peek} instead.
 */
import { UnknownValueError } from "@pulumi/policy";

/** A property whose value is not known yet (preview of an input that depends on an output). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

function isUnknownValueError(err: unknown): boolean {
    // Duck-typed as well: the pack and the SDK could load two copies of @pulumi/policy.
    return (
        err instanceof UnknownValueError ||
        (typeof err === "object" && err !== null && "unknownTypeSentinel" in err)
    );
}

/**
 * `obj[key]`, or {@link UNKNOWN} when the policy SDK says the value is not known yet; `undefined`
 * when `obj` is not an object. Never throws for unknowns.
 */
export function peek(obj: unknown, key: string | number): unknown {
    if (obj === null || typeof obj !== "object") {
        return undefined;
    }
    try {
        return (obj as Record<string | number, unknown>)[key];
    } catch (err) {
        if (isUnknownValueError(err)) {
            return UNKNOWN;
        }
        throw err;
    }
}

/** The elements of an array property (each peeked), `[]` when it is absent or not an array, or {@link UNKNOWN}. */
export function peekArray(obj: unknown, key: string): unknown[] | typeof UNKNOWN {
    const value = peek(obj, key);
    if (value === UNKNOWN) {
        return UNKNOWN;
    }
    if (!Array.isArray(value)) {
        return [];
    }
    const length = peek(value, "length");
    return typeof length === "number" ? Array.from({ length }, (_, i) => peek(value, i)) : [];
}

/** The keys of an object property; reading keys never touches (unknown) values. */
export function keysOf(obj: unknown): string[] {
    return obj !== null && typeof obj === "object" ? Object.keys(obj) : [];
}

/**
 * The resource's tags: `tags` (the inputs), else `tagsAll` (the provider's merged view, which a
 * stack policy sees for resources already deployed). Unknown or absent tags read as `{}`.
 */
export function tagsOf(props: unknown): Record<string, unknown> {
    for (const key of ["tags", "tagsAll"]) {
        const tags = peek(props, key);
        if (
            tags !== UNKNOWN &&
            tags !== null &&
            typeof tags === "object" &&
            !Array.isArray(tags) &&
            keysOf(tags).length > 0
        ) {
            return Object.fromEntries(keysOf(tags).map((k) => [k, peek(tags, k)]));
        }
    }
    return {};
}

/**
 * Whether a CIDR block is internet-wide: the whole address space of its family (`0.0.0.0/0`,
 * `::/0`) or a block so wide that a few of them cover it (IPv4 shorter than /8, IPv6 shorter than
 * /16: `0.0.0.0/1` and `128.0.0.0/1` together are `0.0.0.0/0`).
 */
export function isInternet(cidr: unknown): boolean {
    if (typeof cidr !== "string") return false;
    const [address, prefix] = cidr.trim().split("/");
    if (prefix === undefined || !/^\d+$/.test(prefix)) return false;
    return Number(prefix) < (address.includes(":") ? 16 : 8);
}
