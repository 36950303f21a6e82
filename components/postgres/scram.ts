import { createHash, createHmac, pbkdf2Sync } from "crypto";

/** PostgreSQL's default SCRAM iteration count (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;

/**
 * Computes the SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 7677, the format of
 * pg_authid.rolpassword), so a node receives the verifier and never the password itself.
 * @param salt at least 16 random bytes; keep it stable so the verifier does not change on every run.
 */
export function scramSha256Verifier(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): string {
    if (salt.length < 16) {
        throw new Error(`SCRAM salt must be at least 16 bytes, got ${salt.length}`);
    }
    const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** A per-role salt derived from a secret seed, so each role gets its own stable salt from one random resource. */
export function deriveSalt(seed: string, role: string): Buffer {
    return createHmac("sha256", seed).update(`pgha-scram-salt:${role}`).digest().subarray(0, 16);
}
