import { parseArgs } from "node:util";

/** What `npm run promote -- ...` asks for. */
export interface PromoteOptions {
    /** `--dev <stack>`: the stack that must be deployed and verified first. Default `dev`. */
    readonly dev: string;
    /** `--prod <stack>`: the stack to preview, deploy and verify. Default `prod`. */
    readonly prod: string;
    /** `--yes`: deploy without asking (CI, or a person who has read the preview elsewhere). */
    readonly yes: boolean;
}

/** The result of parsing: options to run with, or a request for the usage text. */
export type ParsedPromoteArgs =
    { readonly help: true } | { readonly help: false; readonly options: PromoteOptions };

/** A flag the command line cannot use; the entry point exits 2 with its message. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** The text `--help` prints. */
export const USAGE = `Usage: npm run promote -- [--yes] [--dev <stack>] [--prod <stack>]

Promotes what is deployed on the dev stack to the prod stack, through five gates run in order;
the first that fails stops the run and names itself:

  1. dev verified     the dev stack has outputs, and \`npm run verify -- --stack <dev>\` passes
  2. prod config      the prod stack's config passes the program's validation
  3. prod preview     \`pulumi preview --diff\` of prod, with the policy pack, is shown
  4. prod up          after you confirm (or with --yes), \`pulumi up\` on prod, with the policy pack
  5. prod verified    \`npm run verify -- --stack <prod>\` passes

Options:
  --yes, -y          deploy without the confirmation prompt (without a terminal, --yes is required)
  --dev <stack>      the stack that must be verified first (default: dev)
  --prod <stack>     the stack to promote to (default: prod)
  --help, -h         print this text

Exit codes: 0 every gate passed, 1 a gate failed, 2 bad flags.
`;

/** Stack names as Pulumi accepts them, optionally qualified as org/project/stack. */
const STACK = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

/**
 * Parses the arguments after `npm run promote --`.
 * @throws UsageError naming the flag: unknown flags, positional arguments, a missing or malformed
 *   stack name, a value given to --yes, or the same stack for --dev and --prod.
 */
export function parsePromoteArgs(argv: readonly string[]): ParsedPromoteArgs {
    let values: { yes?: boolean; dev?: string; prod?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                yes: { type: "boolean", short: "y" },
                dev: { type: "string" },
                prod: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (err) {
        throw new UsageError(describeParseArgsError(err));
    }
    if (values.help) {
        return { help: true };
    }
    const stack = (flag: string, value: string | undefined, fallback: string) => {
        const name = value ?? fallback;
        if (!STACK.test(name)) {
            throw new UsageError(
                `${flag} must be a stack name such as ${fallback} or org/pgha/${fallback}, got ${JSON.stringify(name)}`,
            );
        }
        return name;
    };
    const dev = stack("--dev", values.dev, "dev");
    const prod = stack("--prod", values.prod, "prod");
    if (dev === prod) {
        throw new UsageError(`--dev and --prod must name different stacks, both are ${JSON.stringify(dev)}`);
    }
    return { help: false, options: { dev, prod, yes: values.yes ?? false } };
}

/** Turns node's parseArgs errors into one line that names the flag. */
function describeParseArgsError(err: unknown): string {
    const e = err as { code?: string; message?: string };
    const message = e.message ?? String(err);
    switch (e.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown flag ${/'([^']+)'/.exec(message)?.[1] ?? "?"}; the flags are --yes, --dev <stack>, --prod <stack>, --help`;
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? "")}: stack names follow their flag (--dev <stack>, --prod <stack>)`;
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
            const flag = /(--[a-z]+)/.exec(message)?.[1] ?? "a flag";
            if (/does not take an argument/.test(message)) return `${flag} takes no value`;
            return `${flag} needs a stack name`;
        }
        default:
            return message;
    }
}
