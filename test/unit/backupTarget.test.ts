/** `npm run backup` / `npm run restore` read their target from the outputs: on AWS they say how to back up through SSM instead. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadBackupTarget } from "../../scripts/backup/target";
import { InputError } from "../../scripts/verify/errors";

const file = (outputs: unknown): string => {
    const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pgha-target-")), "outputs.json");
    fs.writeFileSync(p, JSON.stringify(outputs));
    return p;
};

describe("backup target", () => {
    test("an AWS stack's outputs are refused with the SSM command, not a schema complaint", async () => {
        const outputs = {
            platform: "aws",
            clusterName: "pgha-prod",
            backupAccess: { platform: "aws", postgresInstanceIds: { primary: "i-0abc" } },
        };
        const error = await loadBackupTarget({ kind: "file", path: file(outputs) }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error).toBeInstanceOf(InputError);
        expect(error?.message).toBe(
            "the stack is on AWS: npm run backup / restore drive Docker only; run `PGHA_ETC=/etc/pgha/backup /etc/pgha/bin/pgha-node backup full` on the primary's instance through SSM (its id is in the backupAccess output)",
        );
    });

    test("a Docker stack without backupAccess still gets the backups-off message", async () => {
        const outputs = {
            platform: "docker",
            clusterName: "pgha-dev",
            monitorUser: "pgha_monitor",
            monitorPassword: "x",
            databaseName: "app",
        };
        await expect(loadBackupTarget({ kind: "file", path: file(outputs) })).rejects.toThrow(
            "the outputs have no backupAccess: backups are off (pgha:backupEnabled)",
        );
    });
});
