/** After the e2e suites: tear the dev stack down, unless PGHA_E2E_KEEP=1 asks to keep it for a look. */
import { destroyDev } from "./support/devCluster";

export default async function globalTeardown(): Promise<void> {
    if (process.env.PGHA_E2E_KEEP === "1") {
        console.log("[e2e] PGHA_E2E_KEEP=1: the dev stack is left running; `npm run e2e:down` removes it");
        return;
    }
    await destroyDev();
}
