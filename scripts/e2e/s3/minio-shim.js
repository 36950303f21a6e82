// A stand-in for `minio server <dir>` on machines that cannot pull MinIO's image: serves the S3 API
// with s3rver (from npm) under MinIO's interface, so the program runs it exactly as it runs MinIO:
// MINIO_ROOT_USER / MINIO_ROOT_PASSWORD are the only accepted credentials (signatures are checked),
// TLS with /root/.minio/certs/{public.crt,private.key}, port from `--address :PORT` (default 9000).
"use strict";
const fs = require("fs");
const S3rver = require("s3rver");
const Account = require("s3rver/lib/models/account");

const args = process.argv.slice(2);
if (args[0] !== "server" || !args[1]) {
    console.error("usage: minio server <dir> [--address :9000]");
    process.exit(2);
}
const directory = args[1];
const addressFlag = args.indexOf("--address");
const port = addressFlag >= 0 ? Number(args[addressFlag + 1].split(":").pop()) : 9000;
const user = process.env.MINIO_ROOT_USER;
const password = process.env.MINIO_ROOT_PASSWORD;
if (!user || !password) {
    console.error("MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set");
    process.exit(2);
}
Account.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
Account.DUMMY_ACCOUNT.createKeyPair(user, password);

const certs = "/root/.minio/certs";
fs.mkdirSync(directory, { recursive: true });
new S3rver({
    address: "0.0.0.0",
    port,
    directory,
    key: fs.readFileSync(`${certs}/private.key`),
    cert: fs.readFileSync(`${certs}/public.crt`),
    silent: true,
})
    .run()
    .then(() => console.log(`S3 API (s3rver) on :${port}, TLS, data in ${directory}`));
