/** What a removed secret is replaced with. */
export const REDACTED = "***";

/**
 * Removes passwords from text that may be shown to a person or stored in a log:
 * every known secret (as is and URL-encoded), the password of any `scheme://user:password@`
 * URL, and `password=...` pairs of libpq key/value connection strings.
 * Secrets shorter than 3 characters are only removed inside those patterns, so a
 * one-letter password does not blank every occurrence of that letter.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
    let out = text;
    const known = [...new Set(secrets.filter((s) => typeof s === "string" && s.length >= 3))]
        .flatMap((s) => [s, encodeURIComponent(s)])
        .sort((a, b) => b.length - a.length);
    for (const secret of known) out = out.split(secret).join(REDACTED);
    out = out.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*:)[^\s@'"]*@/gi, `$1${REDACTED}@`);
    out = out.replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/gi, `$1${REDACTED}`);
    return out;
}
