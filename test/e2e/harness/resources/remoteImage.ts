/**
 * docker:index/remoteImage:RemoteImage, bridged from terraform-provider-docker's docker_image
 * (internal/provider/resource_docker_image.go and resource_docker_image_funcs.go, v4.5.0):
 * - `name`, `build`, `triggers`, `platform` and `pullTriggers` are ForceNew; `keepLocally` and
 *   `forceRemove` update in place (Update only reads the image again);
 * - Create builds when `build` is set (BuildKit through a session, as the docker CLI does, unless
 *   `build.version` is "1"), then finds the image by name; the ID is `<image ID><name>`;
 * - Read (a refresh) looks the image up by name and, when it is gone, removes the resource from
 *   the state, so the next `up` builds it again;
 * - Delete removes the image unless `keepLocally`.
 */
import * as path from "path";
import Docker from "dockerode";
import { ignoring } from "./docker";
import { Inputs, NOOP, ResourceHandler } from "./handler";
import { buildImage } from "./imageBuild";

async function findLocal(docker: Docker, name: string): Promise<Docker.ImageInspectInfo | undefined> {
    return ignoring(() => docker.getImage(name).inspect());
}

function outputsOf(info: Docker.ImageInspectInfo, name: string): Record<string, unknown> {
    const digests = info.RepoDigests ?? [];
    const repo = name.replace(/:[^:/]*$/, "");
    return {
        imageId: info.Id,
        repoDigest: digests.find((d) => d.startsWith(repo)) ?? digests[0] ?? "",
        name,
    };
}

export function remoteImageHandler(projectRoot: string): ResourceHandler {
    return {
        inputs: {
            name: true,
            build: {
                context: true,
                dockerfile: true,
                buildArgs: true,
                platform: true,
                target: true,
                networkMode: true,
                extraHosts: true,
                version: true,
                label: NOOP, // image labels: not needed by the e2e engine's consumers
            },
            keepLocally: true,
            forceRemove: true,
            triggers: true,
            platform: true,
        },
        updatable: new Set(["keepLocally", "forceRemove"]),
        async create(inputs: Inputs, ctx) {
            const b = inputs.build;
            if (b) {
                const contextDir = path.resolve(projectRoot, b.context);
                await buildImage(
                    ctx.docker,
                    {
                        tag: inputs.name,
                        contextDir,
                        dockerfile: path.resolve(contextDir, b.dockerfile ?? "Dockerfile"),
                        args: b.buildArgs,
                        platform: b.platform,
                        target: b.target,
                        network: b.networkMode,
                        extraHosts: b.extraHosts,
                        buildKit: b.version !== "1",
                    },
                    ctx.log,
                );
            }
            const info = await findLocal(ctx.docker, inputs.name);
            if (!info)
                throw new Error(
                    `Unable to read Docker image into resource: ${inputs.name} is not on the engine and the e2e engine does not pull`,
                );
            return { id: `${info.Id}${inputs.name}`, outputs: outputsOf(info, inputs.name) };
        },
        async update(entry, inputs, _changed, ctx) {
            const info = await findLocal(ctx.docker, inputs.name);
            if (!info) throw new Error(`Unable to read Docker image into resource: ${inputs.name} is gone`);
            return outputsOf(info, inputs.name);
        },
        async read(entry, docker) {
            const name = String(entry.outputs.name);
            const info = await findLocal(docker, name);
            return info ? outputsOf(info, name) : undefined;
        },
        async remove(entry, docker) {
            const inputs = entry.inputs as Inputs;
            if (inputs.keepLocally) return;
            await ignoring(
                () =>
                    docker
                        .getImage(String(entry.outputs.imageId))
                        .remove({ force: inputs.forceRemove ?? false }),
                409,
            );
        },
    };
}
