import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { verifyWithNpm } from "../../scripts/promote/deps";

/** Stand-ins for npm and npx that record how they were called and exit with a code of their own. */
function fakeTools(): { dir: string; calls: () => string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-promote-"));
    for (const [tool, code] of [
        ["npm", 0],
        ["npx", 3],
    ] as const) {
        fs.writeFileSync(
            path.join(dir, tool),
            `#!/bin/sh\necho "${tool} $*" >>"${dir}/calls.log"\nexit ${code}\n`,
            { mode: 0o755 },
        );
    }
    return {
        dir,
        calls: () => fs.readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n"),
    };
}

describe("promote's verify step", () => {
    const saved = process.env.PATH;
    afterEach(() => {
        process.env.PATH = saved;
    });

    test("a prod stack on AWS is verified through the SSM tunnel, a Docker stack directly; the exit code is passed on", async () => {
        const tools = fakeTools();
        process.env.PATH = `${tools.dir}:${saved}`;
        const verify = verifyWithNpm(tools.dir);
        expect(await verify("prod", true)).toBe(3);
        expect(await verify("dev", false)).toBe(0);
        expect(tools.calls()).toEqual([
            "npx tsx scripts/prod-tunnel.ts --stack prod --verify",
            "npm run --silent verify -- --stack dev",
        ]);
        fs.rmSync(tools.dir, { recursive: true, force: true });
    });
});
