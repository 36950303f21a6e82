/**
 * Promotes the dev stack's deployment to prod through five gates (dev verified, prod config,
 * prod preview, confirmed prod up, prod verified), stopping at the first that fails.
 *
 *   npm run promote -- [--yes] [--dev dev] [--prod prod]
 *
 * See `npm run promote -- --help` and scripts/promote/ (args, pipeline, deps).
 * Exit codes: 0 every gate passed, 1 a gate failed, 2 bad flags.
 */
import * as path from "node:path";
import { realDeps } from "./promote/deps";
import { promote } from "./promote/pipeline";

void promote(process.argv.slice(2), realDeps(path.resolve(__dirname, ".."))).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(
            `promote: internal error: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exitCode = 1;
    },
);
