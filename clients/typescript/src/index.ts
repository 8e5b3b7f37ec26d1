// The TypeScript client of the Lepton AI Infrastructure Standard. The contracts are the
// generated modules of generated/typescript; this adds the connection, typed tensors and
// errors read with their ErrorInfo reason.

export { connect, leptonError, codeName, ERROR_DOMAIN, type ConnectOptions, type LeptonError } from "./connection.js";
export * from "./tensors.js";
export * from "./inference.js";
export { listAll } from "./paging.js";
