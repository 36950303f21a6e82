/**
 * docker:index/image:Image, pulumi-docker's native image resource (provider/provider.go and
 * provider/image.go of pulumi/pulumi-docker, which @pulumi/docker 5.x runs):
 * - Check fills in `build.platform` (the host's) and adds `build.contextDigest`, a hash of the
 *   build context; Diff compares the old checked inputs with the new ones and never replaces: any
 *   change is an Update, which builds again;
 * - Read returns the state as it is ("we do no reconciliation"), Delete does nothing: an image
 *   removed from the engine (`docker rmi`, a prune, a new machine) stays in the state, and the
 *   containers keep referring to its `repoDigest`, the image ID;
 * - the build uses BuildKit unless `builderVersion` is `BuilderV1`; the resource ID is the image name.
 */
import * as path from "path";
import { Inputs, NOOP, ResourceHandler } from "./handler";
import { buildImage, contextDigest, hostPlatform } from "./imageBuild";

/** The inputs as pulumi-docker's Check hands them to Diff, Create and Update. */
function checked(inputs: Inputs, projectRoot: string): Inputs {
    const build: Inputs = { ...(inputs.build ?? {}) };
    build.context ??= ".";
    build.dockerfile ??= path.join(build.context, "Dockerfile");
    build.platform ??= hostPlatform();
    build.contextDigest = contextDigest(
        path.resolve(projectRoot, build.context),
        path.resolve(projectRoot, build.dockerfile),
    );
    return { ...inputs, build };
}

export function imageHandler(projectRoot: string): ResourceHandler {
    const apply = async (inputs: Inputs, ctx: { docker: any; log: (l: string) => void }) => {
        const build = checked(inputs, projectRoot).build;
        const id = await buildImage(
            ctx.docker,
            {
                tag: inputs.imageName,
                contextDir: path.resolve(projectRoot, build.context),
                dockerfile: path.resolve(projectRoot, build.dockerfile),
                args: build.args,
                platform: build.platform,
                target: build.target,
                network: build.network,
                extraHosts: build.addHosts,
                buildKit: build.builderVersion !== "BuilderV1",
            },
            ctx.log,
        );
        return {
            imageName: inputs.imageName,
            baseImageName: inputs.imageName,
            // With skipPush, the provider's repoDigest is the local image ID.
            repoDigest: id,
            context: build.context,
            dockerfile: build.dockerfile,
            platform: build.platform,
            registryServer: "",
        };
    };
    return {
        inputs: {
            imageName: true,
            build: {
                context: true,
                dockerfile: true,
                args: true,
                platform: true,
                target: true,
                network: true,
                addHosts: true,
                builderVersion: true,
                cacheFrom: NOOP, // a cache hint only
            },
            skipPush: NOOP, // there is no registry: images are never pushed
            buildOnPreview: NOOP, // there are no previews
            registry: NOOP, // only used for pushing
        },
        updatable: "all",
        diffView: (inputs) => checked(inputs, projectRoot),
        async create(inputs, ctx) {
            return { id: inputs.imageName, outputs: await apply(inputs, ctx) };
        },
        async update(_entry, inputs, _changed, ctx) {
            return apply(inputs, ctx);
        },
        // No read (the provider does not reconcile) and no remove (its Delete does nothing).
    };
}
