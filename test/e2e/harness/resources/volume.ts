/**
 * docker:index/volume:Volume, bridged from terraform-provider-docker's docker_volume
 * (internal/provider/resource_docker_volume.go, v4.5.0): `name`, `labels`, `driver` and
 * `driverOpts` are ForceNew; the ID is the name. Docker's volume create answers with the existing
 * volume when the name is taken, so a create-before-delete replacement gets the old volume, and
 * the old resource's Delete then removes it (retrying 30 s while it is "in use", then failing).
 * Read (a refresh) drops a volume that is gone.
 */
import { existsBy, labelMap, objectName, removeWhileInUse } from "./docker";
import { ResourceHandler } from "./handler";
import { labelSpec } from "./network";

export const volumeHandler: ResourceHandler = {
    inputs: { name: true, driver: true, driverOpts: true, labels: labelSpec },
    computed: new Set(["driver"]),
    async create(inputs, ctx) {
        const name = objectName(inputs, ctx);
        await ctx.docker.createVolume({
            Name: name,
            Driver: inputs.driver ?? "local",
            DriverOpts: inputs.driverOpts,
            Labels: labelMap(inputs.labels, ctx.labels),
        });
        ctx.onCreated(name, { name });
        const info = await ctx.docker.getVolume(name).inspect();
        return { id: name, outputs: { name, driver: info.Driver, mountpoint: info.Mountpoint } };
    },
    async read(entry, docker) {
        const volume = docker.getVolume(entry.id);
        if (!(await existsBy(() => volume.inspect()))) return undefined;
        const info = await volume.inspect();
        return { name: info.Name, driver: info.Driver, mountpoint: info.Mountpoint };
    },
    async remove(entry, docker) {
        await removeWhileInUse(() => docker.getVolume(entry.id).remove({ force: true }), /in use/);
    },
};
