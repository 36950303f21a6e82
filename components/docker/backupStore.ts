import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ContainerContext } from "./nodeContainer";

/** Port of the local S3-compatible server on the cluster network. */
export const S3_PORT = 9000;

/** Options of {@link BackupStore}. */
export interface BackupStoreArgs {
    /** Shared container settings (network, labels). */
    readonly context: ContainerContext;
    /** Container name, also its host name on the cluster network. */
    readonly containerName: string;
    /** Image with MinIO's interface: `server <dir>`, MINIO_ROOT_USER/PASSWORD, certs in /root/.minio/certs. */
    readonly image: string;
    /** Keep the server's data volume when the stack is destroyed (`retainOnDelete`). Default false. */
    readonly keepData?: boolean;
}

/**
 * A local S3-compatible server for the dev stack's backups, on the cluster network only (no port
 * published), speaking TLS with a self-signed certificate the nodes trust, with random credentials.
 */
export class BackupStore extends pulumi.ComponentResource {
    /** Host name and port on the cluster network. */
    public readonly endpoint: { host: string; port: number };
    /** The server's certificate (PEM): nodes verify TLS against it. */
    public readonly certificatePem: pulumi.Output<string>;
    /** Access key (secret). */
    public readonly accessKey: pulumi.Output<string>;
    /** Secret key (secret). */
    public readonly secretKey: pulumi.Output<string>;
    /** The server container. */
    public readonly container: docker.Container;

    constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pgha:docker:BackupStore", name, {}, opts);
        const key = new tls.PrivateKey(
            `${name}-tls`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { parent: this },
        );
        const cert = new tls.SelfSignedCert(
            `${name}-tls`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: args.containerName },
                dnsNames: [args.containerName],
                isCaCertificate: true,
                validityPeriodHours: 24 * 365 * 10,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth", "cert_signing"],
            },
            { parent: this },
        );
        this.certificatePem = cert.certPem;
        this.accessKey = pulumi.secret(
            new random.RandomPassword(
                `${name}-access-key`,
                { length: 20, special: false, upper: true, lower: false },
                { parent: this },
            ).result,
        );
        this.secretKey = pulumi.secret(
            new random.RandomPassword(`${name}-secret-key`, { length: 40, special: false }, { parent: this })
                .result,
        );
        const data = new docker.Volume(
            `${name}-data`,
            { name: `${args.containerName}-data`, labels: args.context.labels },
            { parent: this, deleteBeforeReplace: true, retainOnDelete: args.keepData ?? false },
        );
        this.endpoint = { host: args.containerName, port: S3_PORT };
        this.container = new docker.Container(
            name,
            {
                name: args.containerName,
                hostname: args.containerName,
                image: args.image,
                command: ["server", "/data", "--address", `:${S3_PORT}`],
                envs: [
                    pulumi.interpolate`MINIO_ROOT_USER=${this.accessKey}`,
                    pulumi.interpolate`MINIO_ROOT_PASSWORD=${this.secretKey}`,
                ],
                labels: [...args.context.labels, { label: "pgha.role", value: "backup-store" }],
                networksAdvanced: [{ name: args.context.networkName, aliases: [args.containerName] }],
                volumes: [{ volumeName: data.name, containerPath: "/data" }],
                uploads: [
                    { file: "/root/.minio/certs/public.crt", content: cert.certPem, executable: false },
                    {
                        file: "/root/.minio/certs/private.key",
                        content: pulumi.secret(key.privateKeyPem),
                        executable: false,
                    },
                ],
                restart: "unless-stopped",
            },
            { parent: this, deleteBeforeReplace: true, additionalSecretOutputs: ["envs", "uploads"] },
        );
        this.registerOutputs({ certificatePem: this.certificatePem });
    }
}
