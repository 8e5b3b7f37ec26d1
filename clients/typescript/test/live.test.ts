// Against the server the harness started (tests/clients/test_typescript_client.py): its
// address, token and the conformance suite's vectors come from the environment. With no
// server, these tests fail: the harness always gives one.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { create } from "@bufbuild/protobuf";
import { parse } from "yaml";

import { ModelInferRequest_InferRequestedOutputTensorSchema } from "../../../generated/typescript/src/lepton/inference/v1/inference_service_pb.js";

import { connect, encode, infer, inferenceClient, inferRequest, leptonError, ERROR_DOMAIN, type Element, type Tensor } from "../src/index.js";
import { run as runInferExample } from "../examples/infer.js";
import { run as runListExample } from "../examples/list_versions.js";

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: the harness starts the server and sets it`);
  return value;
}

const address = env("LEPTON_ADDRESS");
const token = env("LEPTON_TOKEN");
const client = inferenceClient(connect(address, { token }));

type Spec = { datatype: string; shape: number[]; values: unknown };
type Vector = { id: string; model: string; version?: string; expect_version?: string; inputs?: Record<string, Spec>; outputs?: Record<string, Spec>; identity?: Spec };
type ErrorRow = { id: string; base: string; form?: string; change: Record<string, unknown>; code: string; reason: string };

// Integers as bigints, so UINT64's largest value survives.
const vectors = parse(readFileSync(env("LEPTON_VECTORS"), "utf8"), { intAsBigInt: true }) as { golden: Vector[]; errors: ErrorRow[] };

function valuesOf(spec: Spec): Element[] {
  const count = spec.shape.reduce((n, d) => n * d, 1);
  const v = spec.values as Element[] | { range?: [number | bigint, number | bigint]; fill?: Element };
  if (Array.isArray(v)) {
    return v.map((x) => (typeof x === "string" ? new TextEncoder().encode(x) : x));
  }
  if (v.fill !== undefined) {
    return Array.from({ length: count }, () => v.fill as Element);
  }
  const [start, stop] = (v.range ?? []).map(Number);
  const step = stop - start === count ? 1 : (stop - start) / count;
  return Array.from({ length: count }, (_, i) => start + i * step);
}

function tensorOf(name: string, spec: Spec): Tensor {
  const shape = spec.shape.map(Number);
  return { name, datatype: spec.datatype, shape, raw: encode(spec.datatype, valuesOf({ ...spec, shape })) };
}

function io(vector: Vector): { inputs: Tensor[]; outputs: Tensor[] } {
  if (vector.identity) {
    const input = tensorOf("INPUT0", vector.identity);
    return { inputs: [input], outputs: [{ ...input, name: "OUTPUT0" }] };
  }
  const pick = (specs: Record<string, Spec> = {}) => Object.entries(specs).sort().map(([n, s]) => tensorOf(n, s));
  return { inputs: pick(vector.inputs), outputs: pick(vector.outputs) };
}

test("golden vectors are bit-exact", async () => {
  assert.ok(vectors.golden.length >= 20);
  for (const vector of vectors.golden) {
    const { inputs, outputs: expected } = io(vector);
    const { response, outputs } = await infer(client, { model: vector.model, version: vector.version, id: vector.id, inputs });
    assert.equal(response.id, vector.id);
    if (vector.expect_version) assert.equal(response.modelVersion, vector.expect_version);
    for (const want of expected) {
      const got = outputs.get(want.name);
      assert.ok(got, `${vector.id}: no ${want.name}`);
      assert.equal(got.datatype, want.datatype, vector.id);
      assert.deepEqual(got.shape, want.shape, vector.id);
      assert.deepEqual(Buffer.from(got.raw), Buffer.from(want.raw), `${vector.id} ${want.name}`);
    }
  }
});

test("BYTES round trip", async () => {
  const text = new TextEncoder();
  const elements = ["", "hello", "a\u0000b", "πλ ✓", "z".repeat(70000), "end"].map((s) => text.encode(s));
  const { outputs } = await infer(client, {
    model: "identity_bytes",
    inputs: [{ name: "INPUT0", datatype: "BYTES", shape: [2, 3], raw: encode("BYTES", elements) }],
  });
  const output = outputs.get("OUTPUT0");
  assert.ok(output);
  assert.deepEqual(Buffer.from(output.raw), Buffer.from(encode("BYTES", elements)));
});

// The error-table changes this test makes: those of raw requests (the rest need typed contents).
const EDITS = new Set(["model_name", "model_version", "input", "raw", "datatype", "name", "shape", "drop_input", "drop_raw", "truncate", "append", "outputs"]);

test("error codes and ErrorInfo reasons of the error table", async () => {
  const golden = new Map(vectors.golden.map((v) => [v.id, v]));
  let checked = 0;
  for (const row of vectors.errors) {
    if (row.form === "typed" || !Object.keys(row.change).every((k) => EDITS.has(k))) continue;
    const base = golden.get(row.base);
    assert.ok(base, row.id);
    const request = inferRequest({ model: base.model, version: base.version, inputs: io(base).inputs });
    let index = 0;
    for (const [key, value] of Object.entries(row.change)) {
      const n = Number(value);
      if (key === "model_name") request.modelName = String(value);
      else if (key === "model_version") request.modelVersion = String(value);
      else if (key === "input" || key === "raw") index = n;
      else if (key === "datatype") request.inputs[index].datatype = String(value);
      else if (key === "name") request.inputs[index].name = String(value);
      else if (key === "shape") request.inputs[index].shape = (value as bigint[]).map(BigInt);
      else if (key === "drop_input") { request.inputs.splice(n, 1); request.rawInputContents.splice(n, 1); }
      else if (key === "drop_raw") request.rawInputContents.splice(n, 1);
      else if (key === "truncate") request.rawInputContents[index] = request.rawInputContents[index].slice(0, -n);
      else if (key === "append") request.rawInputContents[index] = Buffer.concat([request.rawInputContents[index], Buffer.from(String(value), "hex")]);
      else if (key === "outputs") for (const name of value as string[]) request.outputs.push(create(ModelInferRequest_InferRequestedOutputTensorSchema, { name }));
    }
    await assert.rejects(client.modelInfer(request), (error) => {
      const e = leptonError(error);
      assert.ok(e, `${row.id}: not a gRPC status`);
      assert.deepEqual([e.codeName, e.reason, e.domain], [row.code, row.reason, ERROR_DOMAIN], row.id);
      return true;
    });
    checked += 1;
  }
  assert.ok(checked >= 20, `only ${checked} rows checked`);
});

test("the inference example runs", async () => {
  const lines = await runInferExample(address, token);
  assert.match(lines.join("\n"), /OUTPUT0 \[1,16\] 0\.5 1\.5 2\.5/);
  assert.match(lines.join("\n"), /unknown model: NOT_FOUND \[MODEL_NOT_FOUND\]/);
});

test("a paged List returns every version once", async () => {
  const { names, pages } = await runListExample(address, env("LEPTON_PAGED_DATASET"), token, 3);
  assert.equal(names.length, 7);
  assert.equal(new Set(names).size, 7);
  assert.equal(pages, 3);
});
