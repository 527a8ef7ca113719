// The profile manager's controller (web/lib/profiles.js) over a fake API
// that keeps profiles in memory, with the real ProfileActions and a ui whose
// answers a test gives.
import { afterEach, describe, expect, it } from "vitest";
import { ProfileController, storeOf } from "../../web/lib/profiles.js";
import { ProfileActions } from "../../web/lib/profile_actions.js";
import { fakeDocument } from "./support.js";

/** Profiles by store, and the calls made; ids are qualified outside "default". */
function memoryApi() {
  const stores = { default: [], team: [] };
  let seq = 0;
  const qualify = (store, id) => (store === "default" ? id : `${store}:${id}`);
  const find = (id) => stores[storeOf(id)].find((p) => p.id === id);
  const api = {
    calls: [],
    stores: async () => ({ stores: Object.keys(stores).map((name) => ({ name, kind: "memory", url: `memory://${name}`, default: name === "default", concurrent_writes_safe: true })) }),
    listProfiles: async (store, etag) => ({ notModified: false, etag: `"${seq}"`, data: { store, profiles: stores[store].map((p) => ({ ...p })) } }),
    add(store, name) {
      const entry = { id: qualify(store, `p${++seq}`), name, created: seq, store };
      stores[store].push(entry);
      return entry;
    },
    drop(id) {
      stores[storeOf(id)] = stores[storeOf(id)].filter((p) => p.id !== id);
    },
    async createProfile(name, store) {
      api.calls.push(["create", name, store]);
      return { profile: api.add(store || "default", name) };
    },
    async renameProfile(id, name) {
      api.calls.push(["rename", id, name]);
      find(id).name = name;
      return { profile: { ...find(id) } };
    },
    async duplicateProfile(id, name) {
      api.calls.push(["duplicate", id, name]);
      return { profile: api.add(storeOf(id), name) };
    },
    async copyProfile(id, toStore) {
      api.calls.push(["copy", id, toStore]);
      return { profile: api.add(toStore, find(id).name) };
    },
    async deleteProfile(id) {
      api.calls.push(["delete", id]);
      api.drop(id);
      return { deleted: id };
    },
    exportUrl: (id) => `/grid_pool/profiles/export?id=${id}`,
  };
  return api;
}

/** A ui that answers prompts and confirms from `answers` and records toasts. */
function scriptedUi(answers = []) {
  const ui = {
    asked: [],
    toasts: [],
    prompt: async (q) => {
      ui.asked.push(q);
      return answers.shift();
    },
    confirm: async (q) => {
      ui.asked.push(q);
      return answers.shift() === true;
    },
    toast: (t) => ui.toasts.push(t),
    busy: () => {},
  };
  return ui;
}

/** A view recording what it was told. */
function recordingView() {
  const view = {
    events: [],
    storesLoaded: (stores) => view.events.push(["stores", stores.map((s) => s.name)]),
    listed: (profiles) => view.events.push(["listed", profiles.map((p) => p.name)]),
    selected: (entry, how) => view.events.push(["selected", entry && entry.name, how.interactive]),
    missing: (id) => view.events.push(["missing", id]),
    failed: (what, e) => view.events.push(["failed", what, e.message]),
  };
  return view;
}

let controller = null;

async function started({ api = memoryApi(), answers = [], ...options } = {}) {
  const ui = scriptedUi(answers);
  const view = recordingView();
  controller = new ProfileController({ api, ui, view, doc: fakeDocument(), ...options });
  await controller.start();
  await controller.poller.inflight;
  return { api, ui, view, c: controller };
}

const selections = (view) => view.events.filter((e) => e[0] === "selected");

afterEach(() => {
  if (controller) controller.stop();
  controller = null;
});

describe("ProfileController", () => {
  it("loads the stores, then the current store's profiles", async () => {
    const api = memoryApi();
    api.add("default", "cast");
    api.add("team", "shared");
    const { view, c } = await started({ api });
    expect(view.events).toEqual([["stores", ["default", "team"]], ["listed", ["cast"]]]);
    await c.setStore("team");
    expect(view.events.slice(2)).toEqual([["listed", []], ["listed", ["shared"]]]);
    expect(c.profiles.map((p) => p.id)).toEqual(["team:p2"]);
  });

  it("creates a profile in the current store and selects it, as the user's choice", async () => {
    const { api, view, c } = await started({ answers: ["  heroes "] });
    await c.setStore("team");
    await c.act("create");
    expect(api.calls).toEqual([["create", "heroes", "team"]]);
    expect(c.selectedId).toBe("team:p1");
    expect(selections(view)).toEqual([["selected", "heroes", true]]);
  });

  it("selects a renamed profile again (its new name shows), not interactively", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const { view, c } = await started({ api, answers: ["main cast"] });
    await c.select(entry.id);
    await c.act("rename");
    expect(api.calls).toEqual([["rename", entry.id, "main cast"]]);
    expect(selections(view)).toEqual([["selected", "cast", false], ["selected", "main cast", false]]);
  });

  it("selects a duplicate only when asked to select copies", async () => {
    for (const selectCopies of [false, true]) {
      const api = memoryApi();
      const entry = api.add("default", "cast");
      const { view, c } = await started({ api, answers: ["cast copy"], selectCopies });
      await c.select(entry.id);
      await c.act("duplicate");
      expect(api.calls).toEqual([["duplicate", entry.id, "cast copy"]]);
      expect(c.profiles.map((p) => p.name)).toEqual(["cast", "cast copy"]);
      expect(c.selected.name).toBe(selectCopies ? "cast copy" : "cast");
      expect(selections(view).length).toBe(selectCopies ? 2 : 1);
      c.stop();
    }
  });

  it("leaves a copy in another store unselected", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const { c } = await started({ api, answers: ["team"], selectCopies: true });
    await c.select(entry.id);
    await c.act("copy");
    expect(api.calls).toEqual([["copy", entry.id, "team"]]);
    expect(c.selectedId).toBe(entry.id);
  });

  it("deletes after asking, clears the selection first, and says nothing of a missing profile", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const { ui, view, c } = await started({ api, answers: [true] });
    await c.select(entry.id);
    await c.act("delete");
    expect(ui.asked[0]).toMatchObject({ title: "Delete profile", danger: true });
    expect(api.calls).toEqual([["delete", entry.id]]);
    expect(c.selectedId).toBe("");
    expect(view.events.slice(-2)).toEqual([["selected", null, false], ["listed", []]]);
    expect(view.events.some((e) => e[0] === "missing")).toBe(false);
  });

  it("keeps a profile whose deletion was not confirmed", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const { c } = await started({ api, answers: [false] });
    await c.select(entry.id);
    await c.act("delete");
    expect(api.calls).toEqual([]);
    expect(c.selected.name).toBe("cast");
  });

  it("tells the view when the selected profile goes away (a teammate deleted it)", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const { view, c } = await started({ api });
    await c.select(entry.id);
    api.drop(entry.id);
    await c.poller.now();
    expect(view.events.at(-1)).toEqual(["missing", entry.id]);
    // a selection in another store is not missing from this one's list
    c.selectedId = "team:p9";
    await c.poller.now();
    expect(view.events.at(-1)).toEqual(["listed", []]);
  });

  it("ignores a list answered for the store shown before", async () => {
    const api = memoryApi();
    api.add("default", "cast");
    const { view, c } = await started({ api });
    c.store = "team";
    c._listed({ store: "default", profiles: [{ id: "p1", name: "cast", created: 1, store: "default" }] });
    expect(view.events.length).toBe(2);
  });

  it("asks for a selection before acting on one", async () => {
    const { api, ui, c } = await started();
    for (const action of ["rename", "duplicate", "delete", "export", "copy"]) await c.act(action);
    expect(api.calls).toEqual([]);
    expect(ui.toasts.map((t) => t.summary)).toEqual(Array(5).fill("Select a profile first"));
  });

  it("reports stores that cannot be listed, and still lists profiles", async () => {
    const api = memoryApi();
    api.stores = async () => { throw new Error("offline"); };
    const { view } = await started({ api });
    expect(view.events).toEqual([["failed", "stores", "offline"], ["listed", []]]);
  });
});

describe("ProfileActions", () => {
  it("needs a name: a blank one is refused, a cancelled prompt does nothing", async () => {
    const api = memoryApi();
    const ui = scriptedUi(["   ", null]);
    const actions = new ProfileActions(api, ui);
    expect(await actions.create("default")).toBeNull();
    expect(await actions.create("default")).toBeNull();
    expect(api.calls).toEqual([]);
    expect(ui.toasts).toEqual([{ severity: "warn", summary: "A profile needs a name" }]);
  });

  it("toasts a failure with the server's message and resolves to null", async () => {
    const api = memoryApi();
    api.renameProfile = async () => { throw new Error('a profile named "b" exists'); };
    const ui = scriptedUi(["b"]);
    const result = await new ProfileActions(api, ui).rename({ id: "p1", name: "a", created: 0, store: "default" });
    expect(result).toBeNull();
    expect(ui.toasts).toEqual([{ severity: "error", summary: "Renaming profile failed", detail: 'a profile named "b" exists' }]);
  });

  it("copies only to a configured other store", async () => {
    const api = memoryApi();
    const entry = api.add("default", "cast");
    const ui = scriptedUi(["elsewhere"]);
    const actions = new ProfileActions(api, ui);
    expect(await actions.copyToStore(entry, ["default"])).toBeNull();
    expect(ui.toasts[0].summary).toBe("Only one store is configured");
    expect(await actions.copyToStore(entry, ["default", "team"])).toBeNull();
    expect(ui.toasts[1]).toMatchObject({ severity: "error", summary: 'No store named "elsewhere"' });
    expect(api.calls).toEqual([]);
  });

  it("exports through a download named after the profile", () => {
    const downloads = [];
    const ui = scriptedUi();
    const actions = new ProfileActions(memoryApi(), ui, { download: (url, name) => downloads.push([url, name]) });
    actions.exportProfile({ id: "team:p1", name: 'a/b:c?"d"', created: 0, store: "team" });
    expect(downloads).toEqual([["/grid_pool/profiles/export?id=team:p1", "a_b_c_d_.zip"]]);
  });

  it("imports a picked zip into the store, showing its progress", async () => {
    const busy = [];
    const ui = { ...scriptedUi(), busy: (text) => busy.push(text) };
    const api = {
      async importProfile(file, { store, onProgress }) {
        for (const loaded of [10, 30, 31, 100]) onProgress(loaded, 100);
        return { profile: { id: `${store}:p1`, name: file.name.replace(".zip", ""), created: 0, store } };
      },
    };
    const zip = new File(["PK"], "cast.zip");
    const actions = new ProfileActions(api, ui, { pickFile: async (accept) => (accept.includes(".zip") ? zip : null) });
    const made = await actions.importProfile("team");
    expect(made).toMatchObject({ id: "team:p1", name: "cast" });
    expect(busy).toEqual(["Importing cast.zip…", "Importing cast.zip… 10%", "Importing cast.zip… 30%", "Importing cast.zip… 100%", null]);
  });
});
