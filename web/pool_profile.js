// ComfyUI extension for "Pool Profile" (PoolProfile): the profile dropdown
// (names of the chosen store's profiles, kept fresh), the hidden profile_id,
// the action buttons, and live switching of the connected Image Pool grids.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { Revalidator } from "./lib/revalidate.js";
import { ProfileActions } from "./lib/profile_actions.js";
import { PROFILE_TYPE, comfyPoolApi, comfyUi, hideWidget, ownComboValues, setComboValues, targetPools, widget } from "./lib/comfy_ui.js";

const NONE = "default"; // the dropdown entry for "no profile": the store's default pool
const BUTTONS = [
  ["New profile", "create"],
  ["Rename", "rename"],
  ["Duplicate", "duplicate"],
  ["Delete", "delete"],
  ["Export (zip)", "export"],
  ["Import (zip)", "import"],
  ["Copy to store…", "copy"],
];

function storeOf(id) {
  const i = id.indexOf(":");
  return i > 0 ? id.slice(0, i) : "default";
}

class ProfileNodeState {
  constructor(node) {
    this.node = node;
    this.api = comfyPoolApi(api);
    this.ui = comfyUi(app);
    this.actions = new ProfileActions(this.api, this.ui);
    this.stores = ["default"];
    this.entries = [];
    this.byLabel = new Map();
    this.warnedMissing = null;
    this.profileWidget = widget(node, "profile");
    this.idWidget = widget(node, "profile_id");
    hideWidget(this.idWidget);
    node.properties = node.properties || {};
    this._widgets();
    this.poller = new Revalidator({
      load: (etag) => this.api.listProfiles(this.store, etag),
      apply: (doc) => this._apply(doc),
      isVisible: () => !!this.node.graph,
      interval: 4000,
      onError: (e) => this._listError(e),
    });
  }

  get store() {
    return this.node.properties.pool_store || "default";
  }

  get selectedId() {
    return (this.idWidget && this.idWidget.value) || "";
  }

  get selectedEntry() {
    return this.entries.find((e) => e.id === this.selectedId) || null;
  }

  async start() {
    try {
      const { stores } = await this.api.stores();
      this.stores = stores.map((s) => s.name);
      setComboValues(this.storeWidget, this.stores);
      const unsafe = stores.filter((s) => s.concurrent_writes_safe === false).map((s) => s.name);
      if (unsafe.length) {
        this.ui.toast({ severity: "warn", summary: `Store ${unsafe.join(", ")} ignores conditional writes`, detail: "Simultaneous edits by several people may be lost there." });
      }
    } catch (e) {
      this.ui.toast({ severity: "error", summary: "Pool Profile: could not list stores", detail: e.message });
    }
    this.poller.start();
  }

  _widgets() {
    const node = this.node;
    this.storeWidget = node.addWidget("combo", "store", this.store, (v) => this._setStore(v), { values: [...this.stores], serialize: false });
    // Added after the node's own widgets: saved workflows map widget values by position.
    this.storeWidget.serialize = false;
    if (this.profileWidget) {
      ownComboValues(this.profileWidget);
      const original = this.profileWidget.callback;
      this.profileWidget.callback = (value, ...rest) => {
        if (original) original.call(this.profileWidget, value, ...rest);
        this._picked(value);
      };
    }
    for (const [text, action] of BUTTONS) {
      const b = node.addWidget("button", text, null, () => this._act(action), { serialize: false });
      b.serialize = false;
    }
  }

  _setStore(name) {
    if (name === this.store) return;
    this.node.properties.pool_store = name;
    this.entries = [];
    this._refreshChoices();
    this.poller.reset();
  }

  _labelOf(entry) {
    return entry.name === NONE ? `${entry.name} (profile)` : entry.name;
  }

  _apply(doc) {
    if (doc.store && doc.store !== this.store) return;
    this.entries = doc.profiles;
    this._refreshChoices();
  }

  /** The frontend refreshed the node definitions and put the definition's list back: fill it again. */
  definitionsRefreshed() {
    ownComboValues(this.profileWidget);
    this._refreshChoices();
  }

  _refreshChoices() {
    this.byLabel = new Map([[NONE, null]]);
    for (const e of this.entries) this.byLabel.set(this._labelOf(e), e);
    if (this.profileWidget) {
      setComboValues(this.profileWidget, Array.from(this.byLabel.keys()));
      // A teammate's rename shows; the selection itself never changes here.
      const id = this.selectedId;
      if (id && storeOf(id) === this.store) {
        const entry = this.selectedEntry;
        if (entry) {
          this.profileWidget.value = this._labelOf(entry);
          this.warnedMissing = null;
        } else if (this.entries.length || this.poller.etag) {
          this._warnMissing(id);
        }
      }
    }
    this.node.graph && this.node.graph.setDirtyCanvas(true, false);
  }

  _warnMissing(id) {
    if (this.warnedMissing === id) return;
    this.warnedMissing = id;
    this.ui.toast({
      severity: "warn",
      summary: `Profile "${this.profileWidget.value}" no longer exists`,
      detail: "It was deleted or moved (perhaps by a teammate). Pick another profile.",
    });
  }

  _listError(e) {
    if (this._lastError === e.message) return;
    this._lastError = e.message;
    this.ui.toast({ severity: "error", summary: "Pool Profile: could not list profiles", detail: e.message });
  }

  /** The user picked a dropdown entry: select it and switch the connected pools. */
  _picked(label) {
    const entry = this.byLabel.get(label);
    this._select(entry || null, { interactive: true });
  }

  _select(entry, { interactive }) {
    const id = entry ? entry.id : "";
    if (this.idWidget) this.idWidget.value = id;
    if (this.profileWidget) this.profileWidget.value = entry ? this._labelOf(entry) : NONE;
    this.node.graph && this.node.graph.setDirtyCanvas(true, true);
    return this.syncPools(targetPools(this.node), { interactive });
  }

  /**
   * Make each pool in `pools` show (and run) this node's profile. With
   * `interactive`, an empty profile offers to take in the images a pool shows.
   */
  async syncPools(pools, { interactive = false } = {}) {
    if (!pools.length) return;
    const id = this.selectedId || NONE;
    if (interactive && this.selectedEntry) await this._offerSeed(pools, id);
    for (const pool of pools) {
      if (pool._poolShow) pool._poolShow(id);
    }
  }

  async _offerSeed(pools, id) {
    try {
      const target = await this.api.listPool(id);
      if (target.data.count > 0) return;
      // What a pool "holds": the pool it shows, else its own pool (a pool shows
      // the default pool while its profile node has nothing selected).
      const candidates = [];
      for (const pool of pools) {
        for (const from of [widget(pool, "pool_id")?.value, pool.properties && pool.properties.pool_own_id]) {
          if (from && from !== id && !candidates.includes(from)) candidates.push(from);
        }
      }
      for (const from of candidates) {
        const doc = await this.api.listPool(from);
        if (doc.data.count > 0) {
          await this.actions.offerSeed(from, doc.data.count, this.selectedEntry);
          return;
        }
      }
    } catch (e) {
      this.ui.toast({ severity: "error", summary: "Could not look at the pools", detail: e.message });
    }
  }

  async _act(action) {
    const entry = this.selectedEntry;
    if (!["create", "import"].includes(action) && !entry) {
      this.ui.toast({ severity: "warn", summary: "Select a profile first" });
      return;
    }
    if (action === "export") return this.actions.exportProfile(entry);
    let result = null;
    if (action === "create") result = await this.actions.create(this.store);
    if (action === "rename") result = await this.actions.rename(entry);
    if (action === "duplicate") result = await this.actions.duplicate(entry);
    if (action === "import") result = await this.actions.importProfile(this.store);
    if (action === "copy") result = await this.actions.copyToStore(entry, this.stores);
    if (action === "delete" && (await this.actions.remove(entry))) {
      await this.poller.reset();
      await this._select(null, { interactive: false });
      return;
    }
    await this.poller.reset();
    if (result && action === "create") await this._select(result, { interactive: true });
    if (result && action === "rename") this._refreshChoices();
  }

  /** After a workflow load: show the saved selection; nothing is switched. */
  restore() {
    const id = this.selectedId;
    if (id && storeOf(id) !== this.store) {
      this.node.properties.pool_store = storeOf(id);
      this.storeWidget.value = this.store;
    }
    this.storeWidget.value = this.store;
    this.poller.reset();
  }
}

app.registerExtension({
  name: "poolstore.PoolProfile",

  // "Refresh node definitions" (the R key) sets every combo back to its definition's list.
  refreshComboInNodes() {
    for (const node of (app.graph && app.graph.nodes) || []) {
      if (node._poolProfile) node._poolProfile.definitionsRefreshed();
    }
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== PROFILE_TYPE) return;
    const proto = nodeType.prototype;
    const created = proto.onNodeCreated;
    proto.onNodeCreated = function () {
      const r = created ? created.apply(this, arguments) : undefined;
      const state = new ProfileNodeState(this);
      this._poolProfile = state;
      this._poolProfileSync = (pools, opts) => state.syncPools(pools, opts);
      state.start();
      return r;
    };
    const configure = proto.onConfigure;
    proto.onConfigure = function () {
      const r = configure ? configure.apply(this, arguments) : undefined;
      if (this._poolProfile) this._poolProfile.restore();
      return r;
    };
    const removed = proto.onRemoved;
    proto.onRemoved = function () {
      if (this._poolProfile) this._poolProfile.poller.stop();
      return removed ? removed.apply(this, arguments) : undefined;
    };
  },
});
