// Adding files to a pool (web/lib/uploads.js): filtering, batching, and the
// upload of many files over a fake API.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../web/lib/api.js";
import { batches, imageFiles, uploadInBatches } from "../../web/lib/uploads.js";

const MB = 1024 * 1024;
const file = (name, size = 10, type = "image/png") => ({ name, size, type });

describe("imageFiles", () => {
  it("keeps images by type, else by name, and nothing else", () => {
    const files = [file("a.png"), file("notes.txt", 5, "text/plain"), file("b.JPG", 5, ""), file("c.bin", 5, ""),
      file("d.webp", 5, "image/webp"), file("e.tiff", 5, "")];
    expect(imageFiles(files).map((f) => f.name)).toEqual(["a.png", "b.JPG", "d.webp", "e.tiff"]);
    expect(imageFiles(null)).toEqual([]);
  });
});

describe("batches", () => {
  it("puts at most 8 files in a request", () => {
    const files = Array.from({ length: 17 }, (_, i) => file(`${i}.png`));
    expect(batches(files).map((b) => b.length)).toEqual([8, 8, 1]);
  });

  it("bounds the bytes of a request; a file larger than the bound goes alone", () => {
    const sizes = [20, 20, 20, 60, 1, 1].map((mb) => mb * MB);
    const out = batches(sizes.map((size, i) => file(`${i}.png`, size)));
    expect(out.map((b) => b.map((f) => f.size / MB))).toEqual([[20, 20], [20], [60], [1, 1]]);
    expect(batches([])).toEqual([]);
  });
});

/** A pool API whose add refuses (400) any batch holding a file named bad*. */
function poolApi({ fail } = {}) {
  const requests = [];
  let seq = 0;
  return {
    requests,
    async addImages(poolId, files, { onProgress } = {}) {
      requests.push(files.map((f) => f.name));
      if (fail) throw fail;
      if (onProgress) onProgress(files.reduce((n, f) => n + f.size, 0), 0);
      if (files.some((f) => f.name.startsWith("bad"))) throw new ApiError(400, "invalid", "not an image");
      const added = files.map(() => `img_${String(++seq).padStart(4, "0")}.png`);
      return { pool_id: poolId, count: seq, active: 0, slots: [], added };
    },
  };
}

describe("uploadInBatches", () => {
  it("adds every file, a batch per request, and hands on each answer", async () => {
    const api = poolApi();
    const docs = [];
    const progress = [];
    const files = Array.from({ length: 10 }, (_, i) => file(`${i}.png`, 100));
    const result = await uploadInBatches(api, "p1", files, {
      onDoc: (d) => docs.push(d.count),
      onProgress: (done, total, fraction) => progress.push([done, total, fraction]),
    });
    expect(result).toEqual({ added: Array.from({ length: 10 }, (_, i) => `img_${String(i + 1).padStart(4, "0")}.png`), failed: [] });
    expect(api.requests.map((r) => r.length)).toEqual([8, 2]);
    expect(docs).toEqual([8, 10]);
    expect(progress).toEqual([[0, 10, 0], [0, 10, 0.8], [8, 10, 1]]);
  });

  it("sends a refused batch again file by file, so the others get in and the bad one is named", async () => {
    const api = poolApi();
    const files = [file("a.png"), file("bad.png"), file("c.png")];
    const result = await uploadInBatches(api, "p1", files);
    expect(result).toEqual({ added: ["img_0001.png", "img_0002.png"], failed: ["bad.png: not an image"] });
    expect(api.requests).toEqual([["a.png", "bad.png", "c.png"], ["a.png"], ["bad.png"], ["c.png"]]);
  });

  it("fails a whole batch on any other error, without retrying", async () => {
    const api = poolApi({ fail: new ApiError(0, "network", "the server could not be reached") });
    const result = await uploadInBatches(api, "p1", [file("a.png"), file("b.png")]);
    expect(result.added).toEqual([]);
    expect(result.failed).toEqual(["a.png: the server could not be reached", "b.png: the server could not be reached"]);
    expect(api.requests.length).toBe(1);
  });
});
