import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { PGBACKREST_TLS_CLIENT } from "../postgres/pgbackrestConf";

/** Options of {@link BackupTlsCertificates}. */
export interface BackupTlsCertificatesArgs {
    /** Host names the pgBackRest TLS servers are dialled by (Docker container names). */
    readonly serverDnsNames?: pulumi.Input<string>[];
    /** Addresses the pgBackRest TLS servers are dialled by (EC2 private IPs). */
    readonly serverIpAddresses?: pulumi.Input<string>[];
}

/** PEMs of the cluster's pgBackRest TLS material; the keys are secret Outputs. */
export interface BackupTlsPems {
    readonly caCertificatePem: pulumi.Output<string>;
    readonly serverCertificatePem: pulumi.Output<string>;
    readonly serverKeyPem: pulumi.Output<string>;
    readonly clientCertificatePem: pulumi.Output<string>;
    readonly clientKeyPem: pulumi.Output<string>;
}

const HOURS_PER_YEAR = 24 * 365;

/**
 * The TLS material of pgBackRest's own protocol, used when backups copy files from a replica
 * (`pgha:backupFromReplica`): a CA made for the cluster, one server certificate every
 * `pgbackrest server` presents (its names are every host a server is dialled by), and the client
 * certificate the backup presents (common name {@link PGBACKREST_TLS_CLIENT}, which the servers
 * authorize). The certificates are renewed by the `pulumi up` within 30 days of their expiry.
 */
export class BackupTlsCertificates extends pulumi.ComponentResource implements BackupTlsPems {
    public readonly caCertificatePem: pulumi.Output<string>;
    public readonly serverCertificatePem: pulumi.Output<string>;
    public readonly serverKeyPem: pulumi.Output<string>;
    public readonly clientCertificatePem: pulumi.Output<string>;
    public readonly clientKeyPem: pulumi.Output<string>;

    constructor(name: string, args: BackupTlsCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:secrets:BackupTlsCertificates", name, {}, opts);
        const privateKey = (suffix: string) =>
            new tls.PrivateKey(
                `${name}-${suffix}`,
                { algorithm: "ECDSA", ecdsaCurve: "P256" },
                { parent: this },
            );
        const caKey = privateKey("ca");
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: `${name} pgBackRest CA` },
                isCaCertificate: true,
                validityPeriodHours: 10 * HOURS_PER_YEAR,
                earlyRenewalHours: 30 * 24,
                allowedUses: ["cert_signing", "crl_signing"],
            },
            { parent: this },
        );
        const signed = (
            suffix: string,
            request: Omit<tls.CertRequestArgs, "privateKeyPem">,
            use: "server_auth" | "client_auth",
        ) => {
            const key = privateKey(suffix);
            const csr = new tls.CertRequest(
                `${name}-${suffix}`,
                { ...request, privateKeyPem: key.privateKeyPem },
                { parent: this },
            );
            const cert = new tls.LocallySignedCert(
                `${name}-${suffix}`,
                {
                    certRequestPem: csr.certRequestPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    caCertPem: ca.certPem,
                    validityPeriodHours: 2 * HOURS_PER_YEAR,
                    earlyRenewalHours: 30 * 24,
                    allowedUses: ["digital_signature", "key_encipherment", use],
                },
                { parent: this },
            );
            return { certificatePem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
        };
        const server = signed(
            "server",
            {
                subject: { commonName: `${name} pgBackRest server` },
                dnsNames: args.serverDnsNames ?? [],
                ipAddresses: args.serverIpAddresses ?? [],
            },
            "server_auth",
        );
        const client = signed("client", { subject: { commonName: PGBACKREST_TLS_CLIENT } }, "client_auth");
        this.caCertificatePem = ca.certPem;
        this.serverCertificatePem = server.certificatePem;
        this.serverKeyPem = server.keyPem;
        this.clientCertificatePem = client.certificatePem;
        this.clientKeyPem = client.keyPem;
        this.registerOutputs({});
    }
}
