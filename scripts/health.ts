/**
 * Replication health of a pgha cluster, for cron or CI (beside the one-shot `npm run verify`):
 *
 *   npm run health -- --stack <name>                  (reads `pulumi stack output --json --show-secrets`)
 *   npm run health -- --outputs <file.json> --samples 10 --interval 1s --json
 *
 * Per replica: streaming and replay lag; per slot: the WAL it retains; the age of the last good
 * backup and how long WAL waits to be archived; each against warn and alert thresholds.
 * See `npm run health -- --help` and scripts/health/ (args, collect, evaluate, report).
 * Exit codes: 0 healthy (warnings allowed), 1 an alert, 2 unusable input, 3 cluster unreachable.
 */
import { main } from "./health/main";

void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Every connection is closed by then; this only guards against a socket that lingers.
    setTimeout(() => process.exit(code), 2000).unref();
});
