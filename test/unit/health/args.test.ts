import {
    HEALTH_DEFAULTS,
    HEALTH_USAGE,
    parseAgeThreshold,
    parseHealthArgs,
    parseSizeThreshold,
    resolveThreshold,
    type HealthOptions,
} from "../../../scripts/health/args";
import { EXIT, InputError } from "../../../scripts/verify/errors";
import { GB, MB } from "./fixtures";

function options(argv: string[]): HealthOptions {
    const parsed = parseHealthArgs(argv);
    if (parsed.help) throw new Error("unexpected --help");
    return parsed.options;
}

function inputError(argv: string[]): InputError {
    try {
        parseHealthArgs(argv);
    } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).exitCode).toBe(EXIT.usage);
        return err as InputError;
    }
    throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("parseHealthArgs", () => {
    test("--stack with every default", () => {
        expect(options(["--stack", "dev"])).toEqual({
            source: { kind: "stack", stack: "dev" },
            json: false,
            connectTimeoutMs: 5000,
            queryTimeoutMs: 5000,
            samples: 1,
            intervalMs: 1000,
            lagWarnMs: 30_000,
            lagAlertMs: 60_000,
            lagWarnBytes: 256 * MB,
            lagAlertBytes: GB,
            slotWarn: { kind: "relative", factor: 0.5 },
            slotAlert: { kind: "relative", factor: 0.8 },
            backupWarn: { kind: "relative", factor: 1.5 },
            backupAlert: { kind: "relative", factor: 2 },
            archiveWarn: { kind: "relative", factor: 2 },
            archiveAlert: { kind: "relative", factor: 5 },
            archiveQueueWarn: { kind: "relative", factor: 0.5 },
            archiveQueueAlert: { kind: "relative", factor: 0.8 },
        });
    });

    test("--outputs and every other flag", () => {
        expect(
            options([
                "--outputs=out.json",
                "--json",
                "--connect-timeout",
                "2",
                "--query-timeout",
                "1500ms",
                "--samples",
                "10",
                "--interval",
                "250ms",
                "--lag-warn",
                "5s",
                "--lag-alert",
                "1min",
                "--lag-warn-bytes",
                "16MB",
                "--lag-alert-bytes",
                "64MB",
                "--slot-warn",
                "1GB",
                "--slot-alert",
                "90%",
                "--backup-warn",
                "7h",
                "--backup-alert",
                "3x",
                "--backup-interval",
                "12h",
                "--archive-warn",
                "90s",
                "--archive-alert",
                "10min",
                "--archive-queue-warn",
                "1GB",
                "--archive-queue-alert",
                "75%",
            ]),
        ).toEqual({
            source: { kind: "file", path: "out.json" },
            json: true,
            connectTimeoutMs: 2000,
            queryTimeoutMs: 1500,
            samples: 10,
            intervalMs: 250,
            lagWarnMs: 5000,
            lagAlertMs: 60_000,
            lagWarnBytes: 16 * MB,
            lagAlertBytes: 64 * MB,
            slotWarn: { kind: "absolute", value: GB },
            slotAlert: { kind: "relative", factor: 0.9 },
            backupWarn: { kind: "absolute", value: 7 * 3_600_000 },
            backupAlert: { kind: "relative", factor: 3 },
            backupIntervalMs: 12 * 3_600_000,
            archiveWarn: { kind: "absolute", value: 90_000 },
            archiveAlert: { kind: "absolute", value: 600_000 },
            archiveQueueWarn: { kind: "absolute", value: GB },
            archiveQueueAlert: { kind: "relative", factor: 0.75 },
        });
    });

    test.each([["--help"], ["-h"], ["--stack", "dev", "--help"]])("%s asks for the usage", (...argv) => {
        expect(parseHealthArgs(argv)).toEqual({ help: true });
    });

    test("the usage names every flag and the exit codes", () => {
        for (const flag of [
            "--stack",
            "--outputs",
            "--json",
            "--samples",
            "--interval",
            "--lag-warn",
            "--lag-alert",
            "--lag-warn-bytes",
            "--lag-alert-bytes",
            "--slot-warn",
            "--slot-alert",
            "--backup-warn",
            "--backup-alert",
            "--backup-interval",
            "--archive-warn",
            "--archive-alert",
            "--connect-timeout",
            "--query-timeout",
            "--help",
        ]) {
            expect(HEALTH_USAGE).toContain(flag);
        }
        expect(HEALTH_USAGE).toMatch(
            /Exit codes: 0 healthy \(warnings allowed\), 1 an alert, 2 unusable input .*\n3 the primary could not be read at all/,
        );
    });

    test.each([
        [[], /one of --stack <name> or --outputs <file.json> is required/],
        [["--stack", "dev", "--outputs", "x.json"], /--stack and --outputs cannot be used together/],
        [["--stack", "dev prod"], /--stack must be a Pulumi stack name/],
        [["--outputs", " "], /--outputs must be the path of a JSON file/],
        [["--stack", "dev", "--stack", "prod"], /--stack is given more than once/],
        [["--stack", "dev", "--nonsense"], /unknown flag --nonsense/],
        [["--stack", "dev", "extra"], /unexpected argument "extra"/],
        [["--stack"], /--stack needs a value/],
        [["--stack", "dev", "--json=yes"], /--json takes no value/],
        [["--stack", "dev", "--samples", "0"], /--samples must be a whole number from 1 to 3600; got "0"/],
        [["--stack", "dev", "--samples", "2.5"], /--samples must be a whole number/],
        [["--stack", "dev", "--samples", "3601"], /--samples must be a whole number/],
        [["--stack", "dev", "--interval", "10ms"], /--interval must be a duration from 100 ms/],
        [["--stack", "dev", "--interval", "1h"], /--interval must be a duration/],
        [["--stack", "dev", "--connect-timeout", "soon"], /--connect-timeout must be a duration/],
        [["--stack", "dev", "--query-timeout", "0"], /--query-timeout must be a duration/],
        [
            ["--stack", "dev", "--lag-warn", "-1"],
            /--lag-warn needs a value \(a value starting with '-' is written --lag-warn=<value>\)/,
        ],
        [["--stack", "dev", "--lag-alert", "fast"], /--lag-alert must be a duration/],
        [["--stack", "dev", "--lag-warn-bytes", "lots"], /--lag-warn-bytes must be a positive size/],
        [["--stack", "dev", "--lag-alert-bytes", "0"], /--lag-alert-bytes must be a positive size/],
        [
            ["--stack", "dev", "--slot-warn", "150%"],
            /--slot-warn must be a size .* or a percentage of max_slot_wal_keep_size from 1% to 100%.*got "150%"/,
        ],
        [["--stack", "dev", "--slot-alert", "big"], /--slot-alert must be a size/],
        [
            ["--stack", "dev", "--archive-queue-warn", "0%"],
            /--archive-queue-warn must be a size .* or a percentage of pgha:archiveQueueMaxMb from 1% to 100%.*got "0%"/,
        ],
        [
            ["--stack", "dev", "--backup-warn", "0x"],
            /--backup-warn must be a duration .* or a multiple of the backup interval/,
        ],
        [["--stack", "dev", "--backup-alert", "2 weeks"], /--backup-alert must be a duration/],
        [
            ["--stack", "dev", "--backup-interval", "30s"],
            /--backup-interval must be a duration from 1 min 0 s/,
        ],
        [
            ["--stack", "dev", "--archive-warn", "x2"],
            /--archive-warn must be a duration .* or a multiple of archive_timeout/,
        ],
        [["--stack", "dev", "--archive-alert", "-"], /--archive-alert must be a duration .*got "-"/],
        [
            ["--stack", "dev", "--lag-warn", "90"],
            /--lag-warn 1 min 30 s must not be above --lag-alert 1 min 0 s: warn <= alert/,
        ],
        [
            ["--stack", "dev", "--lag-warn-bytes", "2GB"],
            /--lag-warn-bytes 2\.0 GB must not be above --lag-alert-bytes 1\.0 GB/,
        ],
        [["--stack", "dev", "--slot-warn", "90%"], /--slot-warn 90% must not be above --slot-alert 80%/],
        [
            ["--stack", "dev", "--archive-queue-warn", "90%"],
            /--archive-queue-warn 90% must not be above --archive-queue-alert 80%/,
        ],
        [["--stack", "dev", "--backup-warn", "3x"], /--backup-warn 3x must not be above --backup-alert 2x/],
        [
            ["--stack", "dev", "--archive-warn", "1h", "--archive-alert", "10min"],
            /--archive-warn 1 h 0 min must not be above --archive-alert 10 min 0 s/,
        ],
    ])("rejects %j", (argv, message) => {
        expect(inputError(argv).message).toMatch(message);
    });

    test("warn and alert of different kinds are accepted (compared once resolved)", () => {
        expect(options(["--stack", "dev", "--slot-warn", "7GB"]).slotWarn).toEqual({
            kind: "absolute",
            value: 7 * GB,
        });
    });
});

describe("thresholds", () => {
    test.each([
        ["1.5x", { kind: "relative", factor: 1.5 }],
        ["2X", { kind: "relative", factor: 2 }],
        ["12h", { kind: "absolute", value: 12 * 3_600_000 }],
        ["1.5d", { kind: "absolute", value: 36 * 3_600_000 }],
        ["90", { kind: "absolute", value: 90_000 }],
    ])("age %s", (raw, t) => {
        expect(parseAgeThreshold("--x", raw, "the backup interval")).toEqual(t);
    });

    test.each([
        ["50%", { kind: "relative", factor: 0.5 }],
        ["100%", { kind: "relative", factor: 1 }],
        ["512MB", { kind: "absolute", value: 512 * MB }],
    ])("size %s", (raw, t) => {
        expect(parseSizeThreshold("--x", raw)).toEqual(t);
    });

    test("resolve: relative against its base, undefined without one; absolute as is", () => {
        expect(resolveThreshold({ kind: "relative", factor: 0.5 }, 8 * GB)).toBe(4 * GB);
        expect(resolveThreshold({ kind: "relative", factor: 0.5 }, null)).toBeUndefined();
        expect(resolveThreshold({ kind: "absolute", value: 5 }, null)).toBe(5);
        expect(resolveThreshold(HEALTH_DEFAULTS.backupAlert, HEALTH_DEFAULTS.backupIntervalMs)).toBe(
            12 * 3_600_000,
        );
    });
});
