import {
    DEFAULTS,
    parseBytes,
    parseDuration,
    parseVerifyArgs,
    USAGE,
    type VerifyOptions,
} from "../../../scripts/verify/args";
import { EXIT, InputError } from "../../../scripts/verify/errors";

function options(argv: string[]): VerifyOptions {
    const parsed = parseVerifyArgs(argv);
    if (parsed.help) throw new Error("unexpected --help");
    return parsed.options;
}

function inputError(argv: string[]): InputError {
    try {
        parseVerifyArgs(argv);
    } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).exitCode).toBe(EXIT.usage);
        return err as InputError;
    }
    throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("parseVerifyArgs", () => {
    test("--stack with every default", () => {
        expect(options(["--stack", "dev"])).toEqual({
            source: { kind: "stack", stack: "dev" },
            json: false,
            connectTimeoutMs: DEFAULTS.connectTimeoutMs,
            queryTimeoutMs: DEFAULTS.queryTimeoutMs,
            canaryTimeoutMs: 10_000,
            lagWarnMs: 30_000,
            lagFailMs: 60_000,
            lagWarnBytes: undefined,
            lagFailBytes: undefined,
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
                "--canary-timeout",
                "3s",
                "--lag-warn",
                "0.5",
                "--lag-fail",
                "1min",
                "--lag-warn-bytes",
                "16MB",
                "--lag-fail-bytes",
                "1GB",
            ]),
        ).toEqual({
            source: { kind: "file", path: "out.json" },
            json: true,
            connectTimeoutMs: 2000,
            queryTimeoutMs: 1500,
            canaryTimeoutMs: 3000,
            lagWarnMs: 500,
            lagFailMs: 60_000,
            lagWarnBytes: 16 * 1024 * 1024,
            lagFailBytes: 1024 ** 3,
        });
    });

    test.each([
        ["--stack", "acme/pgha/dev"],
        ["--stack", "pgha-dev.1"],
        ["--stack", "org/dev"],
    ])("%s %s is a valid stack name", (flag, name) => {
        expect(options([flag, name]).source).toEqual({ kind: "stack", stack: name });
    });

    test.each([["--help"], ["-h"], ["--stack", "dev", "--help"], ["--nonsense", "--help"]])(
        "%s prints the usage",
        (...argv) => {
            // --help wins over everything but unknown flags, which parseArgs rejects first
            if (argv.includes("--nonsense")) {
                expect(inputError(argv).message).toMatch(/unknown flag --nonsense/);
            } else {
                expect(parseVerifyArgs(argv)).toEqual({ help: true });
            }
        },
    );

    test("usage names every flag and the exit codes", () => {
        for (const flag of [
            "--stack",
            "--outputs",
            "--json",
            "--connect-timeout",
            "--query-timeout",
            "--canary-timeout",
            "--lag-warn",
            "--lag-fail",
            "--lag-warn-bytes",
            "--lag-fail-bytes",
            "--help",
        ]) {
            expect(USAGE).toContain(flag);
        }
        expect(USAGE).toMatch(/0 all passed.*1 a check failed.*2 unusable input/s);
    });

    test.each<[string[], RegExp]>([
        [[], /one of --stack <name> or --outputs <file.json> is required/],
        [["--stack", "dev", "--outputs", "x.json"], /--stack and --outputs cannot be used together/],
        [["--stack"], /--stack needs a value/],
        [["--outputs"], /--outputs needs a value/],
        [
            ["--stack", "--json"],
            /--stack needs a value \(a value starting with '-' is written --stack=<value>\)/,
        ],
        [["--stack", "bad name"], /--stack must be a Pulumi stack name.*"bad name"/],
        [["--stack", "a/b/c/d"], /--stack must be a Pulumi stack name/],
        [["--outputs", ""], /--outputs must be the path of a JSON file/],
        [["--stack", "dev", "--stack", "prod"], /--stack is given more than once/],
        [["--stack", "dev", "extra"], /unexpected argument "extra"/],
        [["--stack", "dev", "--verbose"], /unknown flag --verbose/],
        [["--stack", "dev", "-v"], /unknown flag -v/],
        [["--stack", "dev", "--json=yes"], /--json takes no value/],
        [
            ["--stack", "dev", "--connect-timeout", "soon"],
            /--connect-timeout must be a duration .* got "soon"/,
        ],
        [["--stack", "dev", "--connect-timeout", "50ms"], /--connect-timeout must be a duration from 100 ms/],
        [["--stack", "dev", "--query-timeout", "-1"], /--query-timeout needs a value/],
        [["--stack", "dev", "--query-timeout=-1"], /--query-timeout must be a duration .* got "-1"/],
        [["--stack", "dev", "--canary-timeout", "0"], /--canary-timeout must be a duration/],
        [["--stack", "dev", "--lag-warn", "10h"], /--lag-warn must be a duration .* got "10h"/],
        [["--stack", "dev", "--lag-fail", "25h"], /--lag-fail must be a duration .* got "25h"/],
        [
            ["--stack", "dev", "--lag-warn", "10", "--lag-fail", "5"],
            /^--lag-warn 10\.0 s must not be above --lag-fail 5\.00 s: give both, warn <= fail$/,
        ],
        [
            ["--stack", "dev", "--lag-fail", "5"],
            /^--lag-warn 30\.0 s \(default\) must not be above --lag-fail 5\.00 s: give both/,
        ],
        [
            ["--stack", "dev", "--lag-warn", "90"],
            /^--lag-warn 1 min 30 s must not be above --lag-fail 1 min 0 s \(default\)/,
        ],
        [
            ["--stack", "dev", "--lag-warn-bytes", "lots"],
            /--lag-warn-bytes must be a positive size .* got "lots"/,
        ],
        [["--stack", "dev", "--lag-fail-bytes", "0"], /--lag-fail-bytes must be a positive size/],
        [["--stack", "dev", "--lag-fail-bytes", "5PB"], /--lag-fail-bytes must be a positive size/],
        [
            ["--stack", "dev", "--lag-warn-bytes", "2MB", "--lag-fail-bytes", "1MB"],
            /--lag-warn-bytes \(2097152\) must not be above --lag-fail-bytes \(1048576\)/,
        ],
    ])("rejects %j", (argv, message) => {
        expect(inputError(argv).message).toMatch(message);
    });
});

describe("parseDuration / parseBytes", () => {
    test.each([
        ["10", 10_000],
        ["0.5", 500],
        ["250ms", 250],
        ["250 MS", 250],
        ["10s", 10_000],
        ["2min", 120_000],
        ["1.5s", 1500],
    ])("duration %s = %d ms", (raw, ms) => {
        expect(parseDuration("--x", raw)).toBe(ms);
    });

    test.each([
        ["1", 1],
        ["512", 512],
        ["1kB", 1024],
        ["16MB", 16 * 1024 ** 2],
        ["1.5GB", 1.5 * 1024 ** 3],
        ["2TB", 2 * 1024 ** 4],
        ["100b", 100],
    ])("size %s = %d bytes", (raw, bytes) => {
        expect(parseBytes("--x", raw)).toBe(bytes);
    });
});
