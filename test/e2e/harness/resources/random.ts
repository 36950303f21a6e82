/** random:index/* (terraform-provider-random): computed once at create; every input is ForceNew. */
import * as crypto from "crypto";
import { Inputs, KeySpec, ResourceHandler } from "./handler";

/** terraform-provider-random's default special characters. */
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

const randomStringSpec: KeySpec = {
    keepers: true,
    length: true,
    lower: true,
    minLower: true,
    minNumeric: true,
    minSpecial: true,
    minUpper: true,
    number: true,
    numeric: true,
    overrideSpecial: true,
    special: true,
    upper: true,
};

/** A random string honouring length, the enabled character classes and their minimums. */
function randomChars(i: Inputs): string {
    const classes: [enabled: boolean, chars: string, min: number][] = [
        [i.upper ?? true, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", i.minUpper ?? 0],
        [i.lower ?? true, "abcdefghijklmnopqrstuvwxyz", i.minLower ?? 0],
        [i.numeric ?? i.number ?? true, "0123456789", i.minNumeric ?? 0],
        [i.special ?? true, i.overrideSpecial ?? DEFAULT_SPECIAL, i.minSpecial ?? 0],
    ];
    const enabled = classes.filter(([on, chars]) => on && chars.length > 0);
    const pick = (chars: string) => chars[crypto.randomInt(chars.length)];
    const required = enabled.flatMap(([, chars, min]) => Array.from({ length: min }, () => pick(chars)));
    if (enabled.length === 0) throw new Error("random string: no character class is enabled");
    if (required.length > i.length)
        throw new Error(`random string: length ${i.length} is below the sum of the minimums`);
    const all = enabled.map(([, chars]) => chars).join("");
    const result = [...required, ...Array.from({ length: i.length - required.length }, () => pick(all))];
    for (let k = result.length - 1; k > 0; k--) {
        const j = crypto.randomInt(k + 1);
        [result[k], result[j]] = [result[j], result[k]];
    }
    return result.join("");
}

export const randomPasswordHandler: ResourceHandler = {
    inputs: randomStringSpec,
    secretOutputs: ["result"],
    async create(inputs) {
        return { id: "none", outputs: { result: randomChars(inputs) } };
    },
};

export const randomStringHandler: ResourceHandler = {
    inputs: randomStringSpec,
    async create(inputs) {
        const result = randomChars(inputs);
        return { id: result, outputs: { result } };
    },
};

export const randomIdHandler: ResourceHandler = {
    inputs: { byteLength: true, keepers: true, prefix: true },
    async create(inputs) {
        const bytes = crypto.randomBytes(inputs.byteLength);
        const prefix: string = inputs.prefix ?? "";
        const b64Url = bytes.toString("base64url");
        return {
            id: b64Url,
            outputs: {
                hex: prefix + bytes.toString("hex"),
                b64Std: prefix + bytes.toString("base64"),
                b64Url: prefix + b64Url,
                dec: prefix + BigInt(`0x${bytes.toString("hex") || "0"}`).toString(),
            },
        };
    },
};
