/**
 * Every policy of the pack, in the order `pulumi preview` reports them. Kept apart from index.ts,
 * which starts the policy server, so tests can import the list.
 */
import type { Policies } from "@pulumi/policy";
import { ebsEncrypted, imdsV2Required, noPublicInstances } from "./ec2";
import { dockerDatabasePortsLocal, noPublicDatabasePorts } from "./network";
import { prodBackupsSkipNat, prodHasBackupBucket, prodHasReplica } from "./prodStack";
import { s3DefaultEncryption, s3PublicAccessBlocked } from "./s3";
import { dockerSecretEnvsMarked, secretInputsMarked } from "./secrets";

export { ebsEncrypted, imdsV2Required, noPublicInstances } from "./ec2";
export { dockerDatabasePortsLocal, noPublicDatabasePorts } from "./network";
export { prodBackupsSkipNat, prodHasBackupBucket, prodHasReplica } from "./prodStack";
export { s3DefaultEncryption, s3PublicAccessBlocked } from "./s3";
export { dockerSecretEnvsMarked, secretInputsMarked } from "./secrets";

/** The pack's policies: mandatory ones block `preview`/`up`, advisory ones only warn. */
export const policies: Policies = [
    noPublicDatabasePorts,
    dockerDatabasePortsLocal,
    ebsEncrypted,
    noPublicInstances,
    imdsV2Required,
    s3DefaultEncryption,
    s3PublicAccessBlocked,
    prodHasReplica,
    prodHasBackupBucket,
    prodBackupsSkipNat,
    dockerSecretEnvsMarked,
    secretInputsMarked,
];
