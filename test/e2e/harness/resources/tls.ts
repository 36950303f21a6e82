/** tls:index/* (terraform-provider-tls), made with Node's crypto and the openssl CLI; every input is ForceNew. */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ResourceHandler } from "./handler";

export const tlsPrivateKeyHandler: ResourceHandler = {
    inputs: { algorithm: true, ecdsaCurve: true, rsaBits: true },
    secretOutputs: ["privateKeyPem"],
    async create(inputs) {
        const pair =
            inputs.algorithm === "ECDSA"
                ? crypto.generateKeyPairSync("ec", {
                      namedCurve: (
                          { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" } as Record<
                              string,
                              string
                          >
                      )[inputs.ecdsaCurve ?? "P224"],
                  })
                : inputs.algorithm === "RSA"
                  ? crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 })
                  : undefined;
        if (!pair)
            throw new Error(
                `tls private key: the e2e engine does not implement algorithm ${inputs.algorithm}`,
            );
        const privateKeyPem = pair.privateKey
            .export({ type: inputs.algorithm === "ECDSA" ? "sec1" : "pkcs1", format: "pem" })
            .toString();
        const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
        return {
            id: crypto.createHash("sha1").update(publicKeyPem).digest("hex"),
            outputs: { privateKeyPem, publicKeyPem },
        };
    },
};

/** A self-signed certificate made with the openssl CLI (Node's crypto cannot issue certificates). */
export const tlsSelfSignedCertHandler: ResourceHandler = {
    inputs: {
        privateKeyPem: true,
        subject: true,
        dnsNames: true,
        ipAddresses: true,
        isCaCertificate: true,
        validityPeriodHours: true,
        allowedUses: true,
        earlyRenewalHours: true,
    },
    async create(inputs) {
        const san = [
            ...(inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`),
            ...(inputs.ipAddresses ?? []).map((a: string) => `IP:${a}`),
        ];
        const certPem = withOpenssl(
            { "key.pem": inputs.privateKeyPem },
            (dir) => [
                "req",
                "-x509",
                "-new",
                "-key",
                path.join(dir, "key.pem"),
                "-subj",
                `/CN=${inputs.subject?.commonName ?? "pgha"}`,
                "-days",
                String(Math.max(1, Math.ceil((inputs.validityPeriodHours ?? 24) / 24))),
                "-out",
                path.join(dir, "cert.pem"),
                ...(san.length ? ["-addext", `subjectAltName=${san.join(",")}`] : []),
                "-addext",
                `basicConstraints=critical,CA:${inputs.isCaCertificate ? "TRUE" : "FALSE"}`,
                ...opensslUsages(inputs.allowedUses).flatMap((usage) => ["-addext", usage]),
            ],
            "cert.pem",
        );
        return { id: crypto.createHash("sha1").update(certPem).digest("hex"), outputs: { certPem } };
    },
};

/** OpenSSL's names of the tls provider's `allowedUses`. */
function opensslUsages(allowedUses: readonly string[] = []): string[] {
    const keyUsage: Record<string, string> = {
        digital_signature: "digitalSignature",
        key_encipherment: "keyEncipherment",
        cert_signing: "keyCertSign",
        crl_signing: "cRLSign",
    };
    const extendedKeyUsage: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };
    const key = allowedUses.filter((u) => keyUsage[u]).map((u) => keyUsage[u]);
    const extended = allowedUses.filter((u) => extendedKeyUsage[u]).map((u) => extendedKeyUsage[u]);
    return [
        ...(key.length ? [`keyUsage=critical,${key.join(",")}`] : []),
        ...(extended.length ? [`extendedKeyUsage=${extended.join(",")}`] : []),
    ];
}

/** Runs openssl in a scratch directory holding `files`; returns the content of `outputFile`. */
function withOpenssl(
    files: Record<string, string>,
    args: (dir: string) => string[],
    outputFile: string,
): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-tls-"));
    try {
        for (const [name, content] of Object.entries(files))
            fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        execFileSync("openssl", args(dir), { stdio: "pipe" });
        return fs.readFileSync(path.join(dir, outputFile), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** A certificate signing request (with its subject alternative names) made with the openssl CLI. */
export const tlsCertRequestHandler: ResourceHandler = {
    inputs: { privateKeyPem: true, subject: true, dnsNames: true, ipAddresses: true },
    async create(inputs) {
        const san = [
            ...(inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`),
            ...(inputs.ipAddresses ?? []).map((a: string) => `IP:${a}`),
        ];
        const certRequestPem = withOpenssl(
            { "key.pem": inputs.privateKeyPem },
            (dir) => [
                "req",
                "-new",
                "-key",
                path.join(dir, "key.pem"),
                "-subj",
                `/CN=${inputs.subject?.commonName ?? "pgha"}`,
                ...(san.length ? ["-addext", `subjectAltName=${san.join(",")}`] : []),
                "-out",
                path.join(dir, "csr.pem"),
            ],
            "csr.pem",
        );
        return {
            id: crypto.createHash("sha1").update(certRequestPem).digest("hex"),
            outputs: { certRequestPem },
        };
    },
};

/** A certificate signed by a CA key, keeping the request's names, made with the openssl CLI. */
export const tlsLocallySignedCertHandler: ResourceHandler = {
    inputs: {
        certRequestPem: true,
        caPrivateKeyPem: true,
        caCertPem: true,
        validityPeriodHours: true,
        earlyRenewalHours: true,
        allowedUses: true,
        isCaCertificate: true,
    },
    async create(inputs) {
        const certPem = withOpenssl(
            {
                "csr.pem": inputs.certRequestPem,
                "ca.key": inputs.caPrivateKeyPem,
                "ca.crt": inputs.caCertPem,
                "ext.cnf":
                    ["basicConstraints=critical,CA:FALSE", ...opensslUsages(inputs.allowedUses)].join("\n") +
                    "\n",
            },
            (dir) => [
                "x509",
                "-req",
                "-in",
                path.join(dir, "csr.pem"),
                "-CA",
                path.join(dir, "ca.crt"),
                "-CAkey",
                path.join(dir, "ca.key"),
                "-set_serial",
                `0x${crypto.randomBytes(8).toString("hex")}`,
                "-days",
                String(Math.max(1, Math.ceil((inputs.validityPeriodHours ?? 24) / 24))),
                "-copy_extensions",
                "copyall",
                "-extfile",
                path.join(dir, "ext.cnf"),
                "-out",
                path.join(dir, "cert.pem"),
            ],
            "cert.pem",
        );
        return { id: crypto.createHash("sha1").update(certPem).digest("hex"), outputs: { certPem } };
    },
};
