// Describe a model and run one request against a Lepton (or any Open Inference Protocol)
// server:
//
//   node dist/clients/typescript/examples/infer.js 127.0.0.1:50051 [token]

import { pathToFileURL } from "node:url";

import { connect, infer, inferenceClient, leptonError, tensor, values } from "../src/index.js";

export async function run(address: string, token?: string): Promise<string[]> {
  const client = inferenceClient(connect(address, { token }));
  const lines: string[] = [];
  const metadata = await client.modelMetadata({ name: "add_sub_fp32" });
  lines.push(`model ${metadata.name} versions ${metadata.versions.join(",")} platform ${metadata.platform}`);

  const a = Array.from({ length: 16 }, (_, i) => i);
  const b = Array.from({ length: 16 }, () => 0.5);
  const { outputs } = await infer(client, {
    model: "add_sub_fp32",
    inputs: [tensor("INPUT0", "FP32", [1, 16], a), tensor("INPUT1", "FP32", [1, 16], b)],
  });
  for (const output of outputs.values()) {
    lines.push(`${output.name} [${output.shape}] ${values(output).slice(0, 3).join(" ")} ...`);
  }

  try {
    await client.modelInfer({ modelName: "no_such_model" });
  } catch (error) {
    const e = leptonError(error);
    lines.push(`unknown model: ${e?.codeName} [${e?.reason}]`);
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lines = await run(process.argv[2] ?? "127.0.0.1:50051", process.argv[3]);
  console.log(lines.join("\n"));
}
