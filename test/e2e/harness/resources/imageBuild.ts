/** Building an image on the local engine, as the providers' builds do (BuildKit unless the classic builder is asked for). */
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { sha256 } from "../state";
import { followProgress, tail, withoutUndefined } from "./docker";

/** One build. Paths are absolute. */
export interface BuildRequest {
    tag: string;
    contextDir: string;
    dockerfile: string;
    args?: Record<string, string>;
    platform?: string;
    target?: string;
    network?: string;
    extraHosts?: string[];
    /** BuildKit (the providers' default) or the classic builder. */
    buildKit: boolean;
}

/** The platform the providers default to: `linux/<host architecture>` (pulumi-docker provider.go, Check). */
export function hostPlatform(): string {
    const arch: Record<string, string> = {
        x64: "amd64",
        arm64: "arm64",
        arm: "arm",
        ia32: "386",
        s390x: "s390x",
        ppc64: "ppc64le",
    };
    return `linux/${arch[process.arch] ?? process.arch}`;
}

function filesUnder(dir: string, base = dir): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
            e.isDirectory() ? filesUnder(path.join(dir, e.name), base) : [path.join(dir, e.name)],
        )
        .map((f) => path.relative(base, path.resolve(base, f)))
        .sort();
}

/**
 * A digest of the build context and the Dockerfile, like the `contextDigest` pulumi-docker's Check
 * adds to the inputs (provider.go, hashContext): a changed file changes the inputs, so the image
 * is rebuilt; nothing else ever rebuilds it.
 */
export function contextDigest(contextDir: string, dockerfile: string): string {
    const parts = filesUnder(contextDir).map(
        (f) => `${f}\0${sha256(fs.readFileSync(path.join(contextDir, f)))}`,
    );
    parts.push(`Dockerfile\0${sha256(fs.readFileSync(dockerfile))}`);
    return sha256(parts.join("\n"));
}

/** Builds and tags the image; returns its ID. Fails with the build output's tail. */
export async function buildImage(
    docker: Docker,
    req: BuildRequest,
    log: (line: string) => void,
): Promise<string> {
    const inContext = path.relative(req.contextDir, req.dockerfile);
    if (inContext.startsWith("..") || path.isAbsolute(inContext)) {
        throw new Error(
            `image ${req.tag}: the e2e engine needs the Dockerfile ${req.dockerfile} inside the build context ${req.contextDir}`,
        );
    }
    log(
        `building ${req.tag} with ${req.buildKit ? "BuildKit" : "the classic builder"} for ${req.platform ?? "the engine's platform"}`,
    );
    const stream = await docker.buildImage(
        { context: req.contextDir, src: await fs.promises.readdir(req.contextDir) },
        withoutUndefined({
            t: req.tag,
            dockerfile: inContext.split(path.sep).join("/"),
            buildargs: req.args,
            platform: req.platform,
            target: req.target,
            networkmode: req.network,
            extrahosts: req.extraHosts?.join(","),
            rm: true,
            // The Engine API's builder version: "2" is BuildKit, "1" the classic builder.
            version: req.buildKit ? "2" : "1",
        }) as Docker.ImageBuildOptions,
    );
    const events = await followProgress(docker, stream);
    const failure = events.find((e) => e.error);
    if (failure) {
        const text = events.map((e) => e.stream ?? (e.error ? `${e.error}\n` : "")).join("");
        throw new Error(
            `building image ${req.tag} failed: ${failure.error}\n--- build output (tail) ---\n${tail(text, 30)}`,
        );
    }
    return (await docker.getImage(req.tag).inspect()).Id;
}
