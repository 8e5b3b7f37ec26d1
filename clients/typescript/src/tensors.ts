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

/** `values` as raw contents of `datatype`. INT64 and UINT64 take bigints (or integers);
 * FP16 takes numbers, rounded to nearest half-precision value. */
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
  values.forEach((value, i) => {
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

/** The IEEE 754 binary16 encoding of `value`, rounded to nearest, ties to even. */
export function halfBits(value: number): number {
  const f32 = new DataView(new ArrayBuffer(4));
  f32.setFloat32(0, value);
  // Round from the float32 value, as the Go client does; a float64 that is not a float32
  // is first rounded to float32.
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa !== 0 ? 0x7e00 : 0x7c00);
  const unbiased = exponent - 127;
  if (unbiased > 15) return sign | 0x7c00;
  if (unbiased >= -14) {
    const half = ((unbiased + 15) << 10) | (mantissa >>> 13);
    return sign | roundHalf(half, mantissa & 0x1fff, 0x1000);
  }
  if (unbiased >= -25) {
    mantissa |= 0x800000;
    const shift = -14 - unbiased + 13;
    const half = Math.floor(mantissa / 2 ** shift);
    const rest = mantissa - half * 2 ** shift;
    return sign | roundHalf(half, rest, 2 ** (shift - 1));
  }
  return sign;
}

function roundHalf(value: number, dropped: number, half: number): number {
  return dropped > half || (dropped === half && (value & 1) === 1) ? value + 1 : value;
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
