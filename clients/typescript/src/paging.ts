// List methods page their results (spec/general.md): a page size, and a token for the next
// page, empty on the last one.

/** Every item of a paged List: `fetch` is called with each page's token, starting empty,
 * until a page comes back without a next_page_token. */
export async function* listAll<T>(
  fetch: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): AsyncGenerator<T> {
  let token = "";
  do {
    const page = await fetch(token);
    yield* page.items;
    token = page.nextPageToken;
  } while (token !== "");
}
