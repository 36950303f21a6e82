import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Options of {@link NodeImage}. */
export interface NodeImageArgs {
    /** Image to build FROM, e.g. `postgres:16` (the BASE_IMAGE build argument). */
    readonly baseImage: string;
    /** Local tag of the built image. */
    readonly imageName: string;
}

/** The node image (components/docker/image/Dockerfile), built on the local engine and never pushed. */
export class NodeImage extends pulumi.ComponentResource {
    /** Reference that changes with every rebuild, so containers are replaced when the image changes. */
    public readonly ref: pulumi.Output<string>;

    constructor(name: string, args: NodeImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:NodeImage", name, {}, opts);
        // Paths are relative to the project directory (where Pulumi runs the program), so a
        // checkout in another folder previews no change.
        const image = new docker.Image(
            name,
            {
                imageName: args.imageName,
                build: {
                    context: "components/docker/image",
                    dockerfile: "components/docker/image/Dockerfile",
                    args: { BASE_IMAGE: args.baseImage },
                },
                skipPush: true,
            },
            { parent: this },
        );
        this.ref = image.repoDigest;
        this.registerOutputs({ ref: this.ref });
    }
}
