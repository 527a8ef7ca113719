// The ComfyUI glue that needs no browser: web/lib/comfy_ui.js (the ui over
// ComfyUI's dialogs and toasts, graph walks, method chaining) and the Pool
// Profile node's state (web/lib/comfy_profile.js) on stand-in nodes.
import { afterEach, describe, expect, it } from "vitest";
import { comfyUi, extendMethod, sourceNode, targetPools } from "../../web/lib/comfy_ui.js";
import { ProfileNode, seedCandidates } from "../../web/lib/comfy_profile.js";
import { fakeDocument, settle, until } from "./support.js";

/** A graph of stand-in nodes: `link(from, to, input)` connects output 0 of `from` to `to`. */
function graph(linksAs = "map") {
  const nodes = new Map();
  const links = linksAs === "map" ? new Map() : {};
  let next = 1;
  const g = {
    links,
    getNodeById: (id) => nodes.get(id) || null,
    setDirtyCanvas() {},
    node(type, extra = {}) {
      const n = { id: next++, type, graph: g, inputs: [], outputs: [{ links: [] }], widgets: [], properties: {}, ...extra };
      nodes.set(n.id, n);
      return n;
    },
    link(from, to, input = "profile") {
      const id = next++;
      const link = { id, origin_id: from.id, target_id: to.id };
      if (links instanceof Map) links.set(id, link);
      else links[id] = link;
      from.outputs[0].links.push(id);
      to.inputs.push({ name: input, link: id });
    },
  };
  return g;
}

describe("graph walks", () => {
  for (const linksAs of ["map", "object"]) {
    it(`follow links through Reroute nodes (links in ${linksAs === "map" ? "a Map" : "an object"})`, () => {
      const g = graph(linksAs);
      const profile = g.node("PoolProfile");
      const reroute = g.node("Reroute");
      const direct = g.node("GridImagePool");
      const rerouted = g.node("GridImagePool");
      const other = g.node("PreviewImage");
      g.link(profile, direct);
      g.link(profile, reroute);
      g.link(reroute, rerouted, "");
      g.link(profile, other, "images");
      expect(targetPools(profile)).toEqual([direct, rerouted]);
      expect(sourceNode(rerouted, "profile")).toBe(null); // its input is named "", not "profile"
      rerouted.inputs[0].name = "profile";
      expect(sourceNode(rerouted, "profile")).toBe(profile);
      expect(sourceNode(direct, "profile")).toBe(profile);
      expect(sourceNode(profile, "profile")).toBe(null);
    });
  }

  it("stops at a Reroute loop", () => {
    const g = graph();
    const a = g.node("Reroute");
    const b = g.node("Reroute");
    g.link(a, b, "");
    g.link(b, a, "");
    expect(targetPools(a)).toEqual([]);
    expect(sourceNode(a, "")).toBe(null);
  });
});

describe("comfyUi", () => {
  function manager() {
    const m = { added: [], removed: [], dialogs: [] };
    m.extensionManager = {
      toast: { add: (t) => m.added.push(t), remove: (t) => m.removed.push(t) },
      dialog: {
        prompt: async (q) => (m.dialogs.push(["prompt", q]), "typed"),
        confirm: async (q) => (m.dialogs.push(["confirm", q]), null),
      },
    };
    return m;
  }

  it("asks through ComfyUI's dialogs; a dismissed confirm is a no", async () => {
    const m = manager();
    const ui = comfyUi(m);
    expect(await ui.prompt({ title: "T", message: "M" })).toBe("typed");
    expect(await ui.confirm({ title: "Delete", message: "sure?", danger: true })).toBe(false);
    expect(m.dialogs).toEqual([
      ["prompt", { title: "T", message: "M", defaultValue: "" }],
      ["confirm", { title: "Delete", message: "sure?", type: "delete" }],
    ]);
  });

  it("toasts errors longer, and keeps one busy toast at a time", () => {
    const m = manager();
    const ui = comfyUi(m);
    ui.toast({ severity: "error", summary: "failed", detail: "why" });
    ui.toast({ summary: "done" });
    ui.busy("Importing… 5%");
    ui.busy("Importing… 50%");
    ui.busy(null);
    expect(m.added.slice(0, 2)).toEqual([
      { severity: "error", summary: "failed", detail: "why", life: 8000 },
      { severity: "info", summary: "done", detail: undefined, life: 3000 },
    ]);
    expect(m.added.slice(2).map((t) => t.summary)).toEqual(["Importing… 5%", "Importing… 50%"]);
    expect(m.removed).toEqual(m.added.slice(2));
  });
});

describe("extendMethod", () => {
  it("runs the extra after (or before) the method the class had, and keeps its result", () => {
    const order = [];
    const proto = { onConfigure(data) { order.push(["own", data]); return "own result"; } };
    extendMethod(proto, "onConfigure", function (data) { order.push(["after", data, this.id]); });
    extendMethod(proto, "onConfigure", function () { order.push(["before"]); }, { before: true });
    extendMethod(proto, "onRemoved", function () { order.push(["removed"]); });
    const node = Object.assign(Object.create(proto), { id: 7 });
    expect(node.onConfigure("saved")).toBe("own result");
    expect(node.onRemoved()).toBe(undefined);
    expect(order).toEqual([["before"], ["own", "saved"], ["after", "saved", 7], ["removed"]]);
  });
});

/** A stand-in Pool Profile node: its widgets, and addWidget as the frontend has it. */
function profileNodeStandIn(g, { profileId = "", store } = {}) {
  const node = g.node("PoolProfile", {
    widgets: [
      { name: "profile", value: "default", options: { values: ["default"] } },
      { name: "profile_id", value: profileId, options: {} },
    ],
    properties: store ? { pool_store: store } : {},
    addWidget(type, name, value, callback, options) {
      const w = { type, name, value, callback, options: { ...options } };
      this.widgets.push(w);
      return w;
    },
  });
  return node;
}

/** A pool API for the node state: profiles per store, pool sizes, seeds. */
function comfyFakes(profiles, poolCounts = {}) {
  const seeded = [];
  const toasts = [];
  const answers = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(url, "http://comfy");
    const body = init.body ? JSON.parse(init.body) : null;
    let answer;
    if (u.pathname === "/api/grid_pool/stores") answer = { stores: [{ name: "default" }, { name: "team" }] };
    else if (u.pathname === "/api/grid_pool/profiles/list") {
      const store = u.searchParams.get("store") || "default";
      answer = { store, profiles: profiles.filter((p) => p.store === store) };
    } else if (u.pathname === "/api/grid_pool/list") {
      const id = u.searchParams.get("pool_id");
      answer = { pool_id: id, count: poolCounts[id] || 0, active: 0, slots: [] };
    } else if (u.pathname === "/api/grid_pool/profiles/seed") {
      seeded.push(body);
      answer = { pool_id: body.id, count: poolCounts[body.from], active: 0, slots: [] };
    } else return new Response("", { status: 404 });
    return new Response(JSON.stringify(answer), { status: 200, headers: { ETag: '"1"' } });
  };
  const app = {
    extensionManager: {
      toast: { add: (t) => toasts.push(t), remove() {} },
      dialog: { prompt: async () => answers.shift(), confirm: async () => answers.shift() },
    },
  };
  const api = { apiURL: (p) => "/api" + p };
  return { app, api, fetch, seeded, toasts, answers };
}

let state = null;
const realFetch = globalThis.fetch;
afterEach(() => {
  if (state) state.stop();
  state = null;
  globalThis.fetch = realFetch;
});

async function nodeState(fakes, node) {
  globalThis.fetch = fakes.fetch;
  state = new ProfileNode(node, { app: fakes.app, api: fakes.api, doc: fakeDocument() });
  await state.start();
  await state.controller.poller.inflight;
  return state;
}

const CAST = { id: "p1", name: "cast", created: 1, store: "default" };
const EMPTY = { id: "p2", name: "empty", created: 2, store: "default" };
const NAMED_DEFAULT = { id: "p3", name: "default", created: 3, store: "default" };

describe("ProfileNode", () => {
  it("fills the dropdown with the store's profiles, hides profile_id and adds its own widgets", async () => {
    const g = graph();
    const node = profileNodeStandIn(g);
    await nodeState(comfyFakes([CAST, NAMED_DEFAULT]), node);
    const [profile, profileId, store, ...buttons] = node.widgets;
    expect(profile.options.values).toEqual(["default", "cast", "default (profile)"]);
    expect([profileId.hidden, profileId.options.hidden]).toEqual([true, true]);
    expect([store.name, store.options.values, store.serialize]).toEqual(["store", ["default", "team"], false]);
    expect(buttons.map((b) => [b.name, b.serialize])).toEqual([["New profile", false], ["Rename", false],
      ["Duplicate", false], ["Delete", false], ["Export (zip)", false], ["Import (zip)", false], ["Copy to store…", false]]);
  });

  it("picking a profile stores its id and switches the connected pools", async () => {
    const g = graph();
    const node = profileNodeStandIn(g);
    const pool = g.node("GridImagePool");
    const shown = [];
    pool._poolShow = (id) => shown.push(id);
    g.link(node, pool);
    await nodeState(comfyFakes([CAST]), node);
    const profile = node.widgets[0];
    profile.value = "cast";
    profile.callback("cast");
    expect(node.widgets[1].value).toBe("p1");
    await until(() => shown.length);
    expect(shown).toEqual(["p1"]);
    profile.value = "default";
    profile.callback("default");
    await until(() => shown.length === 2);
    expect(node.widgets[1].value).toBe("");
    expect(shown).toEqual(["p1", "default"]);
  });

  it("offers an empty profile the images of the pool it replaces, and copies them when told to", async () => {
    const g = graph();
    const node = profileNodeStandIn(g);
    const pool = g.node("GridImagePool", {
      widgets: [{ name: "pool_id", value: "own0001" }],
      properties: { pool_own_id: "own0001" },
    });
    pool._poolShow = () => {};
    g.link(node, pool);
    const fakes = comfyFakes([EMPTY, CAST], { own0001: 3, p1: 2 });
    await nodeState(fakes, node);
    expect(seedCandidates([pool], "p2")).toEqual(["own0001"]);
    fakes.answers.push(true); // "Copy images into profile?"
    await state.controller.select("p2", { interactive: true });
    expect(fakes.seeded).toEqual([{ from: "own0001", id: "p2" }]);
    // a profile with images of its own is not offered anything
    await state.controller.select("p1", { interactive: true });
    expect(fakes.seeded.length).toBe(1);
  });

  it("warns once when its profile disappears, keeping the selection", async () => {
    const g = graph();
    const node = profileNodeStandIn(g, { profileId: "p1" });
    const profiles = [CAST];
    const fakes = comfyFakes(profiles);
    await nodeState(fakes, node);
    expect(node.widgets[0].value).toBe("cast");
    profiles.pop();
    await state.controller.poller.now();
    await state.controller.poller.now();
    expect(fakes.toasts.filter((t) => t.severity === "warn").map((t) => t.summary)).toEqual(['Profile "cast" no longer exists']);
    expect(node.widgets[1].value).toBe("p1");
  });

  it("after a workflow load, lists the store its saved profile is in", async () => {
    const g = graph();
    const node = profileNodeStandIn(g);
    const fakes = comfyFakes([CAST, { id: "team:p5", name: "shared", created: 5, store: "team" }]);
    await nodeState(fakes, node);
    node.widgets[1].value = "team:p5"; // what configure restores
    state.restore();
    await settle();
    await state.controller.poller.inflight;
    expect(node.properties.pool_store).toBe("team");
    expect(node.widgets[2].value).toBe("team");
    expect(node.widgets[0].value).toBe("shared");
  });
});
