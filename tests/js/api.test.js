// The HTTP client (web/lib/api.js) against a fake fetch and a fake XMLHttpRequest.
import { describe, expect, it } from "vitest";
import { ApiError, apiError, createApi, newPoolId } from "../../web/lib/api.js";
import { fakeFetch, fakeXhr, json } from "./support.js";

const DOC = { pool_id: "p1", store: "default", active: 0, count: 0, slots: [] };

describe("requests", () => {
  it("lists a pool with a conditional GET, through the host's URL function", async () => {
    const fetch = fakeFetch(() => json(200, DOC, { ETag: '"v1"' }));
    const api = createApi({ fetch, url: (p) => "/api" + p });
    const first = await api.listPool("team:abc def");
    expect(first).toEqual({ notModified: false, etag: '"v1"', data: DOC });
    expect(fetch.calls[0].url).toBe("/api/grid_pool/list?pool_id=team%3Aabc+def");
    expect(fetch.calls[0].init).toMatchObject({ cache: "no-store", headers: {} });

    const again = createApi({ fetch: fakeFetch(() => new Response(null, { status: 304 })) });
    expect(await again.listPool("p1", '"v1"')).toEqual({ notModified: true, etag: '"v1"' });
  });

  it("sends the version it has as If-None-Match", async () => {
    const fetch = fakeFetch(() => new Response(null, { status: 304 }));
    await createApi({ fetch }).listProfiles("team", '"v7"');
    expect(fetch.calls[0].url).toBe("/grid_pool/profiles/list?store=team");
    expect(fetch.calls[0].init.headers).toEqual({ "If-None-Match": '"v7"' });
  });

  it("posts changes as JSON, a slot by image name or by index", async () => {
    const fetch = fakeFetch(() => json(200, DOC));
    const api = createApi({ fetch });
    await api.setActive("p1", "img_0002.png");
    await api.setLabel("p1", 3, "hero");
    await api.createProfile("cast", "");
    for (const call of fetch.calls) {
      expect(call.init.method).toBe("POST");
      expect(call.init.headers).toEqual({ "Content-Type": "application/json" });
    }
    expect(fetch.calls.map((c) => [c.url, JSON.parse(c.init.body)])).toEqual([
      ["/grid_pool/active", { pool_id: "p1", image: "img_0002.png" }],
      ["/grid_pool/label", { pool_id: "p1", index: 3, label: "hero" }],
      ["/grid_pool/profiles/create", { name: "cast" }], // no store: the default one
    ]);
  });

  it("builds image and export URLs without a request, leaving out empty parameters", () => {
    const api = createApi({ fetch: fakeFetch(() => json(500, {})), url: (p) => "/api" + p });
    expect(api.thumbUrl("p1", "a b.png", 192)).toBe("/api/grid_pool/thumb?pool_id=p1&image=a+b.png&size=192");
    expect(api.exportUrl("team:x")).toBe("/api/grid_pool/profiles/export?id=team%3Ax");
    expect(api.thumbUrl("p1", "", 0)).toBe("/api/grid_pool/thumb?pool_id=p1&size=0");
  });
});

describe("errors", () => {
  it("turns an error answer into an ApiError with the server's code and message", async () => {
    const api = createApi({ fetch: fakeFetch(() => json(409, { error: { code: "conflict", message: "the pool changed" } })) });
    const error = await api.reorder("p1", ["a.png"]).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message]).toEqual([409, "conflict", "the pool changed"]);
  });

  it("keeps the status line when the answer is not JSON", async () => {
    const api = createApi({ fetch: fakeFetch(() => new Response("<html>proxy</html>", { status: 502, statusText: "Bad Gateway" })) });
    const error = await api.stores().catch((e) => e);
    expect([error.status, error.code, error.message]).toEqual([502, "http_502", "502 Bad Gateway"]);
  });

  it("reports an unreachable server as a network error", async () => {
    const api = createApi({ fetch: async () => { throw new TypeError("Failed to fetch"); } });
    const error = await api.listPool("p1").catch((e) => e);
    expect([error.status, error.code]).toEqual([0, "network"]);
  });

  it("builds the same error from any body", () => {
    expect(apiError(400, "Bad Request", { error: { code: "invalid" } }).message).toBe("400 Bad Request");
    expect(apiError(413, "", null).code).toBe("http_413");
    expect(apiError(404, "", { error: { code: "not_found", message: "gone" } }).message).toBe("gone");
  });
});

describe("uploads", () => {
  it("sends files as multipart with progress, and answers with the JSON document", async () => {
    const Xhr = fakeXhr();
    const api = createApi({ XMLHttpRequest: Xhr, url: (p) => "/api" + p });
    const seen = [];
    const file = new File([new Uint8Array(10)], "a.png", { type: "image/png" });
    const done = api.addImages("p1", [file], { onProgress: (loaded, total) => seen.push([loaded, total]) });
    const [request] = Xhr.requests;
    expect([request.method, request.url]).toEqual(["POST", "/api/grid_pool/add"]);
    expect(request.body.get("pool_id")).toBe("p1");
    expect(request.body.getAll("image").map((f) => f.name)).toEqual(["a.png"]);
    request.xhr.progress(5, 10);
    request.xhr.progress(7, 0);
    request.xhr.answer(200, JSON.stringify({ ...DOC, added: ["img_0001.png"] }));
    expect((await done).added).toEqual(["img_0001.png"]);
    expect(seen).toEqual([[5, 10], [7, 0]]);
  });

  it("rejects a refused or lost upload with an ApiError", async () => {
    const Xhr = fakeXhr();
    const api = createApi({ XMLHttpRequest: Xhr });
    const zip = new File(["PK"], "p.zip");
    const refused = api.importProfile(zip, { store: "team" });
    expect(Xhr.requests[0].body.get("store")).toBe("team");
    Xhr.requests[0].xhr.answer(413, JSON.stringify({ error: { code: "too_large", message: "over the limit" } }));
    await expect(refused).rejects.toMatchObject({ status: 413, code: "too_large", message: "over the limit" });
    const lost = api.setMask("p1", "img_0001.png", null);
    expect(Xhr.requests[1].body.has("mask")).toBe(false); // no mask: clear it
    Xhr.requests[1].xhr.fail();
    await expect(lost).rejects.toMatchObject({ status: 0, code: "network" });
  });
});

describe("newPoolId", () => {
  it("is a fresh uuid4 as 32 lowercase hex digits", () => {
    const ids = new Set(Array.from({ length: 50 }, () => newPoolId()));
    expect(ids.size).toBe(50);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    }
  });
});
