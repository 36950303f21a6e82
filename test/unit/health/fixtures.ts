/** Shared test data for the health unit tests (not a test file itself). */
import type { ReplicationRow, SlotRow } from "../../../scripts/verify/checks";
import { HEALTH_DEFAULTS } from "../../../scripts/health/args";
import type {
    ArchiveFacts,
    BackupFacts,
    Expectations,
    GoodSample,
    HealthThresholds,
    PrimaryFacts,
} from "../../../scripts/health/evaluate";
import { REPLICAS } from "../verify/fixtures";

export { APP_PASSWORD, PASSWORD, REPLICAS, validOutputs } from "../verify/fixtures";

export const MB = 1024 ** 2;
export const GB = 1024 ** 3;

/** The default thresholds, as parseHealthArgs gives them without flags. */
export const THRESHOLDS: HealthThresholds = {
    lagWarnMs: HEALTH_DEFAULTS.lagWarnMs,
    lagAlertMs: HEALTH_DEFAULTS.lagAlertMs,
    lagWarnBytes: HEALTH_DEFAULTS.lagWarnBytes,
    lagAlertBytes: HEALTH_DEFAULTS.lagAlertBytes,
    slotWarn: HEALTH_DEFAULTS.slotWarn,
    slotAlert: HEALTH_DEFAULTS.slotAlert,
    backupWarn: HEALTH_DEFAULTS.backupWarn,
    backupAlert: HEALTH_DEFAULTS.backupAlert,
    archiveWarn: HEALTH_DEFAULTS.archiveWarn,
    archiveAlert: HEALTH_DEFAULTS.archiveAlert,
    archiveQueueWarn: HEALTH_DEFAULTS.archiveQueueWarn,
    archiveQueueAlert: HEALTH_DEFAULTS.archiveQueueAlert,
};

/** The dev stack's expectations: two replicas, backups on every 6 h (from the outputs). */
export const EXPECT: Expectations = {
    replicas: REPLICAS,
    backupEnabled: true,
    backupIntervalMs: 6 * 3_600_000,
    backupIntervalFrom: "outputs",
};

export function walsender(app: string, over: Partial<ReplicationRow> = {}): ReplicationRow {
    return {
        pid: app === "replica_1" ? 101 : 102,
        application_name: app,
        state: "streaming",
        sync_state: "async",
        client_addr: "172.18.0.3",
        replay_bytes: 0,
        replay_lag_s: null,
        ...over,
    };
}

export function slot(name: string, over: Partial<SlotRow> = {}): SlotRow {
    return {
        slot_name: name,
        slot_type: "physical",
        active: true,
        active_pid: 101,
        wal_status: "reserved",
        retained_bytes: 64 * 1024,
        ...over,
    };
}

export const PRIMARY: PrimaryFacts = {
    in_recovery: false,
    server_version: "15.18",
    max_slot_wal_keep_bytes: 8 * GB,
    archive_mode: "on",
    archive_timeout_s: 60,
};

export const ARCHIVE: ArchiveFacts = {
    archived_count: 12,
    last_archived_wal: "00000001000000000000000C",
    last_archived_age_s: 30,
    failed_count: 0,
    last_failed_wal: null,
    last_failed_age_s: null,
    failing: false,
    ready_count: 0,
    oldest_ready_age_s: null,
};

export const BACKUP: BackupFacts = {
    ok: true,
    lastOk: {
        backup_type: "full",
        label: "20261123-100000F",
        finished_at: "2026-11-23T10:00:05+00:00",
        age_s: 3600,
    },
    lastFailed: null,
    failedSinceOk: 0,
};

/** A healthy sample; `over` replaces whole parts. */
export function sample(over: Partial<Omit<GoodSample, "ok">> = {}): GoodSample {
    return {
        ok: true,
        at: 1_000_000,
        primary: PRIMARY,
        walsenders: [walsender("replica_1"), walsender("replica_2")],
        slots: [slot("pgha_replica_1"), slot("pgha_replica_2", { active_pid: 102 })],
        archive: ARCHIVE,
        backup: BACKUP,
        ...over,
    };
}
