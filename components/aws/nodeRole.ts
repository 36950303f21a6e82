import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { clusterTags } from "./tags";

/** An IAM policy document. */
export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: {
        readonly Sid: string;
        readonly Effect: "Allow";
        readonly Action: string | string[];
        readonly Resource: string | string[];
        readonly Condition?: Record<string, Record<string, string>>;
    }[];
}

/**
 * The nodes' inline policy: read exactly the cluster's secrets, and decrypt with exactly its key,
 * only on behalf of Secrets Manager in `region`. Nothing else (the SSM agent's rights come from
 * the AWS managed policy AmazonSSMManagedInstanceCore).
 * @throws Error when no secret ARN is given: a policy with an empty Resource list is invalid.
 */
export function nodePolicyDocument(
    secretArns: readonly string[],
    keyArn: string,
    region: string,
): PolicyDocument {
    if (secretArns.length === 0) {
        throw new Error("the node policy needs at least one secret ARN");
    }
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadClusterCredentials",
                Effect: "Allow",
                Action: "secretsmanager:GetSecretValue",
                Resource: [...secretArns],
            },
            {
                Sid: "DecryptClusterCredentials",
                Effect: "Allow",
                Action: "kms:Decrypt",
                Resource: keyArn,
                Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } },
            },
        ],
    };
}

/** Options of {@link NodeRole}. */
export interface NodeRoleArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    /** The AWS region, for the KMS condition. */
    readonly region: string;
    /** ARNs of the secrets the nodes read. */
    readonly secretArns: pulumi.Input<string>[];
    /** ARN of the KMS key the secrets are encrypted with. */
    readonly keyArn: pulumi.Input<string>;
}

/**
 * The role every node of the cluster runs as, through an instance profile: its inline policy
 * ({@link nodePolicyDocument}) and AmazonSSMManagedInstanceCore, which Session Manager and Run
 * Command need (no SSH keys exist). The backup issue will add its bucket to this role.
 */
export class NodeRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    /** The inline policy; nodes start only after it exists. */
    public readonly policy: aws.iam.RolePolicy;
    public readonly instanceProfile: aws.iam.InstanceProfile;

    constructor(name: string, args: NodeRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:NodeRole", name, {}, opts);
        const tags = clusterTags(args.clusterName, "iam", "node");
        this.role = new aws.iam.Role(
            name,
            {
                description: `pgha ${args.clusterName}: EC2 nodes`,
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "ec2.amazonaws.com" },
                            Action: "sts:AssumeRole",
                        },
                    ],
                }),
                tags,
            },
            { parent: this },
        );
        this.policy = new aws.iam.RolePolicy(
            `${name}-credentials`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([pulumi.all(args.secretArns), args.keyArn])
                    .apply(([arns, key]) => JSON.stringify(nodePolicyDocument(arns, key, args.region))),
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-ssm`,
            { role: this.role.name, policyArn: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore },
            { parent: this },
        );
        this.instanceProfile = new aws.iam.InstanceProfile(
            name,
            { role: this.role.name, tags },
            { parent: this },
        );
        this.registerOutputs({ roleArn: this.role.arn });
    }
}
