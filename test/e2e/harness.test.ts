/**
 * End-to-end test of the e2e harness itself: runs the fixture program in
 * test/e2e/harness/fixtures through the CLI, one process per run like `pulumi up`, against the
 * real local Docker engine, and checks the engine's create / no-op / replace / delete / destroy
 * behaviour, real dependsOn ordering, input validation and secret hygiene.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import { runProgramProcess, RunProgramOptions, RunProgramResult } from "./harness/client";
import { E2E_LABEL, E2E_STATE_LABEL } from "./harness/dockerEngine";

jest.setTimeout(120_000);

const docker = new Docker();
const FIXTURE = path.join(__dirname, "harness/fixtures");
const prefix = `hfx-${process.pid}-${Date.now().toString(36)}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-harness-"));
const statePath = path.join(tmp, "state.json");
const outputsPath = path.join(tmp, "outputs.json");
/** Everything every run printed, to check that no secret leaked. */
const printed: string[] = [];

/** One run of the fixture stack; `config` adds to the prefix every run needs. */
async function run(
    config: Record<string, string> = {},
    extra: Partial<RunProgramOptions> = {},
): Promise<RunProgramResult> {
    const result = await runProgramProcess({
        stack: "harness",
        projectRoot: FIXTURE,
        statePath,
        outputsPath,
        config: { "harnessfx:prefix": prefix, ...config },
        ...extra,
    });
    printed.push(result.stdout, result.stderr);
    return result;
}

function expectSuccess(
    result: RunProgramResult,
): asserts result is RunProgramResult & { summary: NonNullable<RunProgramResult["summary"]> } {
    if (result.code !== 0) throw new Error(`run failed with code ${result.code}:\n${result.stderr}`);
    expect(result.summary).toBeDefined();
}

const sorted = (names: string[]) => [...names].sort();
const inspect = (suffix: string) => docker.getContainer(`${prefix}-${suffix}`).inspect();

/** Runs a command in a container and returns its stdout. */
async function exec(suffix: string, cmd: string[]): Promise<string> {
    const e = await docker
        .getContainer(`${prefix}-${suffix}`)
        .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    docker.modem.demuxStream(stream, stdout, new PassThrough());
    await new Promise((resolve) => stream.on("end", resolve));
    return out;
}

/** Containers, volumes and networks this test's state file owns. */
async function ownedObjects(): Promise<string[]> {
    const filters = { label: [`${E2E_LABEL}=1`, `${E2E_STATE_LABEL}=${statePath}`] };
    const containers = await docker.listContainers({ all: true, filters });
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    const networks = await docker.listNetworks({ filters });
    return [
        ...containers.map((c) => c.Names[0]),
        ...volumes.map((v) => v.Name),
        ...networks.map((n) => n.Name),
    ];
}

const ALL = ["data", "extra", "first", "image", "net", "password", "second"];
let firstId: string;
let secondId: string;
let password: string;

afterAll(async () => {
    // Safety net: whatever a failed test left behind.
    if (fs.existsSync(statePath)) await run({}, { destroy: true });
    fs.rmSync(tmp, { recursive: true, force: true });
});

test("a run without a required config value fails like the Pulumi CLI", async () => {
    const result = await runProgramProcess({
        stack: "harness",
        projectRoot: FIXTURE,
        statePath,
        outputsPath,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Stack 'harness' is missing configuration value 'harnessfx:prefix'");
    expect(fs.existsSync(statePath)).toBe(false);
});

test("the first run creates everything, in dependsOn order", async () => {
    const result = await run();
    expectSuccess(result);
    expect(sorted(result.summary.created)).toEqual(ALL);
    expect(result.summary.unchanged).toEqual([]);

    // Outputs: plain JSON, secrets shown; config layered Pulumi.yaml < Pulumi.harness.yaml.
    const outputs = result.outputs!;
    expect(outputs.settings).toEqual({ message: "hello", withExtra: true });
    expect(outputs.networkName).toBe(`${prefix}-net`);
    expect(outputs.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Row 8: pulumi-docker's Image builds with BuildKit for the host platform (its Check forces it);
    // the local-only base image (pgha-base:bookworm) resolves on this engine all the same.
    expect(result.stderr).toMatch(new RegExp(`building ${prefix}-image:latest with BuildKit for linux/`));
    expect(outputs.firstPort).toEqual(expect.any(Number));
    password = outputs.secretPassword as string;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect((fs.statSync(outputsPath).mode & 0o777).toString(8)).toBe("600");

    const first = await inspect("first");
    const second = await inspect("second");
    firstId = first.Id;
    secondId = second.Id;
    expect(first.Config.Labels[E2E_LABEL]).toBe("1");
    expect(first.HostConfig.PortBindings["8080/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "" }]);
    expect(first.NetworkSettings.Ports["8080/tcp"]?.[0]).toEqual({
        HostIp: "127.0.0.1",
        HostPort: String(outputs.firstPort),
    });
    expect(first.Mounts.map((m) => m.Name)).toEqual([`${prefix}-data`]);
    expect(first.State.Health?.Status).toBe("healthy");
    expect(first.Image).toBe(outputs.imageId);
    expect(await exec("first", ["cat", "/etc/harness-greeting"])).toBe("built-by-harness\n");

    // `first` only becomes healthy 3 s after it started: `second` (dependsOn first) must come later.
    const gap = Date.parse(second.Created) - Date.parse(first.State.StartedAt);
    expect(gap).toBeGreaterThanOrEqual(2900);
    // `second` is referenced by no export, and was still awaited (healthy, uploads in place).
    expect(second.State.Health?.Status).toBe("healthy");
    expect(await exec("second", ["cat", "/etc/harness/password"])).toBe(password);
    expect(
        await exec("second", ["stat", "-c", "%a %U", "/usr/local/bin/hello", "/etc/harness/password"]),
    ).toBe("744 root\n644 root\n");
    expect(await exec("second", ["hello"])).toContain("hello from");
});

test("a second run with the same config changes nothing", async () => {
    const result = await run();
    expectSuccess(result);
    expect(sorted(result.summary.unchanged)).toEqual(ALL);
    expect([...result.summary.created, ...result.summary.replaced, ...result.summary.deleted]).toEqual([]);
    expect(result.outputs!.secretPassword).toBe(password);
    expect((await inspect("first")).Id).toBe(firstId);
    expect((await inspect("second")).Id).toBe(secondId);
});

test("changing one container's input replaces only that container", async () => {
    const result = await run({ message: "changed" });
    expectSuccess(result);
    expect(result.summary.replaced).toEqual(["second"]);
    expect(result.summary.created).toEqual([]);
    expect(result.outputs!.settings).toEqual({ message: "changed", withExtra: true });
    expect((await inspect("first")).Id).toBe(firstId);
    const second = await inspect("second");
    expect(second.Id).not.toBe(secondId);
    expect(second.Config.Env).toContain("MESSAGE=changed");
});

test("a resource the program no longer declares is deleted", async () => {
    const result = await run({ message: "changed", "harnessfx:withExtra": "false" });
    expectSuccess(result);
    expect(result.summary.deleted).toEqual(["extra"]);
    expect(result.summary.replaced).toEqual([]);
    await expect(docker.getVolume(`${prefix}-extra`).inspect()).rejects.toMatchObject({ statusCode: 404 });
});

test("an input the engine does not implement fails the run", async () => {
    const result = await run({
        message: "changed",
        "harnessfx:withExtra": "false",
        "harnessfx:unsupported": "true",
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unsupported input docker:index/container:Container.gpus");
    expect(result.outputs).toBeUndefined();
    // Nothing was deleted or replaced by the failed run.
    expect(result.summary?.deleted).toEqual([]);
    expect((await inspect("second")).State.Running).toBe(true);
});

test("no secret value was ever printed", () => {
    expect(password).toBeTruthy();
    for (const text of printed) expect(text).not.toContain(password);
});

test("row 1, before: pulumi-docker's native Image never reads the engine: after a prune, up --refresh recreates the container from an image ID that is gone, and fails", async () => {
    const image = (await inspect("first")).Image;
    await docker.getContainer(`${prefix}-first`).remove({ force: true });
    await docker.getContainer(`${prefix}-second`).remove({ force: true });
    await docker.getImage(image).remove({ force: true });
    const result = await run({ message: "changed", "harnessfx:withExtra": "false" }, { refresh: true });
    expect(result.code).not.toBe(0);
    expect(result.summary?.gone.sort()).toEqual(["first", "second"]);
    expect(result.stderr).toContain(`Unable to create container with image ${image}`);
});

test("destroy removes every object of the stack", async () => {
    const result = await run({}, { destroy: true });
    expectSuccess(result);
    // (first and second went with the prune: the refresh dropped them from the state.)
    expect(sorted(result.summary.deleted)).toEqual(["data", "image", "net", "password"]);
    expect(await ownedObjects()).toEqual([]);
    expect(fs.existsSync(statePath)).toBe(false);
});

describe("resource options reach the engine (captured by a stack transformation)", () => {
    const optsPrefix = `${prefix}-o`;
    const optsState = path.join(tmp, "options-state.json");
    const runOptions = (config: Record<string, string> = {}, extra: Partial<RunProgramOptions> = {}) =>
        runProgramProcess({
            stack: "harness",
            projectRoot: FIXTURE,
            program: "options.ts",
            statePath: optsState,
            outputsPath: path.join(tmp, "options-outputs.json"),
            config: { "harnessfx:prefix": optsPrefix, ...config },
            ...extra,
        });
    const volumeLabels = async (suffix: string) =>
        (await docker.getVolume(`${optsPrefix}-${suffix}`).inspect()).Labels;
    let first: Record<string, unknown>;

    afterAll(async () => {
        if (fs.existsSync(optsState)) await runOptions({ "harnessfx:protected": "false" }, { destroy: true });
        await docker
            .getContainer(`${optsPrefix}-onnet`)
            .remove({ force: true })
            .catch(() => undefined);
        for (const suffix of ["createfirst", "deletefirst", "kept", "guarded"])
            await docker
                .getVolume(`${optsPrefix}-${suffix}`)
                .remove()
                .catch(() => undefined);
    });

    test("additionalSecretOutputs makes an output secret; the first run creates everything", async () => {
        const result = await runOptions({ "harnessfx:protected": "true" });
        expectSuccess(result);
        expect(result.summary.created).toHaveLength(10);
        first = result.outputs!;
        expect(first.hiddenIsSecret).toBe(true);
        expect(first.plainIsSecret).toBe(false);
        expect((await volumeLabels("kept"))["pgha.generation"]).toBe("1");
    });

    test("a protected resource cannot be replaced: the run fails and the object stays", async () => {
        const result = await runOptions({ "harnessfx:protected": "true", "harnessfx:guard": "2" });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(
            "unable to replace docker:index/volume:Volume guarded: it is protected",
        );
        expect((await volumeLabels("guarded"))["pgha.guard"]).toBe("1");
    });

    test("ignoreChanges keeps the old inputs; deleteBeforeReplace deletes first; without it the fixed-name volume is created first, so Docker hands back the old volume and the old one's delete removes it, and the network is doubled on this engine", async () => {
        // Count the networks of each name while the run goes (Docker below API 1.44 allows duplicates).
        const most: Record<string, number> = { netcf: 0, netdf: 0 };
        let running = true;
        const watch = (async () => {
            while (running) {
                for (const n of Object.keys(most)) {
                    const list = await docker.listNetworks({ filters: { name: [`${optsPrefix}-${n}`] } });
                    const exact = list.filter((x) => x.Name === `${optsPrefix}-${n}`).length;
                    most[n] = Math.max(most[n], exact);
                }
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        const onnet = (await docker.getContainer(`${optsPrefix}-onnet`).inspect()).Id;
        const result = await runOptions({ "harnessfx:generation": "2" });
        running = false;
        await watch;
        expect(most).toEqual({ netcf: 2, netdf: 1 });
        // The container on the delete-first network was deleted before it, and created again on the new one.
        expect(result.stderr).toContain("deleting docker:index/container:Container onnet first");
        const after = await docker.getContainer(`${optsPrefix}-onnet`).inspect();
        expect(after.Id).not.toBe(onnet);
        expect(Object.keys(after.NetworkSettings.Networks)).toEqual([`${optsPrefix}-netdf`]);
        expectSuccess(result);
        const outputs = result.outputs!;
        expect(outputs.ignoredResult).toBe(first.ignoredResult);
        expect(outputs.ignoredKeepers).toEqual({ generation: "1" });
        expect(outputs.plainResult).not.toBe(first.plainResult);
        expect(sorted(result.summary.replaced)).toEqual([
            "createfirst",
            "deletefirst",
            "kept",
            "netcreatefirst",
            "netdeletefirst",
            "plain",
        ]);
        // Deleted first: the new volume has the new labels.
        expect((await volumeLabels("deletefirst"))["pgha.generation"]).toBe("2");
        // Created first: Docker answered with the existing volume, then the old resource's delete
        // (at the end of the run) removed it, although the state holds the new resource.
        await expect(volumeLabels("createfirst")).rejects.toMatchObject({ statusCode: 404 });
        // retainOnDelete: the old resource's delete left the volume, and the new one is that volume.
        expect((await volumeLabels("kept"))["pgha.generation"]).toBe("1");
        const state = JSON.parse(fs.readFileSync(optsState, "utf8"));
        expect(state.pendingDeletes).toEqual([]);
        expect(Object.keys(state.resources)).toContain("docker:index/volume:Volume::createfirst");
    });

    test("destroy leaves what has retainOnDelete and drops it from the state", async () => {
        const result = await runOptions({}, { destroy: true });
        expectSuccess(result);
        expect(result.summary.deleted).toContain("kept");
        expect((await volumeLabels("kept"))["pgha.generation"]).toBe("1");
        await expect(volumeLabels("deletefirst")).rejects.toMatchObject({ statusCode: 404 });
        expect(fs.existsSync(optsState)).toBe(false);
    });
});

describe("what the real Docker provider does, and how the program copes (fixture provider.ts)", () => {
    const pfx = `${prefix}-p`;
    const pState = path.join(tmp, "provider-state.json");
    let base: Record<string, string> = {};
    const runP = (config: Record<string, string> = {}, extra: Partial<RunProgramOptions> = {}) =>
        runProgramProcess({
            stack: "harness",
            projectRoot: FIXTURE,
            program: "provider.ts",
            statePath: pState,
            outputsPath: path.join(tmp, "provider-outputs.json"),
            config: { "harnessfx:prefix": pfx, ...base, ...config },
            ...extra,
        });
    const svc = () => docker.getContainer(`${pfx}-svc`).inspect();
    const lastStop = async () => {
        const e = await docker
            .getContainer(`${pfx}-svc`)
            .exec({ Cmd: ["cat", "/data/last-stop"], AttachStdout: true, AttachStderr: true });
        const stream = await e.start({});
        const out = new PassThrough();
        let text = "";
        out.on("data", (d: Buffer) => (text += d.toString()));
        docker.modem.demuxStream(stream, out, new PassThrough());
        await new Promise((resolve) => stream.on("end", resolve));
        return text.trim();
    };
    const noChange = { created: [], updated: [], replaced: [], deleted: [], gone: [] };
    let svcId: string;

    afterAll(async () => {
        if (fs.existsSync(pState)) await runP({}, { destroy: true });
        for (const c of ["svc", "job", "sick"])
            await docker
                .getContainer(`${pfx}-${c}`)
                .remove({ force: true })
                .catch(() => undefined);
        await docker
            .getVolume(`${pfx}-svcdata`)
            .remove()
            .catch(() => undefined);
    });

    test("row 8: the image builds with BuildKit from a local-only base image; the service is waited for; the job ran", async () => {
        const result = await runP();
        expectSuccess(result);
        expect(result.stderr).toContain(`building ${pfx}-svc:latest with BuildKit`);
        expect(result.outputs!.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(result.outputs!.jobExitCode).toBe(0);
        const info = await svc();
        svcId = info.Id;
        expect(info.State.Health?.Status).toBe("healthy");
        expect(info.Image).toBe(result.outputs!.imageId);
        // The provider reads the health check back as Go prints durations.
        expect(result.outputs!.serviceHealthcheck).toEqual({
            tests: ["CMD", "test", "-f", "/tmp/ready"],
            interval: "1s",
            timeout: "2s",
            startPeriod: "0s",
            startInterval: "0s",
            retries: 3,
        });
    });

    test("row 5: with durations written as the provider reads them back, a second up and an up after a refresh change nothing", async () => {
        const second = await runP();
        expectSuccess(second);
        expect(second.summary).toMatchObject(noChange);
        const refreshed = await runP({}, { refresh: true });
        expectSuccess(refreshed);
        expect(refreshed.summary).toMatchObject(noChange);
        expect((await svc()).Id).toBe(svcId);
    });

    test("rows 5 and 6: a duration written otherwise (1000ms, read back as 1s) is an in-place update after every refresh, which never reaches the container", async () => {
        const first = await runP({ "harnessfx:interval": "1000ms" });
        expectSuccess(first);
        expect(first.summary).toMatchObject({ updated: ["svc"], replaced: [] });
        expect(first.stderr).toContain(
            "updating docker:index/container:Container svc in place (healthcheck)",
        );
        const again = await runP({ "harnessfx:interval": "1000ms" });
        expect(again.summary).toMatchObject(noChange);
        const refreshed = await runP({ "harnessfx:interval": "1000ms" }, { refresh: true });
        expect(refreshed.summary).toMatchObject({ updated: ["svc"], replaced: [] });
        // A real change of the health check also changes only the state.
        const changed = await runP({ "harnessfx:interval": "3s" });
        expect(changed.summary).toMatchObject({ updated: ["svc"], replaced: [] });
        const info = await svc();
        expect(info.Id).toBe(svcId);
        expect(info.Config.Healthcheck?.Interval).toBe(1e9);
    });

    test("row 6: restart and destroyGraceSeconds update in place, the restart policy reaches the container; envs (ForceNew) replace", async () => {
        const updated = await runP({ "harnessfx:restart": "always", "harnessfx:grace": "0" });
        expectSuccess(updated);
        expect(updated.summary).toMatchObject({ updated: ["svc"], replaced: [] });
        const info = await svc();
        expect(info.Id).toBe(svcId);
        expect(info.HostConfig.RestartPolicy?.Name).toBe("always");
        base = { "harnessfx:restart": "always", "harnessfx:grace": "0" };
    });

    test("row 2: a replacement deletes with destroyGraceSeconds, not stopTimeout: 0 kills at once, a grace period lets the container stop cleanly", async () => {
        // The old container is deleted with the grace period in its state: 0 (stopTimeout is 30).
        const killed = await runP({ "harnessfx:message": "two" });
        expectSuccess(killed);
        expect(killed.summary).toMatchObject({ replaced: ["svc"] });
        expect(await lastStop()).toBe("none");
        base = { "harnessfx:message": "two", "harnessfx:grace": "5" };
        const graceful = await runP();
        expect(graceful.summary).toMatchObject({ updated: ["svc"] });
        const clean = await runP({ "harnessfx:message": "three" });
        expectSuccess(clean);
        expect(clean.summary).toMatchObject({ replaced: ["svc"] });
        expect(await lastStop()).toBe("clean");
        base = { "harnessfx:message": "three", "harnessfx:grace": "5" };
        svcId = (await svc()).Id;
    });

    test("row 7: a plain up never reads live state (a stopped container stays stopped); up --refresh starts it again, not a new one", async () => {
        await docker.getContainer(`${pfx}-svc`).stop({ t: 5 });
        const plain = await runP();
        expectSuccess(plain);
        expect(plain.summary).toMatchObject(noChange);
        expect((await svc()).State.Running).toBe(false);
        const refreshed = await runP({}, { refresh: true });
        expectSuccess(refreshed);
        expect(refreshed.summary).toMatchObject({ updated: ["svc"], replaced: [], created: [] });
        const info = await svc();
        expect(info.Id).toBe(svcId);
        expect(info.State.Running).toBe(true);
    });

    test("row 3: the provider ignores a one-shot job's exit code; the program's oneShotSucceeded fails the up with the job's log, every time until it succeeds", async () => {
        const failed = await runP({ "harnessfx:jobExit": "3" });
        expect(failed.code).not.toBe(0);
        expect(failed.summary?.replaced).toContain("job");
        expect(failed.stderr).toContain("one-shot container");
        expect(failed.stderr).toContain("exited with code 3");
        expect(failed.stderr).toContain("job-output-marker exit 3");
        expect(failed.stderr).toContain("pulumi up --replace");
        // The provider does not run it again (same inputs): the next up fails the same way.
        const again = await runP({ "harnessfx:jobExit": "3" });
        expect(again.code).not.toBe(0);
        expect(again.summary?.replaced).toEqual([]);
        expect(again.stderr).toContain("exited with code 3");
        const fixed = await runP();
        expectSuccess(fixed);
        expect(fixed.outputs!.jobExitCode).toBe(0);
    });

    test("row 4: wait is checked at create only: a container that never turns healthy fails the first up after waitTimeout, stays in the state, and the next up succeeds without waiting", async () => {
        const first = await runP({ "harnessfx:sick": "true" });
        expect(first.code).not.toBe(0);
        expect(first.stderr).toContain("container failed to be in healthy state");
        const second = await runP({ "harnessfx:sick": "true" });
        expectSuccess(second);
        expect(second.summary).toMatchObject({ updated: ["sick"], created: [], replaced: [] });
        expect((await docker.getContainer(`${pfx}-sick`).inspect()).State.Health?.Status).toBe("unhealthy");
        // Only a replacement waits again: the recovery README names.
        const gone = await runP();
        expectSuccess(gone);
        expect(gone.summary?.deleted).toEqual(["sick"]);
    });

    test("row 1: after a prune (containers and image gone), a plain up sees nothing; up --refresh drops what is gone, builds the image again and deploys", async () => {
        const image = (await svc()).Image;
        await docker.getContainer(`${pfx}-svc`).remove({ force: true });
        await docker.getContainer(`${pfx}-job`).remove({ force: true });
        await docker.getImage(image).remove({ force: true });
        const plain = await runP();
        expectSuccess(plain);
        expect(plain.summary).toMatchObject(noChange);
        const refreshed = await runP({}, { refresh: true });
        expectSuccess(refreshed);
        expect(sorted(refreshed.summary.gone)).toEqual(["job", "svc", "svcimage"]);
        expect(sorted(refreshed.summary.created)).toEqual(["job", "svc", "svcimage"]);
        const info = await svc();
        expect(info.State.Health?.Status).toBe("healthy");
        expect(info.Image).toBe(refreshed.outputs!.imageId);
    });
});
