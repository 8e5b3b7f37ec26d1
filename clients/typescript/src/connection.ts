// Connecting to a Lepton server over gRPC, and reading the errors it answers with.

import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** The ErrorInfo domain of every error a Lepton server answers with (spec/general.md). */
export const ERROR_DOMAIN = "lepton.ai";

export interface ConnectOptions {
  /** A bearer token sent with every call, when the server requires one. */
  token?: string;
  /** "https" for TLS; plaintext (a server on loopback or behind a trusted proxy) by default. */
  scheme?: "http" | "https";
}

/** A gRPC transport to the server at `address` ("host:port"). */
export function connect(address: string, options: ConnectOptions = {}): Transport {
  const interceptors: Interceptor[] = [];
  if (options.token) {
    const authorization = `Bearer ${options.token}`;
    interceptors.push((next) => async (request) => {
      request.header.set("authorization", authorization);
      return next(request);
    });
  }
  return createGrpcTransport({ baseUrl: `${options.scheme ?? "http"}://${address}`, interceptors });
}

/** A failed call as the standard describes it: the code, its message, and the reason of its
 * google.rpc.ErrorInfo, which tells errors apart without parsing prose. */
export interface LeptonError {
  code: Code;
  /** The gRPC name of the code, e.g. "INVALID_ARGUMENT". */
  codeName: string;
  message: string;
  /** Empty when the status carries no ErrorInfo. */
  reason: string;
  domain: string;
  metadata: Record<string, string>;
  /** The google.rpc.BadRequest field violations, when the status carries one. */
  violations: { field: string; description: string }[];
}

const ERROR_INFO = "google.rpc.ErrorInfo";
const BAD_REQUEST = "google.rpc.BadRequest";

/** The status of a failed call, or undefined when `error` is not one. */
export function leptonError(error: unknown): LeptonError | undefined {
  if (!(error instanceof ConnectError)) {
    return undefined;
  }
  const found: LeptonError = {
    code: error.code,
    codeName: codeName(error.code),
    message: error.rawMessage,
    reason: "",
    domain: "",
    metadata: {},
    violations: [],
  };
  for (const detail of error.details) {
    if ("desc" in detail) {
      continue;
    }
    if (detail.type === ERROR_INFO && found.reason === "") {
      Object.assign(found, readErrorInfo(detail.value));
    } else if (detail.type === BAD_REQUEST) {
      found.violations.push(...readBadRequest(detail.value));
    }
  }
  return found;
}

/** google.rpc.BadRequest's field_violations (1), each with field (1) and description (2). */
function readBadRequest(bytes: Uint8Array): { field: string; description: string }[] {
  const reader = new BinaryReader(bytes);
  const violations = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 1) {
      reader.skip(wireType);
      continue;
    }
    const entry = new BinaryReader(reader.bytes());
    const violation = { field: "", description: "" };
    while (entry.pos < entry.len) {
      const [entryField, entryWire] = entry.tag();
      if (entryField === 1) violation.field = entry.string();
      else if (entryField === 2) violation.description = entry.string();
      else entry.skip(entryWire);
    }
    violations.push(violation);
  }
  return violations;
}

/** google.rpc.ErrorInfo's fields from its bytes: reason = 1, domain = 2, metadata = 3. */
function readErrorInfo(bytes: Uint8Array): Pick<LeptonError, "reason" | "domain" | "metadata"> {
  const reader = new BinaryReader(bytes);
  const info = { reason: "", domain: "", metadata: {} as Record<string, string> };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) {
      info.reason = reader.string();
    } else if (field === 2) {
      info.domain = reader.string();
    } else if (field === 3) {
      const entry = new BinaryReader(reader.bytes());
      let key = "";
      let value = "";
      while (entry.pos < entry.len) {
        const [entryField, entryWire] = entry.tag();
        if (entryField === 1) key = entry.string();
        else if (entryField === 2) value = entry.string();
        else entry.skip(entryWire);
      }
      info.metadata[key] = value;
    } else {
      reader.skip(wireType);
    }
  }
  return info;
}

/** The canonical gRPC name of a code ("INVALID_ARGUMENT"; Connect spells 1 "Canceled",
 * gRPC "CANCELLED"). */
export function codeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
