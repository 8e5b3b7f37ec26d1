// The inference layer's client with typed tensors: requests from values, outputs back to
// values, errors with their ErrorInfo reason.

import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";

import {
  InferenceService,
  ModelInferRequestSchema,
  type ModelInferRequest,
  type ModelInferResponse,
} from "../../../generated/typescript/src/lepton/inference/v1/inference_service_pb.js";
import {
  InferTensorContentsSchema,
  type InferTensorContents,
} from "../../../generated/typescript/src/lepton/inference/v1/infer_tensor_pb.js";
import { decode, encode, type Element } from "./tensors.js";

/** One input or output: its datatype, shape and raw contents. */
export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  raw: Uint8Array;
}

/** A tensor of `values` (see `encode` for the value types each datatype takes). */
export function tensor(name: string, datatype: string, shape: number[], values: readonly Element[]): Tensor {
  return { name, datatype, shape, raw: encode(datatype, values) };
}

/** A tensor's values (see `decode`). */
export function values(t: Tensor): Element[] {
  return decode(t.datatype, t.raw);
}

export interface InferRequest {
  model: string;
  version?: string;
  id?: string;
  inputs: Tensor[];
  /** The outputs to return; all of them when absent. */
  outputs?: string[];
}

/** The request as a ModelInferRequest, its inputs in raw_input_contents. */
export function inferRequest(request: InferRequest): ModelInferRequest {
  return create(ModelInferRequestSchema, {
    modelName: request.model,
    modelVersion: request.version ?? "",
    id: request.id ?? "",
    inputs: request.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    rawInputContents: request.inputs.map((t) => t.raw),
    outputs: (request.outputs ?? []).map((name) => ({ name })),
  });
}

/** A response's outputs by name: raw contents (as a Lepton server and Triton send them), or
 * typed contents (which the protocol allows), encoded here as raw. */
export function outputs(response: ModelInferResponse): Map<string, Tensor> {
  const raw = response.rawOutputContents;
  if (raw.length !== 0 && raw.length !== response.outputs.length) {
    throw new Error(`${response.outputs.length} outputs but ${raw.length} raw contents`);
  }
  return new Map(
    response.outputs.map((o, i) => [
      o.name,
      {
        name: o.name,
        datatype: o.datatype,
        shape: o.shape.map(Number),
        raw: raw.length !== 0 ? raw[i] : rawOfTyped(o.datatype, o.contents),
      },
    ]),
  );
}

function rawOfTyped(datatype: string, contents: InferTensorContents | undefined): Uint8Array {
  const c = contents ?? create(InferTensorContentsSchema);
  const typed: Record<string, readonly Element[]> = {
    BOOL: c.boolContents,
    INT8: c.intContents,
    INT16: c.intContents,
    INT32: c.intContents,
    INT64: c.int64Contents,
    UINT8: c.uintContents,
    UINT16: c.uintContents,
    UINT32: c.uintContents,
    UINT64: c.uint64Contents,
    FP32: c.fp32Contents,
    FP64: c.fp64Contents,
    BYTES: c.bytesContents,
  };
  const values = typed[datatype];
  if (values === undefined) throw new Error(`datatype ${datatype} has no typed contents`);
  return encode(datatype, values);
}

/** A client of lepton.inference.v1.InferenceService. */
export function inferenceClient(transport: Transport): Client<typeof InferenceService> {
  return createClient(InferenceService, transport);
}

/** Run one request; its outputs by name. */
export async function infer(
  client: Client<typeof InferenceService>,
  request: InferRequest,
): Promise<{ response: ModelInferResponse; outputs: Map<string, Tensor> }> {
  const response = await client.modelInfer(inferRequest(request));
  return { response, outputs: outputs(response) };
}
