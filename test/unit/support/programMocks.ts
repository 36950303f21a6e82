import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

/** One resource as it reached the mock engine. */
export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs exactly as the engine received them: secrets still wrapped. */
    inputs: any;
    custom: boolean;
    /** The id the mocks gave it. */
    id?: string;
    /** The state the mocks returned (inputs plus what the provider would compute: ids, ARNs, addresses). */
    state?: any;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a value received by the mocks is a Pulumi secret. */
export function isSecret(value: unknown): value is { value: unknown } {
    return (
        typeof value === "object" &&
        value !== null &&
        (value as any)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270"
    );
}

/** The stack config as the Pulumi CLI builds it: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then overrides. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const root = path.join(__dirname, "..", "..", "..");
    const project: any = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const config: Record<string, string> = {};
    const put = (key: string, value: unknown) => {
        config[key.includes(":") ? key : `${project.name}:${key}`] =
            typeof value === "string" ? value : JSON.stringify(value);
    };
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        if (spec && typeof spec === "object" && "default" in spec) {
            put(key, spec.default);
        }
    }
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(stackFile)) {
        const stackYaml: any = yaml.load(fs.readFileSync(stackFile, "utf8"));
        for (const [key, value] of Object.entries(stackYaml.config ?? {})) {
            put(key, value);
        }
    }
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) {
            delete config[key.includes(":") ? key : `${project.name}:${key}`];
        } else {
            put(key, value);
        }
    }
    return config;
}

/** A stable hex digest of `text`, for mock ids and addresses that look real and never change between runs. */
function mockHex(text: string, length: number): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The password the mocks give a RandomPassword named `name`. */
export function mockPassword(name: string, length = 32): string {
    return `pw${name.replace(/[^a-z0-9]/gi, "")}`.padEnd(length, "x").slice(0, length);
}

/** The mock AWS account and region. */
export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "eu-west-1";
/** The zones getAvailabilityZones answers with (eu-west-1 has three). */
export const MOCK_ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/** The AMI ids getAmi answers with, by the architecture in its name filter. */
export const MOCK_AMIS = { amd64: "ami-0deb12amd64000000", arm64: "ami-0deb12arm64000000" } as const;
/** Existing VPCs and subnets getVpc / getSubnet know; other ids throw, as a missing one would in AWS. */
export const MOCK_VPCS: Record<string, { cidrBlock: string }> = {
    "vpc-0feed": { cidrBlock: "10.8.0.0/16" },
    "vpc-0other": { cidrBlock: "10.9.0.0/16" },
};
export const MOCK_SUBNETS: Record<
    string,
    { vpcId: string; availabilityZone: string; cidrBlock: string; mapPublicIpOnLaunch: boolean }
> = {
    "subnet-0a1": {
        vpcId: "vpc-0feed",
        availabilityZone: "eu-west-1a",
        cidrBlock: "10.8.1.0/24",
        mapPublicIpOnLaunch: false,
    },
    "subnet-0b1": {
        vpcId: "vpc-0feed",
        availabilityZone: "eu-west-1b",
        cidrBlock: "10.8.2.0/24",
        mapPublicIpOnLaunch: false,
    },
    "subnet-0c1": {
        vpcId: "vpc-0feed",
        availabilityZone: "eu-west-1c",
        cidrBlock: "10.8.3.0/24",
        mapPublicIpOnLaunch: false,
    },
    "subnet-0a2": {
        vpcId: "vpc-0feed",
        availabilityZone: "eu-west-1a",
        cidrBlock: "10.8.4.0/24",
        mapPublicIpOnLaunch: false,
    },
    "subnet-0f1": {
        vpcId: "vpc-0other",
        availabilityZone: "eu-west-1a",
        cidrBlock: "10.9.1.0/24",
        mapPublicIpOnLaunch: false,
    },
};

/** Id prefixes AWS gives by resource type; user data finds the data volume by its `vol-` id. */
const AWS_ID_PREFIX: Record<string, string> = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/networkInterface:NetworkInterface": "eni-",
    "aws:ec2/instance:Instance": "i-",
    "aws:ebs/volume:Volume": "vol-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
};

/** What the AWS provider computes and the mocks must make up: ids, ARNs, auto-names, private IPs. */
function awsState(type: string, name: string, inputs: any): { id: string; state: Record<string, unknown> } {
    const prefix = AWS_ID_PREFIX[type];
    const id = prefix ? `${prefix}0${mockHex(name, 16)}` : `${name}-id`;
    const [, module, resource] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
    const state: Record<string, unknown> = {
        arn: `arn:aws:${module}:${MOCK_REGION}:${MOCK_ACCOUNT}:${resource}/${name}-${mockHex(name, 6)}`,
        // Pulumi auto-names resources without a name: `<name>-<random>`.
        ...(inputs.name === undefined ? { name: `${name}-${mockHex(name, 7)}` } : {}),
    };
    if (type === "aws:ec2/networkInterface:NetworkInterface") {
        const h = parseInt(mockHex(name, 4), 16);
        state.privateIp = `10.42.${h % 250}.${10 + ((h >> 8) % 240)}`;
    }
    if (type === "aws:kms/key:Key") state.keyId = `${mockHex(name, 8)}-0000-4000-8000-${mockHex(name, 12)}`;
    if (type === "aws:ssm/document:Document") state.latestVersion = "1";
    if (type === "aws:ssm/association:Association") state.associationId = `${mockHex(name, 8)}-assoc`;
    if (type === "aws:s3/bucket:Bucket") {
        // Auto-named like `<name>-<7 random characters>`; bucket ARNs carry neither region nor account.
        state.bucket = inputs.bucket ?? `${name}-${mockHex(name, 7)}`;
        state.arn = `arn:aws:s3:::${state.bucket}`;
        state.region = MOCK_REGION;
    }
    return { id, state };
}

/** What the tls provider computes: PEMs that name the resource, so a test can tell which one reached a file. */
function tlsState(type: string, name: string): Record<string, string> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return {
                privateKeyPem: `-----BEGIN EC PRIVATE KEY-----\nmock key ${name}\n-----END EC PRIVATE KEY-----\n`,
                publicKeyPem: `mock public key ${name}\n`,
            };
        case "tls:index/certRequest:CertRequest":
            return {
                certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nmock request ${name}\n-----END CERTIFICATE REQUEST-----\n`,
            };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return {
                certPem: `-----BEGIN CERTIFICATE-----\nmock certificate ${name}\n-----END CERTIFICATE-----\n`,
            };
        default:
            return {};
    }
}

/** The provider functions the program may call; anything else throws. */
function mockCall(token: string, inputs: any): Record<string, unknown> {
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                id: MOCK_REGION,
                names: MOCK_ZONES,
                zoneIds: MOCK_ZONES.map((_, i) => `euw1-az${i + 1}`),
                groupNames: [MOCK_REGION],
            };
        case "aws:ec2/getAmi:getAmi": {
            const nameFilter: string =
                (inputs.filters ?? []).find((f: any) => f.name === "name")?.values?.[0] ?? "";
            const arch = nameFilter.includes("arm64") ? "arm64" : "amd64";
            return {
                id: MOCK_AMIS[arch],
                imageId: MOCK_AMIS[arch],
                name: nameFilter.replace("*", "20250101-1"),
                architecture: arch === "amd64" ? "x86_64" : "arm64",
            };
        }
        case "aws:ec2/getVpc:getVpc": {
            const vpc = MOCK_VPCS[inputs.id];
            if (!vpc) throw new Error(`no VPC ${inputs.id} in the mock account`);
            return { id: inputs.id, ...vpc };
        }
        case "aws:ec2/getSubnet:getSubnet": {
            const subnet = MOCK_SUBNETS[inputs.id];
            if (!subnet) throw new Error(`no subnet ${inputs.id} in the mock account`);
            return { id: inputs.id, ...subnet };
        }
        default:
            throw new Error(`unmocked call ${token}`);
    }
}

/** Result of running the program under mocks. */
export interface ProgramRun {
    resources: RecordedResource[];
    /** The program's exports, resolved: { value, secret }. */
    outputs: Record<string, { value: unknown; secret: boolean }>;
}

/**
 * Runs the real index.ts for `stack` under pulumi.runtime.setMocks and records every resource.
 * Provider functions other than the few AWS lookups the prod stack makes (mockCall) throw, so a
 * new data-source call cannot slip by untested.
 * A program error rejects with the error, its `resources` property holding what was declared.
 */
export async function runProgram(
    stack: string,
    overrides: Record<string, unknown> = {},
): Promise<ProgramRun> {
    const resources: RecordedResource[] = [];
    let outputs: ProgramRun["outputs"] = {};
    await new Promise<void>((resolve, reject) => {
        jest.isolateModules(() => {
            const pulumi = require("@pulumi/pulumi");
            pulumi.runtime.setAllConfig(stackConfig(stack, overrides));
            pulumi.runtime.setMocks(
                {
                    newResource(args: any) {
                        const record: RecordedResource = {
                            type: args.type,
                            name: args.name,
                            inputs: args.inputs,
                            custom: args.custom,
                        };
                        resources.push(record);
                        const state: any = { ...args.inputs };
                        if (args.type === "random:index/randomPassword:RandomPassword") {
                            state.result = mockPassword(args.name, args.inputs.length);
                        }
                        if (args.type === "docker:index/remoteImage:RemoteImage") {
                            state.imageId = "sha256:0123456789abcdef";
                        }
                        // An attached one-shot container as the provider reads it back after it exited 0.
                        if (args.type === "docker:index/container:Container" && args.inputs.attach) {
                            state.exitCode = 0;
                            state.containerLogs = "";
                        }
                        Object.assign(state, tlsState(args.type, args.name));
                        const result = args.type.startsWith("aws:")
                            ? awsState(args.type, args.name, args.inputs)
                            : { id: `${args.name}-id`, state: {} };
                        Object.assign(record, { id: result.id, state: { ...result.state, ...state } });
                        return { id: record.id, state: record.state };
                    },
                    call(args: any) {
                        return mockCall(args.token, args.inputs);
                    },
                },
                "pgha",
                stack,
                false,
            );
            // Registrations nothing awaits (a deep chain of outputs) must land on this run's mocks, not the next run's.
            const settings = require("@pulumi/pulumi/runtime/settings");
            const drained = () =>
                Promise.race([
                    settings.waitForRPCs().catch(() => undefined),
                    new Promise((r) => setTimeout(r, 5000).unref()),
                ]);
            (async () => {
                try {
                    const program = require("../../../index");
                    const entries = await Promise.all(
                        Object.entries(program).map(async ([key, value]) => {
                            const output = pulumi.output(value);
                            const [resolved, secret] = await Promise.all([output.promise(), output.isSecret]);
                            return [key, { value: resolved, secret }] as const;
                        }),
                    );
                    outputs = Object.fromEntries(entries);
                } finally {
                    await drained();
                }
            })().then(resolve, (error) => reject(Object.assign(error, { resources })));
        });
    });
    // Let registrations that no output waits on finish too.
    await new Promise((r) => setTimeout(r, 50));
    return { resources, outputs };
}
