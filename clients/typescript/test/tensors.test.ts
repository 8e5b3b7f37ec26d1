import assert from "node:assert/strict";
import { test } from "node:test";

import { decode, decodeBytes, encode, encodeBytes, halfBits, halfValue } from "../src/index.js";

test("numbers are little-endian, 64-bit integers bigints", () => {
  assert.deepEqual([...encode("INT32", [1, -2])], [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  const wide = encode("UINT64", [18446744073709551615n, 0n]);
  assert.deepEqual(decode("UINT64", wide), [18446744073709551615n, 0n]);
  assert.deepEqual(decode("BOOL", encode("BOOL", [true, false])), [true, false]);
  assert.throws(() => decode("BOOL", new Uint8Array([2])));
  assert.throws(() => decode("INT64", new Uint8Array(7)));
  assert.ok(Object.is(decode("FP64", encode("FP64", [-0]))[0], -0));
  for (const [datatype, value] of [["INT8", 300], ["UINT32", -1], ["UINT64", -1n], ["INT32", 1.5], ["FP32", "x"]] as const) {
    assert.throws(() => encode(datatype, [value as never]), `${datatype} ${value}`);
  }
});

test("BYTES elements are framed with little-endian lengths", () => {
  const text = new TextEncoder();
  const raw = encodeBytes([new Uint8Array(), text.encode("hello")]);
  assert.deepEqual([...raw], [0, 0, 0, 0, 5, 0, 0, 0, ...text.encode("hello")]);
  assert.deepEqual(decodeBytes(raw).map((b) => b.length), [0, 5]);
  assert.throws(() => decodeBytes(new Uint8Array([5, 0, 0])));
  assert.throws(() => decodeBytes(new Uint8Array([5, 0, 0, 0, 1])));
});

test("half precision rounds to nearest, ties to even", () => {
  const cases: [number, number][] = [
    [0.5, 0x3800], [-2, 0xc000], [65504, 0x7bff], [0.0009765625, 0x1400], [Infinity, 0x7c00],
    [65520, 0x7c00], [5.960464477539063e-8, 0x0001], [2.980232238769531e-8, 0], [1.00146484375, 0x3c02], [-0, 0x8000],
    // Just over a tie: rounded once from the double, not through float32 first.
    [1 + 2 ** -11 + 2 ** -30, 0x3c01], [6.1035156e-5 - 2 ** -30, 0x0400], [NaN, 0x7e00],
  ];
  for (const [value, bits] of cases) {
    assert.equal(halfBits(value), bits, `halfBits(${value})`);
  }
  for (const bits of [0x3800, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00]) {
    assert.equal(halfBits(halfValue(bits)), bits);
  }
});
