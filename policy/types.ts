import type {
    ResourceValidation,
    ResourceValidationPolicy,
    StackValidation,
    StackValidationPolicy,
} from "@pulumi/policy";

/**
 * Type tokens of the resources the policies look at. The pack matches on these strings rather than
 * on `@pulumi/aws` / `@pulumi/docker` classes, so it needs neither provider SDK to run.
 */
export const TYPES = {
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    securityGroupIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    eip: "aws:ec2/eip:Eip",
    eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
    ebsVolume: "aws:ebs/volume:Volume",
    bucket: "aws:s3/bucket:Bucket",
    bucketV2: "aws:s3/bucketV2:BucketV2",
    bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    accountPublicAccessBlock: "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
    bucketSse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    bucketSseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    dockerContainer: "docker:index/container:Container",
    natGateway: "aws:ec2/natGateway:NatGateway",
    vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
} as const;

/** S3 bucket types (aws 7 keeps both `Bucket` and the deprecated `BucketV2`). */
export const BUCKET_TYPES: readonly string[] = [TYPES.bucket, TYPES.bucketV2];

/** The ports that must never be reachable from the internet: PostgreSQL and PgBouncer. */
export const DATABASE_PORTS: readonly number[] = [5432, 6432];

/** A resource policy with a single validation function (so tests can call it directly). */
export type ResourcePolicy = ResourceValidationPolicy & { readonly validateResource: ResourceValidation };

/** A stack policy (sees every resource of the stack at once). */
export type StackPolicy = StackValidationPolicy & { readonly validateStack: StackValidation };
