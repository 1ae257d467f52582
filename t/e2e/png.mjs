// png.mjs — a real 8x8 PNG, CRCs and all (what a phone's screenshot of a
// payment is, smaller), for the specs that upload a payment proof.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});
const crc32 = (buf) => {
	let c = 0xffffffff;
	for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
	const len = Buffer.alloc(4), crc = Buffer.alloc(4), td = Buffer.concat([Buffer.from(type), data]);
	len.writeUInt32BE(data.length);
	crc.writeUInt32BE(crc32(td));
	return Buffer.concat([len, td, crc]);
};

// Writes an 8x8 RGB PNG of one grey level (0-255) to path; returns path.
export function writePng(path, grey) {
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(8, 0);
	ihdr.writeUInt32BE(8, 4);
	ihdr[8] = 8; ihdr[9] = 2;
	const rows = Buffer.concat(Array.from({ length: 8 }, () => Buffer.concat([Buffer.from([0]),
		Buffer.alloc(24, grey)])));
	writeFileSync(path, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
	return path;
}
