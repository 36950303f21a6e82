/**
 * What the prod-stack unit tests share: the program run once per config (runs are deterministic),
 * lookups in what reached the mocks, and the user data as an instance boots it.
 */
import * as zlib from "zlib";
import { deriveSalt, scramSha256Verifier } from "../../../components/postgres/scram";
import { CREDENTIAL_NAMES } from "../../../components/secrets/replicationSecrets";
import { mockPassword, ProgramRun, RecordedResource, runProgram } from "./programMocks";

const runs = new Map<string, Promise<ProgramRun>>();

/** The prod stack with `overrides`; tests of one file that read the same config share one run. */
export function prod(overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    const key = JSON.stringify(overrides);
    if (!runs.has(key)) runs.set(key, runProgram("prod", overrides));
    return runs.get(key)!;
}

/** The resources of one type. */
export const ofType = (resources: RecordedResource[], type: string) =>
    resources.filter((r) => r.type === type);

/** The one resource of `type` named `name`; throws when there is none. */
export function named(resources: RecordedResource[], type: string, name: string): RecordedResource {
    const found = resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} ${name}`);
    return found;
}

/** User data as the instance boots it: base64, then gzip (cloud-init unpacks it). */
export const userData = (instance: RecordedResource): string =>
    zlib.gunzipSync(Buffer.from(instance.inputs.userDataBase64, "base64")).toString("utf8");

/** A file the user data writes with a here-document; undefined when it writes none there. */
export function writtenFile(script: string, path: string): string | undefined {
    const m = new RegExp(
        `cat >'${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}' <<'(PGHA_EOF[_0-9]*)'\\n([\\s\\S]*?)\\n\\1\\n`,
    ).exec(script);
    return m ? m[2] + "\n" : undefined;
}

/** User data without the role script's body (shared by every platform, it names pgBackRest's options in its code). */
export function withoutRoleScript(script: string): string {
    const body = writtenFile(script, "/etc/pgha/bin/pgha-node");
    return body ? script.replace(body, "") : script;
}

/** Every password and SCRAM verifier the mocks produce for `stack`'s credentials. */
export function secretValues(stack = "prod"): string[] {
    const seed = mockPassword(`pgha-${stack}-secrets-scram-salt-seed`);
    return CREDENTIAL_NAMES.flatMap((c) => {
        const password = mockPassword(`pgha-${stack}-secrets-${c}`);
        return [password, scramSha256Verifier(password, deriveSalt(seed, c))];
    });
}

/**
 * The `awsNetwork` output the default prod stack must give (new VPC, 3 zones, one NAT), built from
 * the ids the mocks handed out: the expected value two suites assert.
 */
export function defaultAwsNetwork(resources: RecordedResource[]): Record<string, unknown> {
    return {
        vpcId: named(resources, "aws:ec2/vpc:Vpc", "pgha-prod-network-vpc").id,
        vpcCidr: "10.42.0.0/16",
        privateSubnetIds: [1, 2, 3].map(
            (i) => named(resources, "aws:ec2/subnet:Subnet", `pgha-prod-network-private-${i}`).id,
        ),
        availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        privateRouteTableIds: [
            named(resources, "aws:ec2/routeTable:RouteTable", "pgha-prod-network-private").id,
        ],
        pgbouncerSecurityGroupId: named(
            resources,
            "aws:ec2/securityGroup:SecurityGroup",
            "pgha-prod-sg-pgbouncer",
        ).id,
        appCidrs: ["10.42.128.0/19"],
        s3EndpointId: named(resources, "aws:ec2/vpcEndpoint:VpcEndpoint", "pgha-prod-network-s3").id,
    };
}
