/**
 * The SSM Command document that runs `pgha-node reconcile-slots` on the primary: the EC2
 * counterpart of the Docker platform's one-shot slot container. Pure rendering.
 */
import { RolePlan, ROLE_SCRIPT } from "../postgres";
import {
    relocatePlan,
    renderFileWrites,
    renderSecretFetches,
    SecretArns,
    SHELL_HELPERS,
    shellQuote,
} from "./nodeScript";

/** The document's parameter: the slots the primary must have, space-separated, or {@link NO_SLOTS}. */
export const SLOTS_PARAMETER = "expectedSlots";

/** The parameter's value for a cluster without replicas (SSM parameters are better not empty). */
export const NO_SLOTS = "none";

/** Where the job keeps its node.env and the replicator password while it runs (tmpfs, root only). */
export const SLOTS_JOB_DIR = "/run/pgha-slots";

/** What the slot document needs. */
export interface SlotsDocumentSpec {
    /** AWS region, for the aws CLI. */
    readonly region: string;
    /**
     * The slot job's plan (slotsPlan with no replicas): node.env with PGHA_PRIMARY_HOST, and the
     * replicator password it needs. The expected slots come from the parameter, so the document
     * stays the same when replicas are added or removed, and only the association changes.
     */
    readonly plan: RolePlan;
    /** Secrets Manager ARN of every credential. */
    readonly secretArns: SecretArns;
}

/** The parameter value for a list of slot names. @throws Error on a name the document would refuse. */
export function slotsParameterValue(slotNames: readonly string[]): string {
    for (const s of slotNames) {
        if (!/^pgha_[a-z0-9_]+$/.test(s)) throw new Error(`${JSON.stringify(s)} is not a pgha slot name`);
    }
    return slotNames.length > 0 ? slotNames.join(" ") : NO_SLOTS;
}

/**
 * The job's bash script, with `{{ expectedSlots }}` for SSM to fill in. It waits until the
 * primary is healthy (its bootstrap may still run), writes the job's node.env and the replicator
 * password to {@link SLOTS_JOB_DIR}, appends the expected slots to node.env (the last assignment
 * wins when the role script sources it) and runs `pgha-node reconcile-slots` there.
 */
export function renderSlotsScript(spec: SlotsDocumentSpec): string {
    const plan = relocatePlan(spec.plan, SLOTS_JOB_DIR);
    return `#!/bin/bash
# pgha: make the primary's replication slots exactly the expected ones. Holds no secret.
set -euo pipefail
export AWS_DEFAULT_REGION=${shellQuote(spec.region)}
umask 077

${SHELL_HELPERS}

expected='{{ ${SLOTS_PARAMETER} }}'
if [ "$expected" = ${NO_SLOTS} ]; then expected=; fi

for attempt in $(seq 1 120); do
  if [ -x ${ROLE_SCRIPT} ] && ${ROLE_SCRIPT} health 2>/dev/null; then break; fi
  if [ "$attempt" = 120 ]; then log "the primary is not healthy after 10 minutes"; exit 1; fi
  sleep 5
done

rm -rf ${SLOTS_JOB_DIR}
install -d -m 0700 ${SLOTS_JOB_DIR}
trap 'rm -rf ${SLOTS_JOB_DIR}' EXIT
${renderFileWrites(plan.files)}
chmod 0700 ${SLOTS_JOB_DIR}
${renderSecretFetches(plan.secrets, spec.secretArns, SLOTS_JOB_DIR)}
printf 'PGHA_EXPECTED_SLOTS="%s"\\n' "$expected" >>${SLOTS_JOB_DIR}/node.env
log "reconciling slots: \${expected:-none}"
PGHA_ETC=${SLOTS_JOB_DIR} ${ROLE_SCRIPT} reconcile-slots
`;
}

/**
 * The document content (schema 2.2, JSON). `aws:runShellScript` runs its lines with /bin/sh, so
 * they only write the bash script to a temporary file and run it with bash.
 */
export function renderSlotsDocument(spec: SlotsDocumentSpec): string {
    const script = renderSlotsScript(spec);
    if (script.split("\n").includes("PGHA_SLOTS_EOF")) {
        throw new Error("the slot script contains its own here-document delimiter");
    }
    const runCommand = [
        "set -e",
        "script=$(mktemp)",
        `trap 'rm -f "$script"' EXIT`,
        `cat >"$script" <<'PGHA_SLOTS_EOF'`,
        ...script.replace(/\n$/, "").split("\n"),
        "PGHA_SLOTS_EOF",
        'bash "$script"',
    ];
    return JSON.stringify(
        {
            schemaVersion: "2.2",
            description:
                "pgha: make the primary's replication slots exactly the expected ones (pgha-node reconcile-slots).",
            parameters: {
                [SLOTS_PARAMETER]: {
                    type: "String",
                    description: `Physical slots the primary must have, space-separated; "${NO_SLOTS}" for none.`,
                    allowedPattern: `^(${NO_SLOTS}|pgha_[a-z0-9_]+( pgha_[a-z0-9_]+)*)$`,
                },
            },
            mainSteps: [
                {
                    action: "aws:runShellScript",
                    name: "reconcileSlots",
                    inputs: { runCommand, timeoutSeconds: "900" },
                },
            ],
        },
        null,
        2,
    );
}
