import { isImageReference } from "../../components/imageReference";
import { ConfigError, parseClusterConfig } from "../../components/config";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("image references", () => {
    test.each([
        "postgres:16",
        "postgres",
        "minio/minio:RELEASE.2025-04-22T22-12-26Z",
        "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
        "localhost:5000/s3-server:v1",
        "registry.example.com:5000/team/s3-server:V1_2.3",
        `postgres@${DIGEST}`,
        `postgres:16@${DIGEST}`,
        "[::1]:5000/pgha/base:bookworm",
        "pgha-base:bookworm",
        "library/my__image:latest",
    ])("accepts %s", (ref) => {
        expect(isImageReference(ref)).toBe(true);
    });

    test.each([
        "Postgres:16",
        "postgres:",
        "postgres:16 ",
        "-postgres",
        "https://registry.example.com/x:1",
        "postgres:-16",
        "postgres@sha256:abc",
        `x:${"a".repeat(129)}`,
        "",
    ])("refuses %j", (ref) => {
        expect(isImageReference(ref)).toBe(false);
    });

    test("a bad pgha:backupS3Image or pgha:baseImage is refused naming the key and the format", () => {
        const parse = (extra: Record<string, string>) => () =>
            parseClusterConfig({ "pgha:platform": "docker", ...extra });
        expect(parse({ "pgha:backupS3Image": "MinIO/minio:latest" })).toThrow(
            "pgha:backupS3Image must be a Docker image reference such as registry.example.com:5000/s3-server:v1 ([registry[:port]/]name[:tag][@sha256:digest]; the name in lower case)",
        );
        expect(parse({ "pgha:baseImage": "postgres:" })).toThrow(ConfigError);
        expect(
            parseClusterConfig({
                "pgha:platform": "docker",
                "pgha:backupS3Image": "minio/minio:RELEASE.2025-04-22T22-12-26Z",
            }).backupS3Image,
        ).toBe("minio/minio:RELEASE.2025-04-22T22-12-26Z");
    });

    test("the repository is on a volume unless an S3 image or endpoint is set, and not both", () => {
        const defaults = parseClusterConfig({ "pgha:platform": "docker" });
        expect([defaults.backupS3Image, defaults.backupS3Endpoint, defaults.keepDataOnDestroy]).toEqual([
            undefined,
            undefined,
            true,
        ]);
        expect(() =>
            parseClusterConfig({
                "pgha:platform": "docker",
                "pgha:backupS3Image": "pgha-s3:local",
                "pgha:backupS3Endpoint": "s3.eu-west-1.amazonaws.com",
                "pgha:backupS3AccessKey": "AKIA",
                "pgha:backupS3SecretKey": "secret",
            }),
        ).toThrow(
            "pgha:backupS3Image (a local S3-compatible server) and pgha:backupS3Endpoint (a real bucket) exclude each other: set one, or neither for a repository on a Docker volume",
        );
    });
});
