// Tensors of the Open Inference Protocol as typed arrays: raw contents are little-endian and
// row-major, BOOL one byte each, BYTES framed with 4-byte little-endian lengths.

/** Bytes per element of a fixed-width datatype; 0 for BYTES and unknown datatypes. */
export function elementSize(datatype: string): number {
  switch (datatype) {
    case "BOOL":
    case "INT8":
    case "UINT8":
      return 1;
    case "INT16":
    case "UINT16":
    case "FP16":
    case "BF16":
      return 2;
    case "INT32":
    case "UINT32":
    case "FP32":
      return 4;
    case "INT64":
    case "UINT64":
    case "FP64":
      return 8;
  }
  return 0;
}

/** A value of a tensor element: number, bigint (INT64, UINT64), boolean or bytes. */
export type Element = number | bigint | boolean | Uint8Array;

// The range of each integer datatype: a value outside it, or not an integer, is refused
// rather than wrapped.
const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  INT8: [-(2n ** 7n), 2n ** 7n - 1n],
  INT16: [-(2n ** 15n), 2n ** 15n - 1n],
  INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT8: [0n, 2n ** 8n - 1n],
  UINT16: [0n, 2n ** 16n - 1n],
  UINT32: [0n, 2n ** 32n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

function checked(datatype: string, value: Element, index: number): Element {
  const range = INTEGER_RANGES[datatype];
  if (range !== undefined) {
    const ok = typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
    if (!ok || BigInt(value as number | bigint) < range[0] || BigInt(value as number | bigint) > range[1]) {
      throw new RangeError(`element ${index} (${String(value)}) is not a ${datatype} value`);
    }
  } else if (datatype === "BOOL" ? typeof value !== "boolean" : !["number", "bigint"].includes(typeof value)) {
    throw new TypeError(`element ${index} (${String(value)}) is not a ${datatype} value`);
  }
  return value;
}

/** `values` as raw contents of `datatype`. Integer datatypes take integers (INT64 and
 * UINT64 also bigints), in range; BOOL booleans; FP16 numbers, rounded to the nearest
 * half-precision value; BYTES byte arrays or strings (UTF-8). */
export function encode(datatype: string, values: readonly Element[]): Uint8Array {
  if (datatype === "BYTES") {
    return encodeBytes(values.map((v) => (v instanceof Uint8Array ? v : new TextEncoder().encode(String(v)))));
  }
  const size = elementSize(datatype);
  if (size === 0) {
    throw new Error(`unknown datatype ${datatype}`);
  }
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((unchecked, i) => {
    const value = checked(datatype, unchecked, i);
    const at = i * size;
    switch (datatype) {
      case "BOOL":
        view.setUint8(at, value ? 1 : 0);
        break;
      case "INT8":
        view.setInt8(at, Number(value));
        break;
      case "UINT8":
        view.setUint8(at, Number(value));
        break;
      case "INT16":
        view.setInt16(at, Number(value), true);
        break;
      case "UINT16":
        view.setUint16(at, Number(value), true);
        break;
      case "FP16":
        view.setUint16(at, halfBits(Number(value)), true);
        break;
      case "INT32":
        view.setInt32(at, Number(value), true);
        break;
      case "UINT32":
        view.setUint32(at, Number(value), true);
        break;
      case "FP32":
        view.setFloat32(at, Number(value), true);
        break;
      case "INT64":
        view.setBigInt64(at, BigInt(value as number | bigint), true);
        break;
      case "UINT64":
        view.setBigUint64(at, BigInt(value as number | bigint), true);
        break;
      case "FP64":
        view.setFloat64(at, Number(value), true);
        break;
      default:
        throw new Error(`datatype ${datatype} has no encoding here`);
    }
  });
  return out;
}

/** Raw contents of `datatype` as values: numbers, bigints for INT64 and UINT64, booleans for
 * BOOL, byte arrays for BYTES. */
export function decode(datatype: string, raw: Uint8Array): Element[] {
  if (datatype === "BYTES") {
    return decodeBytes(raw);
  }
  const size = elementSize(datatype);
  if (size === 0 || raw.length % size !== 0) {
    throw new Error(`${raw.length} bytes are not ${datatype} elements`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Element[] = [];
  for (let at = 0; at < raw.length; at += size) {
    switch (datatype) {
      case "BOOL": {
        const byte = view.getUint8(at);
        if (byte > 1) throw new Error(`BOOL element ${at} is ${byte}, not 0 or 1`);
        out.push(byte === 1);
        break;
      }
      case "INT8":
        out.push(view.getInt8(at));
        break;
      case "UINT8":
        out.push(view.getUint8(at));
        break;
      case "INT16":
        out.push(view.getInt16(at, true));
        break;
      case "UINT16":
        out.push(view.getUint16(at, true));
        break;
      case "FP16":
        out.push(halfValue(view.getUint16(at, true)));
        break;
      case "INT32":
        out.push(view.getInt32(at, true));
        break;
      case "UINT32":
        out.push(view.getUint32(at, true));
        break;
      case "FP32":
        out.push(view.getFloat32(at, true));
        break;
      case "INT64":
        out.push(view.getBigInt64(at, true));
        break;
      case "UINT64":
        out.push(view.getBigUint64(at, true));
        break;
      case "FP64":
        out.push(view.getFloat64(at, true));
        break;
      default:
        throw new Error(`datatype ${datatype} has no decoding here`);
    }
  }
  return out;
}

/** BYTES elements framed as raw contents: a 4-byte little-endian length, then the bytes. */
export function encodeBytes(values: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(values.reduce((n, v) => n + 4 + v.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const value of values) {
    view.setUint32(at, value.length, true);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  return out;
}

/** Framed BYTES elements; a frame cut short is an error. */
export function decodeBytes(raw: Uint8Array): Uint8Array[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < raw.length; ) {
    if (raw.length - at < 4) throw new Error(`BYTES element ${out.length}: too few bytes for a length`);
    const size = view.getUint32(at, true);
    at += 4;
    if (size > raw.length - at) throw new Error(`BYTES element ${out.length}: length ${size}, ${raw.length - at} bytes left`);
    out.push(raw.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** The IEEE 754 binary16 encoding of `value`, rounded once from the double to the nearest
 * half-precision value, ties to even. */
export function halfBits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (Number.isNaN(value)) return 0x7e00;
  if (magnitude === Infinity) return sign | 0x7c00;
  if (magnitude < 2 ** -14) {
    // Subnormal (or zero): a multiple of 2^-24; rounding up may reach the smallest normal,
    // whose encoding follows on.
    return sign | roundEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent -= 1;
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  // Scaling by a power of two is exact, so the significand is rounded once.
  let significand = roundEven(magnitude * 2 ** (10 - exponent));
  if (significand === 2048) {
    significand = 1024;
    exponent += 1;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | (significand - 1024);
}

function roundEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest > 0.5 || (rest === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/** The value of an IEEE 754 binary16 encoding. */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
