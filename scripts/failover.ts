/**
 * `npm run failover -- (--stack <name> | --outputs <file>) [--to <replica>] [--json]`: switchover
 * or failover of a dev cluster; see scripts/failover/args.ts for the usage.
 */
import { failoverMain } from "./failover/main";

void failoverMain(process.argv.slice(2)).then((code) => process.exit(code));
