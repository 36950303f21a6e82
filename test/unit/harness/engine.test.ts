/**
 * The e2e engine's pure parts: Go durations as terraform-provider-docker prints them, Pulumi's
 * ignoreChanges and replaceOnChanges paths, and the plan (same / update / replace) over a
 * provider's ForceNew list.
 */
import { formatGoDuration, parseGoDuration } from "../../e2e/harness/resources/duration";
import { applyIgnoreChanges, parsePropertyPath, pathMatches } from "../../e2e/harness/options";
import { planResource } from "../../e2e/harness/plan";
import { ResourceHandler } from "../../e2e/harness/resources/handler";
import { StateEntry } from "../../e2e/harness/state";
import { HEALTHCHECK_TIMING } from "../../../components/docker/nodeContainer";

describe("Go durations (time.Duration.String, as the provider reads health checks back)", () => {
    test.each([
        ["300s", "5m0s"],
        ["3600s", "1h0m0s"],
        ["2s", "2s"],
        ["1000ms", "1s"],
        ["300ms", "300ms"],
        ["1.5s", "1.5s"],
        ["90s", "1m30s"],
        ["0s", "0s"],
        ["1h30m", "1h30m0s"],
        ["1500us", "1.5ms"],
    ])("%s reads back as %s", (written, readBack) => {
        expect(formatGoDuration(parseGoDuration(written))).toBe(readBack);
    });
});

test("the program writes every health check duration in the form the provider reads back (no diff on refresh)", () => {
    const durations = Object.entries(HEALTHCHECK_TIMING).filter(([, v]) => typeof v === "string");
    expect(durations.map(([k]) => k).sort()).toEqual([
        "interval",
        "longStartPeriod",
        "startPeriod",
        "timeout",
    ]);
    for (const [key, value] of durations)
        expect([key, formatGoDuration(parseGoDuration(value as string))]).toEqual([key, value]);
});

describe("property paths", () => {
    test("parse dotted, indexed, quoted and wildcard segments", () => {
        expect(parsePropertyPath('a.b[0]["c.d"][*]')).toEqual(["a", "b", 0, "c.d", "*"]);
        expect(() => parsePropertyPath("a..b")).toThrow("invalid property path");
    });

    test("a change of a whole object touches every path under it", () => {
        expect(pathMatches(["healthcheck"], ["healthcheck", "interval"])).toBe(true);
        expect(pathMatches(["envs"], ["healthcheck"])).toBe(false);
        expect(pathMatches(["ports", 0, "external"], ["ports", "*"])).toBe(true);
    });

    test("ignoreChanges keeps the old value, or drops the property the old inputs lacked", () => {
        const olds = { keepers: { generation: "1" }, labels: [{ label: "a", value: "1" }] };
        const news = { keepers: { generation: "2" }, labels: [{ label: "a", value: "2" }], extra: 1 };
        expect(applyIgnoreChanges(news, olds, ["keepers", "labels[0].value", "extra"])).toEqual({
            keepers: { generation: "1" },
            labels: [{ label: "a", value: "1" }],
        });
    });
});

describe("plan", () => {
    const handler: ResourceHandler = {
        inputs: {},
        updatable: new Set(["restart", "healthcheck"]),
        create: async () => ({ id: "x", outputs: {} }),
    };
    const entry = (inputs: Record<string, unknown>, extra: Partial<StateEntry> = {}): StateEntry => ({
        type: "t",
        name: "n",
        seq: 1,
        inputs,
        outputs: {},
        id: "x",
        ...extra,
    });

    test("no state: create; same inputs: same", () => {
        expect(planResource(handler, undefined, { image: "a" }, {})).toEqual({ kind: "create" });
        expect(planResource(handler, entry({ image: "a" }), { image: "a" }, {})).toEqual({ kind: "same" });
    });

    test("only updatable inputs changed: update in place; a ForceNew one: replace", () => {
        expect(
            planResource(
                handler,
                entry({ image: "a", restart: "no" }),
                { image: "a", restart: "always" },
                {},
            ),
        ).toEqual({ kind: "update", changed: ["restart"] });
        expect(
            planResource(
                handler,
                entry({ image: "a", restart: "no" }),
                { image: "b", restart: "always" },
                {},
            ),
        ).toEqual({ kind: "replace", changed: ["image", "restart"], replaceKeys: ["image"] });
    });

    test("replaceOnChanges turns an in-place change into a replacement", () => {
        const plan = planResource(
            handler,
            entry({ healthcheck: { interval: "2s" } }),
            { healthcheck: { interval: "3s" } },
            {
                replaceOnChanges: ["healthcheck"],
            },
        );
        expect(plan).toEqual({ kind: "replace", changed: ["healthcheck"], replaceKeys: ["healthcheck"] });
    });

    test("an initialization error with no diff: an empty update (Pulumi's step generator)", () => {
        expect(
            planResource(handler, entry({ image: "a" }, { initError: "timeout" }), { image: "a" }, {}),
        ).toEqual({
            kind: "update",
            changed: [],
        });
    });
});
