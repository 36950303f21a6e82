import { jsonOutput } from "../../../scripts/bench/proc";

describe("jsonOutput", () => {
    test("one line of JSON after log lines", () => {
        expect(jsonOutput('starting\n{"ok":true,"seconds":5.5}\n')).toEqual({ ok: true, seconds: 5.5 });
    });

    test("pretty-printed JSON (npm run failover -- --json)", () => {
        const text = `${JSON.stringify({ ok: true, mode: "failover", timings: { promotedMs: 800 } }, null, 2)}\n`;
        expect(jsonOutput(text)).toEqual({ ok: true, mode: "failover", timings: { promotedMs: 800 } });
    });

    test("the last object when there are several", () => {
        expect(jsonOutput('{"a":1}\n{"b":2}')).toEqual({ b: 2 });
    });

    test.each(["", "no json here", "[1, 2]", "{ broken"])("nothing usable in %j", (text) => {
        expect(jsonOutput(text)).toBeUndefined();
    });
});
