// @ts-check
// The Pool Profile node's view of the profile manager (profiles.js): the
// profile dropdown (names of the chosen store's profiles, kept fresh), the
// hidden profile_id, the store chooser, the action buttons, and live
// switching of the connected Image Pool grids. No side effects at import;
// ComfyUI's `app` and `api` are passed in.

import { errorText } from "./api.js";
import { ProfileController, storeOf } from "./profiles.js";
import { comfyPoolApi, comfyUi, hideWidget, ownComboValues, setComboValues, targetPools, widget } from "./comfy_ui.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").ProfileEntry} ProfileEntry */
/** @typedef {import("./api.js").StoreInfo} StoreInfo */
/** @typedef {import("./profiles.js").Action} Action */
/** @typedef {import("./profile_actions.js").Ui} Ui */
/** @typedef {import("./comfy_ui.js").PoolNode} PoolNode */

const NONE = "default"; // the dropdown entry for "no profile": the store's default pool
/** @type {[string, Action][]} */
const BUTTONS = [
  ["New profile", "create"],
  ["Rename", "rename"],
  ["Duplicate", "duplicate"],
  ["Delete", "delete"],
  ["Export (zip)", "export"],
  ["Import (zip)", "import"],
  ["Copy to store…", "copy"],
];

/**
 * A dropdown entry's text: a profile's name ("default (profile)" for a profile
 * named like the entry for no profile).
 * @param {ProfileEntry} entry
 */
function labelOf(entry) {
  return entry.name === NONE ? `${entry.name} (profile)` : entry.name;
}

/**
 * The state of one Pool Profile node. The selection lives in the node's
 * `profile_id` widget (saved with the workflow), the store in
 * `node.properties.pool_store`.
 */
export class ProfileNode {
  /**
   * @param {ComfyNode} node
   * @param {{app: Parameters<typeof comfyUi>[0], api: Pick<ComfyApi, "apiURL">, interval?: number,
   *   doc?: import("./revalidate.js").VisibilitySource}} comfy  ComfyUI's `app` and `api`
   */
  constructor(node, { app, api, interval = 4000, doc }) {
    this.node = node;
    this.api = comfyPoolApi(api);
    this.ui = comfyUi(app);
    /** @type {Map<string, ProfileEntry | null>} dropdown text -> entry */
    this.byLabel = new Map();
    /** @type {string | null} the missing profile already warned about */
    this.warnedMissing = null;
    /** @type {string | null} the last list error toasted */
    this.lastError = null;
    this.profileWidget = widget(node, "profile");
    this.idWidget = widget(node, "profile_id");
    hideWidget(this.idWidget);
    node.properties = node.properties || {};
    this.controller = new ProfileController({
      api: this.api,
      ui: this.ui,
      store: this._savedStore(),
      isVisible: () => !!this.node.graph,
      interval,
      doc,
      view: {
        storesLoaded: (stores) => this._stores(stores),
        listed: () => this._refreshChoices(),
        selected: (entry, how) => this._selected(entry, how),
        missing: (id) => this._warnMissing(id),
        failed: (what, e) => this._failed(what, e),
      },
    });
    this.controller.selectedId = this._savedId();
    this.storeWidget = this._widgets();
  }

  /** Load the stores, then keep the profile list fresh. */
  start() {
    return this.controller.start();
  }

  stop() {
    this.controller.stop();
  }

  _savedStore() {
    return String(this.node.properties.pool_store || "default");
  }

  _savedId() {
    return String((this.idWidget && this.idWidget.value) || "");
  }

  _widgets() {
    const node = this.node;
    const store = this.controller.store;
    /** @type {ComfyWidget} */
    const storeWidget = node.addWidget("combo", "store", store, (v) => this._setStore(String(v)),
      { values: [store], serialize: false });
    // Added after the node's own widgets: saved workflows map widget values by position.
    storeWidget.serialize = false;
    const profileWidget = this.profileWidget;
    if (profileWidget) {
      ownComboValues(profileWidget);
      const original = profileWidget.callback;
      profileWidget.callback = (value, ...rest) => {
        if (original) original.call(profileWidget, value, ...rest);
        this._picked(String(value));
      };
    }
    for (const [text, action] of BUTTONS) {
      const b = node.addWidget("button", text, undefined, () => this.controller.act(action), { serialize: false });
      b.serialize = false;
    }
    return storeWidget;
  }

  /** @param {string} name */
  _setStore(name) {
    if (name === this.controller.store) return;
    this.node.properties.pool_store = name;
    this.controller.setStore(name);
  }

  /** @param {StoreInfo[]} stores */
  _stores(stores) {
    setComboValues(this.storeWidget, stores.map((s) => s.name));
    const unsafe = stores.filter((s) => s.concurrent_writes_safe === false).map((s) => s.name);
    if (unsafe.length) {
      this.ui.toast({ severity: "warn", summary: `Store ${unsafe.join(", ")} ignores conditional writes`, detail: "Simultaneous edits by several people may be lost there." });
    }
  }

  /** The frontend refreshed the node definitions and put the definition's list back: fill it again. */
  definitionsRefreshed() {
    ownComboValues(this.profileWidget);
    this._refreshChoices();
  }

  _refreshChoices() {
    const c = this.controller;
    this.byLabel = new Map([[NONE, null]]);
    for (const e of c.profiles) this.byLabel.set(labelOf(e), e);
    if (this.profileWidget) {
      setComboValues(this.profileWidget, Array.from(this.byLabel.keys()));
      // A teammate's rename shows; the selection itself never changes here.
      const entry = c.selected;
      if (entry) {
        this.profileWidget.value = labelOf(entry);
        this.warnedMissing = null;
      }
    }
    this.node.graph && this.node.graph.setDirtyCanvas(true, false);
  }

  /** @param {string} id */
  _warnMissing(id) {
    if (this.warnedMissing === id || !this.profileWidget) return;
    this.warnedMissing = id;
    this.ui.toast({
      severity: "warn",
      summary: `Profile "${this.profileWidget.value}" no longer exists`,
      detail: "It was deleted or moved (perhaps by a teammate). Pick another profile.",
    });
  }

  /**
   * @param {"stores" | "profiles"} what
   * @param {unknown} e
   */
  _failed(what, e) {
    const message = errorText(e);
    if (what === "profiles" && this.lastError === message) return;
    if (what === "profiles") this.lastError = message;
    this.ui.toast({ severity: "error", summary: `Pool Profile: could not list ${what}`, detail: message });
  }

  /**
   * The user picked a dropdown entry: select it and switch the connected pools.
   * @param {string} label
   */
  _picked(label) {
    const entry = this.byLabel.get(label);
    return this.controller.select(entry ? entry.id : null, { interactive: true });
  }

  /**
   * @param {ProfileEntry | null} entry
   * @param {{interactive: boolean}} how
   */
  _selected(entry, { interactive }) {
    if (this.idWidget) this.idWidget.value = this.controller.selectedId;
    if (this.profileWidget) this.profileWidget.value = entry ? labelOf(entry) : NONE;
    this.node.graph && this.node.graph.setDirtyCanvas(true, true);
    return this.syncPools(targetPools(this.node), { interactive });
  }

  /**
   * Make each pool in `pools` show (and run) this node's profile. With
   * `interactive`, an empty profile offers to take in the images a pool shows.
   * @param {PoolNode[]} pools
   * @param {{interactive?: boolean}} [how]
   */
  async syncPools(pools, { interactive = false } = {}) {
    if (!pools.length) return;
    const id = this.controller.selectedId || NONE;
    const entry = this.controller.selected;
    if (interactive && entry) await this._offerSeed(pools, entry);
    for (const pool of pools) {
      if (pool._poolShow) pool._poolShow(id);
    }
  }

  /**
   * When profile `entry` is empty, offer to copy in the images of a pool that has some.
   * @param {PoolNode[]} pools
   * @param {ProfileEntry} entry
   */
  async _offerSeed(pools, entry) {
    try {
      const target = await this.api.listPool(entry.id);
      if (target.notModified || target.data.count > 0) return;
      for (const from of seedCandidates(pools, entry.id)) {
        const doc = await this.api.listPool(from);
        if (!doc.notModified && doc.data.count > 0) {
          await this.controller.actions.offerSeed(from, doc.data.count, entry);
          return;
        }
      }
    } catch (e) {
      this.ui.toast({ severity: "error", summary: "Could not look at the pools", detail: errorText(e) });
    }
  }

  /** After a workflow load: show the saved selection; nothing is switched. */
  restore() {
    const id = this._savedId();
    if (id && storeOf(id) !== this._savedStore()) this.node.properties.pool_store = storeOf(id);
    this.controller.selectedId = id;
    this.storeWidget.value = this._savedStore();
    this.controller.setStore(this._savedStore());
  }
}

/**
 * The pools whose images an empty profile `id` may take in: what each pool
 * shows, else its own pool (a pool shows the default pool while its profile
 * node has nothing selected); each once, `id` itself left out.
 * @param {PoolNode[]} pools
 * @param {string} id
 * @returns {string[]}
 */
export function seedCandidates(pools, id) {
  /** @type {string[]} */
  const out = [];
  for (const pool of pools) {
    const shown = widget(pool, "pool_id");
    for (const from of [shown && shown.value, pool.properties && pool.properties.pool_own_id]) {
      if (typeof from === "string" && from && from !== id && !out.includes(from)) out.push(from);
    }
  }
  return out;
}
