import { buildReport, exitCodeOf, renderJson, renderTable } from "../../../scripts/verify/report";
import { redact } from "../../../scripts/verify/redact";
import type { CheckResult } from "../../../scripts/verify/types";
import { APP_PASSWORD, PASSWORD } from "./fixtures";

const SECRETS = [PASSWORD, APP_PASSWORD];

const results: CheckResult[] = [
    {
        check: "lag",
        node: "replica-1",
        status: "WARN",
        detail: "replay lag 31.0 s, 0 B; lag 31.0 s >= --lag-warn 30.0 s",
        metrics: { replayLagMs: 31000, replayLagBytes: 0 },
    },
    {
        check: "primary",
        node: "primary",
        status: "PASS",
        detail: "accepts writes (not in recovery), cluster_name=primary",
    },
    {
        check: "pgbouncer",
        node: "pgbouncer-rw",
        status: "FAIL",
        detail: `cannot connect: error in postgresql://app:${APP_PASSWORD}@127.0.0.1:6432/app and password=${PASSWORD}\nsecond line`,
        metrics: { note: `postgres://pgha_monitor:${encodeURIComponent(PASSWORD)}@h/app` },
    },
    { check: "streaming", node: "replica-2", status: "PASS", detail: "streaming, sync_state async" },
    { check: "streaming", node: "replica-1", status: "PASS", detail: "streaming, sync_state async" },
];

describe("buildReport", () => {
    test("orders by check id, then node order, and fails when any check fails", () => {
        const report = buildReport("pgha-dev", results, 123.4, [
            "primary",
            "pgbouncer-rw",
            "replica-1",
            "replica-2",
        ]);
        expect(report.checks.map((c) => `${c.check}/${c.node}`)).toEqual([
            "primary/primary",
            "streaming/replica-1",
            "streaming/replica-2",
            "lag/replica-1",
            "pgbouncer/pgbouncer-rw",
        ]);
        expect(report.ok).toBe(false);
        expect(report.durationMs).toBe(123);
        expect(exitCodeOf(report)).toBe(1);
    });

    test.each<[CheckResult["status"][], boolean, number]>([
        [["PASS", "PASS"], true, 0],
        [["PASS", "WARN"], true, 0],
        [["WARN", "FAIL"], false, 1],
        [[], true, 0],
    ])("statuses %j → ok %p, exit %d", (statuses, ok, exit) => {
        const report = buildReport(
            "c",
            statuses.map((status, i) => ({ check: "lag", node: `replica-${i}`, status, detail: "" })),
            1,
        );
        expect(report.ok).toBe(ok);
        expect(exitCodeOf(report)).toBe(exit);
    });
});

describe("renderTable", () => {
    const report = buildReport("pgha-dev", results, 1234, [
        "primary",
        "replica-1",
        "replica-2",
        "pgbouncer-rw",
    ]);
    const text = renderTable(report, SECRETS);

    test("aligns the columns under a header and ends with a summary", () => {
        const lines = text.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^CHECK\s+NODE\s+STATUS\s+DETAIL$/);
        const nodeCol = lines[0].indexOf("NODE");
        const statusCol = lines[0].indexOf("STATUS");
        const detailCol = lines[0].indexOf("DETAIL");
        for (const line of lines.slice(1, 6)) {
            expect(line[nodeCol - 1]).toBe(" ");
            expect(line.slice(statusCol, statusCol + 4)).toMatch(/PASS|WARN|FAIL/);
            expect(line[detailCol - 1]).toBe(" ");
            expect(line[detailCol]).not.toBe(" ");
        }
        expect(lines[1]).toMatch(/^primary\s+primary\s+PASS\s+accepts writes/);
        expect(lines[5]).toMatch(/^pgbouncer\s+pgbouncer-rw\s+FAIL\s+cannot connect/);
        expect(lines[6]).toBe("");
        expect(lines[7]).toBe(
            "FAILED: cluster pgha-dev, 3 PASS, 1 WARN, 1 FAIL in 1.23 s (failed: pgbouncer)",
        );
    });

    test("keeps each result on one line", () => {
        expect(text.trimEnd().split("\n")).toHaveLength(8);
        expect(text).toContain("and password=*** second line");
    });

    test("never prints a password, plain or URL-encoded", () => {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(APP_PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
        expect(text).toContain("postgresql://app:***@127.0.0.1:6432/app");
    });

    test("says OK with warnings when nothing failed", () => {
        const warnOnly = buildReport(
            "pgha-dev",
            results.filter((r) => r.status !== "FAIL"),
            50,
        );
        expect(renderTable(warnOnly).trimEnd().split("\n").pop()).toBe(
            "OK with warnings: cluster pgha-dev, 3 PASS, 1 WARN, 0 FAIL in 50 ms",
        );
        const allPass = buildReport(
            "pgha-dev",
            results.filter((r) => r.status === "PASS"),
            50,
        );
        expect(renderTable(allPass).trimEnd().split("\n").pop()).toMatch(
            /^OK: cluster pgha-dev, 3 PASS, 0 WARN, 0 FAIL/,
        );
    });
});

describe("renderJson", () => {
    const report = buildReport("pgha-dev", results, 1234, [
        "primary",
        "replica-1",
        "replica-2",
        "pgbouncer-rw",
    ]);
    const text = renderJson(report, SECRETS);
    const parsed = JSON.parse(text);

    test("has ok and checks with check, node, status, detail and metrics", () => {
        expect(parsed.ok).toBe(false);
        expect(parsed.clusterName).toBe("pgha-dev");
        expect(parsed.durationMs).toBe(1234);
        expect(parsed.checks).toHaveLength(5);
        expect(parsed.checks[0]).toEqual({
            check: "primary",
            node: "primary",
            status: "PASS",
            detail: "accepts writes (not in recovery), cluster_name=primary",
        });
        expect(parsed.checks[3]).toEqual({
            check: "lag",
            node: "replica-1",
            status: "WARN",
            detail: "replay lag 31.0 s, 0 B; lag 31.0 s >= --lag-warn 30.0 s",
            metrics: { replayLagMs: 31000, replayLagBytes: 0 },
        });
    });

    test("never prints a password, in details or metrics", () => {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(APP_PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
        expect(parsed.checks[4].metrics.note).toBe("postgres://pgha_monitor:***@h/app");
    });
});

describe("redact", () => {
    test.each([
        ["postgresql://u:pw123@h:5432/db", [], "postgresql://u:***@h:5432/db"],
        ["postgres://u:p%40w@h/db failed", [], "postgres://u:***@h/db failed"],
        ["host=h password=abc123 user=u", [], "host=h password=*** user=u"],
        ["host=h password='a b c' user=u", [], "host=h password=*** user=u"],
        ["PASSWORD = xyz", [], "PASSWORD = ***"],
        ["the secret is hunter22, really", ["hunter22"], "the secret is ***, really"],
        ["url-encoded p%2Fw%40rd", ["p/w@rd"], "url-encoded ***"],
        ["one-letter secrets are left alone: a b c", ["a"], "one-letter secrets are left alone: a b c"],
        ["postgresql://u@h/db has no password", [], "postgresql://u@h/db has no password"],
    ])("%s", (text, secrets, expected) => {
        expect(redact(text, secrets)).toBe(expected);
    });
});
