/**
 * `npm run rejoin -- (--stack <name> | --outputs <file>) --node <name> [--reclone] [--json]`:
 * brings a replica (or a fenced former primary) back; see scripts/failover/args.ts for the usage.
 */
import { rejoinMain } from "./failover/main";

void rejoinMain(process.argv.slice(2)).then((code) => process.exit(code));
