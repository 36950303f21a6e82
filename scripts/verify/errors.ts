/** Exit codes of `verify-replication`. */
export const EXIT = {
    /** Every check passed (warnings included). */
    ok: 0,
    /** At least one replication check failed (an unreachable endpoint is such a failure). */
    checkFailed: 1,
    /** The input is unusable: bad flags, missing stack or file, malformed outputs. */
    usage: 2,
} as const;

/**
 * The input cannot be used (bad flag, unreadable or malformed outputs, no Pulumi CLI):
 * the run stops before connecting to anything and exits with {@link EXIT.usage}.
 * The message is meant for a person and never contains a password.
 */
export class InputError extends Error {
    /** Exit code the entry point uses for this error. */
    readonly exitCode = EXIT.usage;

    constructor(message: string) {
        super(message);
        this.name = "InputError";
    }
}
