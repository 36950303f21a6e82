/**
 * A small, real file system for a node's data volume, so a test can fill it without touching the
 * host's disk: an ext4 image file of a fixed size (sparse, under .e2e/), attached to a loop device,
 * and a Docker `local` volume that mounts that device. Created under the name the program gives
 * the node's data volume *before* the stack is deployed: Docker's volume create is idempotent for
 * a name, so the deployment adopts it. The image never grows beyond its size, whatever fills it.
 *
 * Needs root, losetup and mkfs.ext4 (this machine and CI run as root).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../e2e/harness/client";
import { docker } from "../../e2e/support/docker";

/** Where the data volume is mounted in a node's container; files beside PGDATA live here too. */
const MOUNT = "/d";
/** The filler file that takes the free space. */
const FILLER = `${MOUNT}/pgha-faults-filler`;

function imagePath(volume: string): string {
    return path.join(REPO_ROOT, ".e2e", `${volume}.img`);
}

function loopDevicesOf(image: string): string[] {
    if (!fs.existsSync(image)) return [];
    const out = execFileSync("losetup", ["-j", image], { encoding: "utf8" });
    return out
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(":")[0]);
}

/**
 * Creates `volume` on an ext4 file system of `sizeMb` (an image file attached to a loop device).
 * @throws Error when the machine cannot attach a loop device (no root, no losetup).
 */
export async function createSmallVolume(
    volume: string,
    sizeMb: number,
): Promise<{ device: string; image: string }> {
    await removeSmallVolume(volume);
    const image = imagePath(volume);
    fs.mkdirSync(path.dirname(image), { recursive: true });
    execFileSync("truncate", ["-s", `${sizeMb}M`, image]);
    // -m 0: no blocks reserved for root, so "full" means full for PostgreSQL too.
    execFileSync("mkfs.ext4", ["-q", "-m", "0", "-F", image]);
    const device = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    await docker.createVolume({ Name: volume, Driver: "local", DriverOpts: { type: "ext4", device } });
    return { device, image };
}

/** Removes the volume (if no container uses it), detaches its loop device and deletes the image. */
export async function removeSmallVolume(volume: string): Promise<void> {
    await docker
        .getVolume(volume)
        .remove()
        .catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404) throw err;
        });
    const image = imagePath(volume);
    for (const device of loopDevicesOf(image)) execFileSync("losetup", ["-d", device]);
    fs.rmSync(image, { force: true });
}

/** Runs a shell script in a short-lived helper container that mounts `volume` at /d; returns stdout. */
async function onVolume(volume: string, image: string, script: string): Promise<string> {
    const container = await docker.createContainer({
        name: `pgha-faults-disk-${Date.now()}`,
        Image: image,
        Entrypoint: ["sh", "-c"],
        Cmd: [script],
        HostConfig: { Binds: [`${volume}:${MOUNT}`], NetworkMode: "none" },
    });
    try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        const logs = ((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString(
            "utf8",
        );
        if (StatusCode !== 0) throw new Error(`helper on ${volume} failed (exit ${StatusCode}): ${logs}`);
        return logs;
    } finally {
        await container.remove({ force: true });
    }
}

/** Bytes free on the volume's file system. */
export async function freeBytes(volume: string, image: string): Promise<number> {
    const out = await onVolume(volume, image, `df -B1 --output=avail ${MOUNT} | tail -n 1`);
    return Number(out.replace(/[^0-9]/g, ""));
}

/** Takes every free block of the volume with a filler file (allocated, then topped up to ENOSPC). */
export async function fillVolume(volume: string, image: string): Promise<void> {
    await onVolume(
        volume,
        image,
        `fallocate -l "$(df -B1 --output=avail ${MOUNT} | tail -n 1 | tr -d ' ')" ${FILLER} || true; ` +
            `dd if=/dev/zero of=${FILLER}-rest bs=4k 2>/dev/null || true; sync`,
    );
}

/** Deletes the filler files: the space is free again. */
export async function freeVolume(volume: string, image: string): Promise<void> {
    await onVolume(volume, image, `rm -f ${FILLER} ${FILLER}-rest; sync`);
}
