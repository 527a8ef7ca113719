// The Revalidator (web/lib/revalidate.js): conditional polling on a fake clock.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Revalidator } from "../../web/lib/revalidate.js";
import { fakeDocument } from "./support.js";

/** A server whose list is `version`; records the etags it was asked with. */
function server() {
  const s = {
    version: 1,
    fail: null,
    asked: [],
    async load(etag) {
      s.asked.push(etag);
      if (s.fail) throw s.fail;
      const current = `"v${s.version}"`;
      return etag === current ? { notModified: true, etag } : { notModified: false, etag: current, data: `list ${s.version}` };
    },
  };
  return s;
}

let poller = null;

function start(options) {
  const doc = fakeDocument();
  const applied = [];
  poller = new Revalidator({ apply: (d) => applied.push(d), interval: 1000, doc, ...options });
  poller.start();
  return { doc, applied };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  if (poller) poller.stop();
  poller = null;
  vi.useRealTimers();
});

describe("Revalidator", () => {
  it("loads at once, then polls with the version it has and applies only changes", async () => {
    const s = server();
    const { applied } = start({ load: s.load });
    await vi.advanceTimersByTimeAsync(0);
    expect(applied).toEqual(["list 1"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.asked).toEqual([null, '"v1"']);
    expect(applied).toEqual(["list 1"]); // a 304 changes nothing
    s.version = 2;
    await vi.advanceTimersByTimeAsync(1000);
    expect(applied).toEqual(["list 1", "list 2"]);
  });

  it("slows down while loading fails, and says when it works again", async () => {
    const s = server();
    const errors = [];
    let recovered = 0;
    start({ load: s.load, onError: (e) => errors.push(e.message), onRecover: () => recovered++ });
    await vi.advanceTimersByTimeAsync(0);
    s.fail = new Error("offline");
    await vi.advanceTimersByTimeAsync(1000); // fails: the next try waits 2 s
    expect(errors).toEqual(["offline"]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(s.asked.length).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // fails again: then 4 s
    expect(errors.length).toBe(2);
    s.fail = null;
    await vi.advanceTimersByTimeAsync(3999);
    expect(s.asked.length).toBe(3);
    expect(recovered).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(recovered).toBe(1);
    expect(errors.length).toBe(2);
  });

  it("after reset, ignores an answer still on its way and loads afresh", async () => {
    let release;
    const calls = [];
    const load = (etag) => {
      calls.push(etag);
      if (calls.length === 1) return new Promise((r) => { release = () => r({ notModified: false, etag: '"old"', data: "old pool" }); });
      return Promise.resolve({ notModified: false, etag: '"new"', data: "new pool" });
    };
    const { applied } = start({ load });
    const reset = poller.reset();
    release();
    await reset;
    expect(applied).toEqual(["new pool"]);
    expect(calls).toEqual([null, null]);
    expect(poller.etag).toBe('"new"');
  });

  it("does not poll while the page is hidden or the list is off screen, and reloads when shown", async () => {
    const s = server();
    let visible = true;
    const { doc } = start({ load: s.load, isVisible: () => visible });
    await vi.advanceTimersByTimeAsync(0);
    doc.visibilityState = "hidden";
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.asked.length).toBe(1);
    doc.show("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.asked.length).toBe(2);
    visible = false;
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.asked.length).toBe(2);
  });

  it("takes a document it is given and fetches in full once after it", async () => {
    const s = server();
    const { applied } = start({ load: s.load });
    await vi.advanceTimersByTimeAsync(0);
    poller.accept("changed here");
    expect(applied).toEqual(["list 1", "changed here"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.asked).toEqual([null, null]);
    expect(applied).toEqual(["list 1", "changed here", "list 1"]);
  });

  it("stops for good", async () => {
    const s = server();
    const { doc } = start({ load: s.load });
    await vi.advanceTimersByTimeAsync(0);
    poller.stop();
    doc.show("visible");
    await vi.advanceTimersByTimeAsync(10000);
    expect(s.asked.length).toBe(1);
  });
});
