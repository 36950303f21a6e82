import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { failoverUnavailable } from "../../../scripts/bench/sections/failover";

describe("failoverUnavailable", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-failover-"));
        fs.mkdirSync(path.join(root, "scripts"));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const write = (scripts: Record<string, string>, withCli: boolean) => {
        fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ scripts }));
        if (withCli) fs.writeFileSync(path.join(root, "scripts/failover.ts"), "");
    };

    test("the section is skipped, with the reason, while the CLI or its npm script is missing", () => {
        write({}, false);
        expect(failoverUnavailable(root)).toBe("npm run failover not available");
        write({ failover: "tsx scripts/failover.ts" }, false);
        expect(failoverUnavailable(root)).toBe("npm run failover not available");
        fs.rmSync(path.join(root, "package.json"));
        write({}, true);
        expect(failoverUnavailable(root)).toBe("npm run failover not available");
    });

    test("it runs once both are there", () => {
        write({ failover: "tsx scripts/failover.ts" }, true);
        expect(failoverUnavailable(root)).toBeUndefined();
    });
});
