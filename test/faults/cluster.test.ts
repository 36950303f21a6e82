/**
 * The fault-injection suite (issue 8) on the `faults` stack that globalSetup deployed: each fault
 * asserts what a user would see and that no committed row is lost. The scenarios run in this
 * order; each starts from a cluster whose replicas all stream. The lost-slot scenario runs last:
 * it ends with the replica re-cloned by `npm run rejoin`, or broken if that command fails.
 */
import { replicaKillScenario } from "./scenarios/replicaKill";
import { lostSlotScenario, networkCutScenario } from "./scenarios/networkCut";
import { primaryKillScenario } from "./scenarios/primaryKill";
import { pgbouncerRestartScenario } from "./scenarios/pgbouncerRestart";
import { replicaDiskFullScenario } from "./scenarios/replicaDiskFull";
import { ensureLedger, faultsOutputs } from "./support/faultStack";

beforeAll(async () => {
    await ensureLedger(faultsOutputs());
});

replicaKillScenario();
networkCutScenario();
primaryKillScenario();
pgbouncerRestartScenario();
replicaDiskFullScenario();
lostSlotScenario();
