/**
 * A stand-in for the EC2 instance metadata service (169.254.169.254) for containers of the test's
 * own networks. The real role script's pgBackRest (`repo1-s3-key-type=auto`) asks it for the
 * instance role's credentials; on this machine that request must neither leave the machine
 * (`scripts/e2e/ensure-docker.sh` rejects 169.254.0.0/16 from containers) nor hang: a refused
 * connection makes pgBackRest retry for about 2 minutes, a 403 answer fails it at once, as
 * on an instance without a role. A DNAT rule per test network sends port 80 of that address to a
 * local HTTP server answering 403; {@link FakeImds.close} removes the rules and the server.
 */
import { execFileSync } from "child_process";
import * as http from "http";
import type { AddressInfo } from "net";

export const METADATA_ADDRESS = "169.254.169.254";

export class FakeImds {
    /** One server per test network, listening on that network's gateway address only. */
    private readonly servers: http.Server[] = [];
    private readonly rules: string[][] = [];
    /** Requests answered, by `METHOD path`. */
    readonly requests: string[] = [];

    /** Sends `subnet`'s metadata requests to a stand-in listening on the network's `gateway`. */
    async serve(subnet: string, gateway: string): Promise<void> {
        const server = http.createServer((req, res) => {
            this.requests.push(`${req.method} ${req.url}`);
            res.writeHead(403, { "content-type": "text/plain" });
            res.end("no instance role in this test\n");
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, gateway, resolve);
        });
        this.servers.push(server);
        const port = (server.address() as AddressInfo).port;
        const rule = [
            "PREROUTING",
            "-s",
            subnet,
            "-d",
            `${METADATA_ADDRESS}/32`,
            "-p",
            "tcp",
            "--dport",
            "80",
            "-j",
            "DNAT",
            "--to-destination",
            `${gateway}:${port}`,
        ];
        execFileSync("iptables", ["-t", "nat", "-I", ...rule]);
        this.rules.push(rule);
    }

    async close(): Promise<void> {
        for (const rule of this.rules.splice(0)) {
            try {
                execFileSync("iptables", ["-t", "nat", "-D", ...rule]);
            } catch {
                // already gone
            }
        }
        for (const server of this.servers.splice(0)) {
            await new Promise((resolve) => server.close(resolve));
        }
    }
}
