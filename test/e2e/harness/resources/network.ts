/**
 * docker:index/network:Network, bridged from terraform-provider-docker's docker_network
 * (internal/provider/resource_docker_network.go and resource_docker_network_funcs.go, v4.5.0):
 * every input is ForceNew; Create sends no CheckDuplicate, so an engine below API 1.44 (this
 * machine's speaks 1.41) creates a second network of the same name when the old one still
 * exists; Read (a refresh) drops a network that is gone; Delete retries 30 s while the network
 * "has active endpoints".
 */
import Docker from "dockerode";
import { existsBy, labelMap, objectName, removeWhileInUse } from "./docker";
import { Inputs, KeySpec, ResourceHandler } from "./handler";

export const labelSpec: KeySpec = { label: true, value: true };

function outputsOf(info: any): Record<string, unknown> {
    return {
        name: info.Name,
        driver: info.Driver,
        scope: info.Scope,
        ipamConfigs: (info.IPAM?.Config ?? []).map((c: any) => ({
            subnet: c.Subnet,
            gateway: c.Gateway,
            ipRange: c.IPRange,
            auxAddress: c.AuxiliaryAddresses,
        })),
    };
}

export const networkHandler: ResourceHandler = {
    inputs: {
        name: true,
        driver: true,
        internal: true,
        attachable: true,
        ingress: true,
        ipv6: true,
        labels: labelSpec,
        ipamConfigs: { subnet: true, ipRange: true, gateway: true, auxAddress: true },
        ipamDriver: true,
        ipamOptions: true,
        options: true,
    },
    computed: new Set(["driver", "options", "internal", "ipamConfigs"]),
    async create(inputs: Inputs, ctx) {
        const name = objectName(inputs, ctx);
        const network = await ctx.docker.createNetwork({
            Name: name,
            Driver: inputs.driver ?? "bridge",
            Internal: inputs.internal ?? false,
            Attachable: inputs.attachable ?? false,
            Ingress: inputs.ingress ?? false,
            EnableIPv6: inputs.ipv6 ?? false,
            Options: inputs.options,
            Labels: labelMap(inputs.labels, ctx.labels),
            IPAM: {
                Driver: inputs.ipamDriver ?? "default",
                Options: inputs.ipamOptions,
                Config: inputs.ipamConfigs?.map((c: Inputs) => ({
                    Subnet: c.subnet,
                    IPRange: c.ipRange,
                    Gateway: c.gateway,
                    AuxiliaryAddresses: c.auxAddress,
                })),
            },
        });
        ctx.onCreated(network.id, { name });
        return { id: network.id, outputs: outputsOf(await network.inspect()) };
    },
    async read(entry, docker: Docker) {
        const network = docker.getNetwork(entry.id);
        if (!(await existsBy(() => network.inspect()))) return undefined;
        return outputsOf(await network.inspect());
    },
    async remove(entry, docker) {
        await removeWhileInUse(() => docker.getNetwork(entry.id).remove(), /active endpoints/);
    },
};
