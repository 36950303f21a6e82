/**
 * The GitHub Actions workflows: they parse, pin every action to a commit, keep permissions to
 * the least each job needs, gate prod behind the `production` environment, and never echo a secret.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const dir = path.join(__dirname, "..", "..", ".github", "workflows");
const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
const text = (file: string) => fs.readFileSync(path.join(dir, file), "utf8");
const load = (file: string): any => yaml.load(text(file));

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
const jobsOf = (file: string): [string, any][] => Object.entries(load(file).jobs ?? {});
const stepsOf = (job: any): Step[] => job.steps ?? [];
const configuresAws = (job: any) =>
    stepsOf(job).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
const pulumiSteps = (file: string, job: string): Step[] =>
    stepsOf(load(file).jobs[job]).filter((s) => s.uses?.startsWith("pulumi/actions@"));

test("the workflows are preview.yml and deploy.yml, and each parses", () => {
    expect(files).toEqual(["deploy.yml", "preview.yml"]);
    for (const f of files)
        expect(load(f)).toMatchObject({
            name: expect.any(String),
            on: expect.any(Object),
            jobs: expect.any(Object),
        });
});

describe.each(files)("%s", (file) => {
    test("pins every action to a full commit SHA, with the version in a comment", () => {
        const uses = text(file)
            .split("\n")
            .filter((l) => /^\s*(-\s+)?uses:/.test(l));
        expect(uses.length).toBeGreaterThan(0);
        for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
        for (const [, job] of jobsOf(file))
            for (const s of stepsOf(job)) if (s.uses) expect(s.uses).toMatch(/@[0-9a-f]{40}$/);
    });

    test("sets permissions at workflow or job level, never write-all or read-all", () => {
        const workflow = load(file);
        for (const [name, job] of jobsOf(file)) {
            const permissions = job.permissions ?? workflow.permissions;
            expect([name, typeof permissions]).toEqual([name, "object"]);
        }
        for (const p of [workflow.permissions, ...jobsOf(file).map(([, j]) => j.permissions)]) {
            expect(p).not.toBe("write-all");
            expect(p).not.toBe("read-all");
        }
        expect(workflow.permissions).toEqual({ contents: "read" });
    });

    test("asks for id-token: write only in jobs that configure AWS credentials, and for pull-requests: write only where it comments", () => {
        expect(load(file).permissions["id-token"]).toBeUndefined();
        for (const [name, job] of jobsOf(file)) {
            expect([name, job.permissions?.["id-token"] === "write"]).toEqual([name, configuresAws(job)]);
            const comments = stepsOf(job).some((s) => s.with?.["comment-on-pr"] === true);
            expect([name, job.permissions?.["pull-requests"] === "write"]).toEqual([name, comments]);
        }
    });

    test("assumes AWS roles through OIDC from repository variables, never keys", () => {
        for (const [, job] of jobsOf(file)) {
            for (const s of stepsOf(job).filter((x) => x.uses?.startsWith("aws-actions/"))) {
                expect(s.with?.["role-to-assume"]).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);
                expect(Object.keys(s.with ?? {})).not.toEqual(expect.arrayContaining(["aws-access-key-id"]));
            }
        }
    });

    test("takes the Pulumi token from secrets, never echoes a secret, never traces the shell", () => {
        for (const [, job] of jobsOf(file)) {
            for (const s of stepsOf(job)) {
                if (s.uses?.startsWith("pulumi/actions@"))
                    expect(s.env?.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
                if (s.run) {
                    expect(s.run).not.toMatch(/echo[^\n]*\$\{\{\s*secrets\./);
                    expect(s.run).not.toMatch(/set -[a-z]*x|set -o xtrace/);
                }
            }
        }
    });

    test("sets up Node from .nvmrc (22) and installs the policy pack's dependencies before any pulumi step", () => {
        expect(fs.readFileSync(path.join(__dirname, "..", "..", ".nvmrc"), "utf8").trim()).toBe("22");
        for (const [name, job] of jobsOf(file)) {
            const steps = stepsOf(job);
            const node = steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
            expect([name, node?.with?.["node-version-file"]]).toEqual([name, ".nvmrc"]);
            const install = steps.findIndex((s) => s.run?.includes("npm ci --prefix policy"));
            const pulumi = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            expect([name, install >= 0 && install < pulumi]).toEqual([name, true]);
        }
    });
});

describe("preview.yml", () => {
    test("runs on pull requests and previews dev and prod with --diff and the policy pack, commenting on the PR", () => {
        expect(Object.keys(load("preview.yml").on)).toEqual(["pull_request"]);
        for (const stack of ["dev", "prod"]) {
            expect(pulumiSteps("preview.yml", stack)).toEqual([
                expect.objectContaining({
                    with: {
                        command: "preview",
                        "stack-name": stack,
                        diff: true,
                        policyPacks: "policy",
                        "comment-on-pr": true,
                    },
                }),
            ]);
        }
    });
});

describe("deploy.yml", () => {
    const jobs = () => load("deploy.yml").jobs;

    test("runs on pushes to main", () => {
        expect(load("deploy.yml").on).toEqual({ push: { branches: ["main"] } });
    });

    test("deploys dev with the policy pack, then verifies it", () => {
        const steps = stepsOf(jobs().dev);
        expect(pulumiSteps("deploy.yml", "dev")).toEqual([
            expect.objectContaining({
                with: expect.objectContaining({ command: "up", "stack-name": "dev", policyPacks: "policy" }),
            }),
        ]);
        const up = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        const verify = steps.findIndex((s) => s.run === "npm run verify -- --stack dev");
        expect(verify).toBeGreaterThan(up);
    });

    test("deploys prod only after dev, behind the production environment, with the policy pack", () => {
        const prod = jobs().prod;
        expect(prod.needs).toBe("dev");
        expect(prod.environment === "production" || prod.environment?.name === "production").toBe(true);
        expect(pulumiSteps("deploy.yml", "prod")).toEqual([
            expect.objectContaining({ with: { command: "up", "stack-name": "prod", policyPacks: "policy" } }),
        ]);
        expect(jobs().dev.environment).toBeUndefined();
    });

    test("names the prod verification step, and says it waits for the SSM tunnel of issue 5 until scripts/prod-tunnel.* exists", () => {
        const steps = stepsOf(jobs().prod);
        const names = steps.map((s) => s.name ?? "");
        const tunnel = fs
            .readdirSync(path.join(__dirname, "..", "..", "scripts"))
            .some((f) => f.startsWith("prod-tunnel."));
        const verify = steps.find((s) => s.run?.includes("npm run verify -- --outputs prod-outputs.json"));
        if (tunnel) {
            expect(verify).toBeDefined();
        } else {
            expect(text("deploy.yml")).toMatch(/TODO\(issue 5\): verify prod through the SSM tunnel/);
            expect(names).toContain("Verify replication on prod (pending issue 5, the SSM tunnel)");
        }
        expect(names.indexOf(names.find((n) => n.startsWith("Verify replication on prod"))!)).toBe(
            steps.length - 1,
        );
    });
});
