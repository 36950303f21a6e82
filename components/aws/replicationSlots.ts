import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SLOTS_PARAMETER } from "./slotsDocument";
import { clusterTags } from "./tags";

/** Options of {@link ReplicationSlots}. */
export interface ReplicationSlotsArgs {
    /** Name of the cluster, for tags. */
    readonly clusterName: string;
    /** The document content (renderSlotsDocument). */
    readonly documentContent: pulumi.Input<string>;
    /** The primary's instance id, the association's only target. */
    readonly primaryInstanceId: pulumi.Input<string>;
    /** The expected slots (slotsParameterValue). */
    readonly expectedSlots: pulumi.Input<string>;
}

/**
 * The primary's physical replication slots on EC2: an SSM Command document running
 * `pgha-node reconcile-slots`, and a State Manager association that runs it on the primary with
 * the expected slots as a parameter. Changing the replica set changes the parameter, which runs
 * the association again: new slots exist before new replicas clone (they retry until then), a
 * removed replica's slot is dropped. It also runs every 30 minutes, and after the primary is
 * replaced, so a drifted slot set comes back. `pulumi up` waits until it has succeeded.
 */
export class ReplicationSlots extends pulumi.ComponentResource {
    public readonly document: aws.ssm.Document;
    public readonly association: aws.ssm.Association;

    constructor(name: string, args: ReplicationSlotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:aws:ReplicationSlots", name, {}, opts);
        const tags = clusterTags(args.clusterName, "slots", "slots");
        this.document = new aws.ssm.Document(
            name,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: args.documentContent,
                tags,
            },
            { parent: this },
        );
        this.association = new aws.ssm.Association(
            name,
            {
                name: this.document.name,
                // A new document version applies at once rather than when someone makes it the default.
                documentVersion: this.document.latestVersion,
                associationName: `${args.clusterName}-slots`,
                targets: [{ key: "InstanceIds", values: [args.primaryInstanceId] }],
                parameters: { [SLOTS_PARAMETER]: args.expectedSlots },
                scheduleExpression: "rate(30 minutes)",
                complianceSeverity: "HIGH",
                maxConcurrency: "1",
                maxErrors: "0",
                // The first run waits for the primary's bootstrap (package installs, initdb).
                waitForSuccessTimeoutSeconds: 1200,
                tags,
            },
            { parent: this },
        );
        this.registerOutputs({ associationId: this.association.associationId });
    }
}
