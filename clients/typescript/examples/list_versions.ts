// List every version of a dataset, a page at a time:
//
//   node dist/clients/typescript/examples/list_versions.js 127.0.0.1:50051 datasets/d [token]

import { createClient } from "@connectrpc/connect";
import { pathToFileURL } from "node:url";

import { DatasetService } from "../../../generated/typescript/src/lepton/data/v1/dataset_service_pb.js";
import { connect, listAll } from "../src/index.js";

/** The names of the dataset's versions, fetched `pageSize` at a time; and how many pages. */
export async function run(
  address: string,
  parent: string,
  token?: string,
  pageSize = 3,
): Promise<{ names: string[]; pages: number }> {
  const catalog = createClient(DatasetService, connect(address, { token }));
  let pages = 0;
  const names: string[] = [];
  const versions = listAll(async (pageToken) => {
    pages += 1;
    const page = await catalog.listVersions({ parent, pageSize, pageToken });
    return { items: page.versions, nextPageToken: page.nextPageToken };
  });
  for await (const version of versions) {
    names.push(version.name);
  }
  return { names, pages };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { names, pages } = await run(process.argv[2] ?? "127.0.0.1:50051", process.argv[3], process.argv[4]);
  console.log(`${names.length} versions in ${pages} pages:\n${names.join("\n")}`);
}
