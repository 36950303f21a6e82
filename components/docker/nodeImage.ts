import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The node image's build context, relative to the project directory (where Pulumi runs the program). */
export const NODE_IMAGE_CONTEXT = "components/docker/image";

/** Options of {@link NodeImage}. */
export interface NodeImageArgs {
    /** Image to build FROM, e.g. `postgres:16` (the BASE_IMAGE build argument). */
    readonly baseImage: string;
    /** Also install Patroni and etcd where the base image lacks them (automatic failover). Default false. */
    readonly withPatroni?: boolean;
    /** Local tag of the built image. */
    readonly imageName: string;
    /** Build context; default {@link NODE_IMAGE_CONTEXT}. */
    readonly context?: string;
}

/**
 * sha256 over the build context's files (names and contents), so that an edit of the Dockerfile
 * or of a file it copies rebuilds the image (docker_image rebuilds only when `triggers` change).
 */
export function buildContextDigest(dir: string): string {
    const files = (d: string): string[] =>
        fs
            .readdirSync(d, { withFileTypes: true })
            .flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]));
    const hash = crypto.createHash("sha256");
    for (const f of files(dir).sort()) {
        hash.update(`${path.relative(dir, f).split(path.sep).join("/")}\0`);
        hash.update(fs.readFileSync(f));
        hash.update("\0");
    }
    return hash.digest("hex");
}

/**
 * The node image (components/docker/image/Dockerfile), built on the local engine and never pushed.
 *
 * A `RemoteImage` (terraform-provider-docker's docker_image), not pulumi-docker's native `Image`:
 * the native one never looks at the engine again (its Read returns the state as it is), so after
 * a prune, a Docker Desktop reset or on a new CI runner its state names an image ID that is gone,
 * and every container create fails. docker_image's Read drops an image that is gone from the
 * state, so `pulumi up --refresh` builds it again. It is kept on destroy (`keepLocally`), and
 * built with BuildKit for the engine's own platform (no forced `platform`).
 */
export class NodeImage extends pulumi.ComponentResource {
    /** The image ID (`sha256:...`): it changes with every rebuild, so containers are replaced when the image changes. */
    public readonly ref: pulumi.Output<string>;

    constructor(name: string, args: NodeImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:NodeImage", name, {}, opts);
        // Paths are relative to the project directory, so a checkout in another folder previews no change.
        const context = args.context ?? NODE_IMAGE_CONTEXT;
        const image = new docker.RemoteImage(
            name,
            {
                name: args.imageName,
                build: {
                    context,
                    dockerfile: "Dockerfile",
                    buildArgs: {
                        BASE_IMAGE: args.baseImage,
                        ...(args.withPatroni ? { WITH_PATRONI: "1" } : {}),
                    },
                },
                triggers: { context: buildContextDigest(context) },
                keepLocally: true,
            },
            { parent: this },
        );
        this.ref = image.imageId;
        this.registerOutputs({ ref: this.ref });
    }
}
