/**
 * A small, deterministic gzip encoder (RFC 1951 fixed-Huffman DEFLATE in an RFC 1952 member).
 *
 * Why not `zlib.gzipSync`: EC2 user data is compressed because the primary's script is larger than
 * the 16 KB EC2 allows, and instances are replaced when their user data changes. zlib promises a
 * valid stream, not the same bytes: Node bundles Chromium's zlib, whose match finder differs by
 * version and CPU features, so `pulumi up` from another machine could replace every database
 * instance for nothing. This encoder's output depends on its input only. Any gzip decodes it
 * (cloud-init does, and the e2e test uses Debian's `gzip -d`).
 */

const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) {
            c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        table[n] = c >>> 0;
    }
    return table;
})();

/** CRC-32 (IEEE 802.3), as the gzip trailer carries it. */
export function crc32(data: Uint8Array): number {
    let crc = 0xffffffff;
    for (const byte of data) {
        crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
}

/** Writes bits least-significant first, as DEFLATE packs them. */
class BitWriter {
    private readonly bytes: number[] = [];
    private buffer = 0;
    private count = 0;

    /** Appends the `length` low bits of `value`, least significant first. */
    bits(value: number, length: number): void {
        for (let i = 0; i < length; i++) {
            this.buffer |= ((value >>> i) & 1) << this.count;
            if (++this.count === 8) {
                this.bytes.push(this.buffer);
                this.buffer = 0;
                this.count = 0;
            }
        }
    }

    /** Appends a Huffman code, which DEFLATE stores most-significant bit first. */
    code(value: number, length: number): void {
        for (let i = length - 1; i >= 0; i--) {
            this.bits((value >>> i) & 1, 1);
        }
    }

    finish(): number[] {
        if (this.count > 0) {
            this.bytes.push(this.buffer);
        }
        return this.bytes;
    }
}

const LENGTH_BASE = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** How many earlier positions with the same 3-byte prefix are tried: enough for scripts, bounded for speed. */
const MAX_CHAIN = 128;

/** The fixed literal/length code of RFC 1951 section 3.2.6. */
function literalLength(out: BitWriter, symbol: number): void {
    if (symbol < 144) out.code(0x30 + symbol, 8);
    else if (symbol < 256) out.code(0x190 + symbol - 144, 9);
    else if (symbol < 280) out.code(symbol - 256, 7);
    else out.code(0xc0 + symbol - 280, 8);
}

function lastIndexAtMost(table: number[], value: number): number {
    let i = table.length - 1;
    while (table[i] > value) i--;
    return i;
}

function match(out: BitWriter, length: number, distance: number): void {
    const l = lastIndexAtMost(LENGTH_BASE, length);
    literalLength(out, 257 + l);
    out.bits(length - LENGTH_BASE[l], LENGTH_EXTRA[l]);
    const d = lastIndexAtMost(DIST_BASE, distance);
    out.code(d, 5);
    out.bits(distance - DIST_BASE[d], DIST_EXTRA[d]);
}

/** Raw DEFLATE of `data` as one fixed-Huffman block, with greedy LZ77 matching over hash chains. */
export function deflateFixed(data: Uint8Array): Uint8Array {
    const out = new BitWriter();
    out.bits(1, 1); // BFINAL
    out.bits(1, 2); // BTYPE 01: fixed Huffman codes
    const head = new Map<number, number>();
    const prev = new Int32Array(data.length).fill(-1);
    const key = (i: number) => (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    const insert = (i: number) => {
        if (i + MIN_MATCH <= data.length) {
            const k = key(i);
            prev[i] = head.get(k) ?? -1;
            head.set(k, i);
        }
    };
    let i = 0;
    while (i < data.length) {
        let bestLength = 0;
        let bestDistance = 0;
        if (i + MIN_MATCH <= data.length) {
            const limit = Math.min(MAX_MATCH, data.length - i);
            let candidate = head.get(key(i)) ?? -1;
            for (let chain = 0; candidate >= 0 && i - candidate <= WINDOW && chain < MAX_CHAIN; chain++) {
                let length = 0;
                while (length < limit && data[candidate + length] === data[i + length]) length++;
                if (length > bestLength) {
                    bestLength = length;
                    bestDistance = i - candidate;
                    if (length === limit) break;
                }
                candidate = prev[candidate];
            }
        }
        if (bestLength >= MIN_MATCH) {
            match(out, bestLength, bestDistance);
            for (let j = 0; j < bestLength; j++) insert(i + j);
            i += bestLength;
        } else {
            literalLength(out, data[i]);
            insert(i);
            i += 1;
        }
    }
    literalLength(out, 256); // end of block
    return Uint8Array.from(out.finish());
}

/**
 * Gzip of `data`: header without name or modification time (so equal input gives equal bytes),
 * {@link deflateFixed} body, CRC-32 and length trailer.
 */
export function gzipDeterministic(data: Uint8Array): Buffer {
    const header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    const body = deflateFixed(data);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(data), 0);
    trailer.writeUInt32LE(data.length >>> 0, 4);
    return Buffer.concat([Buffer.from(header), Buffer.from(body), trailer]);
}
