/**
 * Post-deploy check that streaming replication of a pgha cluster works.
 *
 *   npm run verify -- --stack <name>            (reads `pulumi stack output --json --show-secrets`)
 *   npm run verify -- --outputs <file.json>     (the same JSON from a file)
 *
 * See `npm run verify -- --help` and scripts/verify/ (args, outputs, checks, run, report).
 * Exit codes: 0 all passed (warnings allowed), 1 a check failed, 2 unusable input.
 */
import { main } from "./verify/main";

void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Every connection is closed by then; this only guards against a socket that lingers.
    setTimeout(() => process.exit(code), 2000).unref();
});
