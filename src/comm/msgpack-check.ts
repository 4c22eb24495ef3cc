/**
 * A structural check of msgpack bytes from a peer, run before msgpackr decodes them.
 *
 * msgpackr trusts announced counts: `new Array(count)` happens before a single element is read,
 * so a few bytes announcing nested arrays of 65,535 elements make it allocate gigabytes (a 15 KB
 * header took 1.6 GB and seconds in a measurement), enough to take a process down. This pass
 * walks the token structure without allocating, and accepts only buffers that hold exactly one
 * complete value whose every container fits in the bytes that remain. Once that holds, the
 * elements msgpackr allocates are bounded by the buffer's size.
 *
 * It accepts exactly the subset of msgpack that serialize.ts writes (msgpackr records with
 * one-byte ids, the extensions registered there and msgpackr's own built-in types) and rejects
 * anything else, so it cannot disagree with the decoder about where a value ends.
 */

/** Deepest nesting accepted; msgpackr's recursive reader would overflow the stack well past it. */
export const MAX_NESTING = 1000;

// Extension types whose payload is all there is to them (in any ext/fixext form).
const PAYLOAD_EXT = new Uint8Array(256);
for (const t of [0x30, 0x31, 0x34, 0x42, 0x74, 0xff]) PAYLOAD_EXT[t] = 1;
// fixext1 types whose one data byte is a filler, followed by one msgpack value they consume:
// Set, Error, RegExp (msgpackr), KeyRef and Call (serialize.ts).
const VALUE_EXT = new Uint8Array(256);
for (const t of [0x73, 0x65, 0x78, 0x32, 0x33]) VALUE_EXT[t] = 1;
const RECORD_EXT = 0x72;
const UNDEFINED_EXT = 0x00;

const hex = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;

// Walk state, module-level so that a check allocates nothing: every message of every connection
// passes here. checkMsgpack is synchronous and not re-entrant, which makes this safe.
/** remaining[d]: values still expected at nesting level d. */
const remaining = new Float64Array(MAX_NESTING + 2);
/** Fields of each record id defined so far in this buffer (-1: not defined). */
const records = new Int32Array(64);
const EMPTY: Uint8Array = new Uint8Array(0);
let bytes = EMPTY;
let end = 0;
let pos = 0;
let depth = 0;

function fail(what: string, at = pos): never {
  throw new Error(`${what} at byte ${at}`);
}

function need(n: number): void {
  if (n > end - pos) fail(`${n} bytes announced but ${end - pos} left`);
}

function open(count: number, perItem: number): void {
  if (count === 0) return;
  if (count * perItem > end - pos) fail(`${count} ${perItem === 2 ? "map entries" : "values"} announced but ${end - pos} bytes left`);
  if (depth === MAX_NESTING) fail(`nesting deeper than ${MAX_NESTING}`);
  remaining[++depth] = count * perItem;
}

function u16(at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

function u32(at: number): number {
  return bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}

/** Throws an Error describing the first problem; returns normally if `b` is acceptable. */
export function checkMsgpack(b: Uint8Array): void {
  bytes = b;
  end = b.length;
  pos = 0;
  depth = 0;
  remaining[0] = 1;
  records.fill(-1);
  try {
    walk();
  } finally {
    bytes = EMPTY;
  }
}

function walk(): void {
  const b = bytes;
  while (depth >= 0) {
    if (remaining[depth] === 0) {
      depth--;
      continue;
    }
    remaining[depth]--;
    if (pos >= end) fail("unexpected end of data");
    const at = pos;
    const t = b[pos++];
    if (t < 0x40 || t >= 0xe0) continue; // fixints
    if (t < 0x80) {
      // msgpackr: a defined record id reads that many field values, otherwise it is an int.
      const fields = records[t & 0x3f];
      if (fields >= 0) open(fields, 1);
      continue;
    }
    if (t < 0x90) {
      open(t & 0x0f, 2);
      continue;
    }
    if (t < 0xa0) {
      open(t & 0x0f, 1);
      continue;
    }
    if (t < 0xc0) {
      need(t & 0x1f);
      pos += t & 0x1f;
      continue;
    }
    let len: number;
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3:
        continue;
      case 0xc4: case 0xd9: need(1); len = b[pos]; pos += 1; break;
      case 0xc5: case 0xda: need(2); len = u16(pos); pos += 2; break;
      case 0xc6: case 0xdb: need(4); len = u32(pos); pos += 4; break;
      case 0xca: case 0xce: case 0xd2: len = 4; break;
      case 0xcb: case 0xcf: case 0xd3: len = 8; break;
      case 0xcc: case 0xd0: len = 1; break;
      case 0xcd: case 0xd1: len = 2; break;
      case 0xdc: need(2); pos += 2; open(u16(pos - 2), 1); continue;
      case 0xdd: need(4); pos += 4; open(u32(pos - 4), 1); continue;
      case 0xde: need(2); pos += 2; open(u16(pos - 2), 2); continue;
      case 0xdf: need(4); pos += 4; open(u32(pos - 4), 2); continue;
      case 0xc7: case 0xc8: case 0xc9: {
        const size = t === 0xc7 ? 1 : t === 0xc8 ? 2 : 4;
        need(size + 1);
        len = size === 1 ? b[pos] : size === 2 ? u16(pos) : u32(pos);
        pos += size;
        if (PAYLOAD_EXT[b[pos]] === 0) fail(`unsupported extension type ${hex(b[pos])}`, at);
        pos += 1;
        break;
      }
      case 0xd4: {
        need(2);
        const type = b[pos];
        const data = b[pos + 1];
        pos += 2;
        if (type === RECORD_EXT) {
          recordKeys(data & 0x3f);
          open(records[data & 0x3f], 1);
        } else if (VALUE_EXT[type] === 1) {
          open(1, 1);
        } else if (type !== UNDEFINED_EXT && PAYLOAD_EXT[type] === 0) {
          fail(`unsupported extension type ${hex(type)}`, at);
        }
        continue;
      }
      case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        need(1);
        if (PAYLOAD_EXT[b[pos]] === 0) fail(`unsupported extension type ${hex(b[pos])}`, at);
        pos += 1;
        len = t === 0xd5 ? 2 : t === 0xd6 ? 4 : t === 0xd7 ? 8 : 16;
        break;
      default: // 0xc1
        return fail(`invalid token ${hex(t)}`, at);
    }
    need(len);
    pos += len;
  }
  if (pos !== end) fail(`${end - pos} trailing bytes after the value`);
}

/** Reads a record definition's keys (an array of strings) at `pos` and moves past them. */
function recordKeys(id: number): void {
  const b = bytes;
  if (pos >= end) fail("unexpected end of data");
  const t = b[pos++];
  let count: number;
  if (t >= 0x90 && t < 0xa0) count = t & 0x0f;
  else if (t === 0xdc && pos + 2 <= end) {
    count = u16(pos);
    pos += 2;
  } else if (t === 0xdd && pos + 4 <= end) {
    count = u32(pos);
    pos += 4;
  } else return fail("record definition without a key list");
  if (count > end - pos) fail(`record of ${count} keys announced but ${end - pos} bytes left`);
  for (let i = 0; i < count; i++) {
    if (pos >= end) fail("unexpected end of data");
    const s = b[pos++];
    let len: number;
    if (s >= 0xa0 && s < 0xc0) len = s & 0x1f;
    else if (s === 0xd9 && pos + 1 <= end) len = b[pos++];
    else if (s === 0xda && pos + 2 <= end) {
      len = u16(pos);
      pos += 2;
    } else if (s === 0xdb && pos + 4 <= end) {
      len = u32(pos);
      pos += 4;
    } else return fail("record key is not a string");
    if (len > end - pos) fail(`${len} bytes announced but ${end - pos} left`);
    pos += len;
  }
  records[id] = count;
}
