import { parsePgbenchOutput, pgbenchArgs } from "../../../scripts/bench/pgbench";

const THROTTLED = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 5 s
number of transactions actually processed: 1147
number of failed transactions: 0 (0.000%)
latency average = 1454.446 ms
latency stddev = 657.055 ms
rate limit schedule lag: avg 1421.187 (max 2682.285) ms
initial connection time = 253.152 ms
tps = 238.183443 (without initial connection time)
`;

const RECONNECTING = `transaction type: <builtin: select only>
number of transactions actually processed: 293
number of failed transactions: 2 (0.678%)
latency average = 861.546 ms
average connection time = 33.928 ms
tps = 58.035224 (including reconnection times)
`;

describe("parsePgbenchOutput", () => {
    test("a throttled run: TPS, counts, latency and schedule lag", () => {
        expect(parsePgbenchOutput(THROTTLED)).toEqual({
            tps: 238.183443,
            transactions: 1147,
            failed: 0,
            latencyAvgMs: 1454.446,
            connectionAvgMs: undefined,
            scheduleLagAvgMs: 1421.187,
        });
    });

    test("a -C run: TPS including reconnection times and the mean connection time", () => {
        expect(parsePgbenchOutput(RECONNECTING)).toMatchObject({
            tps: 58.035224,
            transactions: 293,
            failed: 2,
            connectionAvgMs: 33.928,
        });
    });

    test("a run that completed no transaction (pgbench prints no tps line) has 0 TPS", () => {
        expect(
            parsePgbenchOutput(
                "number of transactions actually processed: 0\nnumber of failed transactions: 0 (0.000%)\n",
            ),
        ).toMatchObject({ tps: 0, transactions: 0 });
    });

    test("no summary is an error that shows how the output ended", () => {
        expect(() => parsePgbenchOutput("pgbench (15.18)\nsomething else\n")).toThrow(
            /printed no summary.*something else/,
        );
        expect(() => parsePgbenchOutput("tps = 12.5 (without initial connection time)\n")).toThrow(
            /no summary/,
        );
    });
});

describe("pgbenchArgs", () => {
    const target = { host: "127.0.0.1", port: 15432, user: "app", database: "app" };

    test("an unthrottled read-write run", () => {
        expect(pgbenchArgs(target, { seconds: 12, clients: 8, threads: 2 })).toEqual([
            "-h",
            "127.0.0.1",
            "-p",
            "15432",
            "-U",
            "app",
            "-n",
            "--random-seed=1",
            "-T",
            "12",
            "-c",
            "8",
            "-j",
            "2",
            "app",
        ]);
    });

    test("a throttled run, select-only, a connection per transaction; never more threads than clients", () => {
        const args = pgbenchArgs(target, {
            seconds: 5,
            clients: 1,
            threads: 2,
            rate: 500,
            selectOnly: true,
            connectPerTransaction: true,
        });
        expect(args).toEqual(expect.arrayContaining(["-R", "500", "-S", "-C"]));
        expect(args.slice(args.indexOf("-j"), args.indexOf("-j") + 2)).toEqual(["-j", "1"]);
    });

    test("rate null is unthrottled, and no password is ever an argument", () => {
        const args = pgbenchArgs({ ...target, password: "s3cret" } as never, {
            seconds: 5,
            clients: 4,
            threads: 2,
            rate: null,
        });
        expect(args).not.toContain("-R");
        expect(args.join(" ")).not.toContain("s3cret");
    });
});
