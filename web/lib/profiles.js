// @ts-check
// The profile manager's controller, one for both hosts: the store choice,
// the profile list kept fresh with conditional GETs, the selection and the
// actions (profile_actions.js). A host shows it through a `ProfileView`: the
// standalone page's list (profile_panel.js) or the Pool Profile node's
// dropdown (comfy_profile.js). No DOM, no side effects at import.

import { ProfileActions } from "./profile_actions.js";
import { Revalidator } from "./revalidate.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").ProfileEntry} ProfileEntry */
/** @typedef {import("./api.js").ProfileList} ProfileList */
/** @typedef {import("./api.js").StoreInfo} StoreInfo */
/** @typedef {import("./profile_actions.js").Ui} Ui */
/** @typedef {import("./revalidate.js").VisibilitySource} VisibilitySource */

/**
 * What a host shows of the controller; each is called after the state changed.
 * @typedef {object} ProfileView
 * @property {(stores: StoreInfo[]) => void} storesLoaded  the configured stores
 * @property {(profiles: ProfileEntry[]) => void} listed  the profiles of the current store
 * @property {(entry: ProfileEntry | null, how: {interactive: boolean}) => void | Promise<void>} selected
 *   the selection changed (by the user when `interactive`)
 * @property {(id: string) => void} missing  the selected profile is no longer listed
 * @property {(what: "stores" | "profiles", error: unknown) => void} failed  a list could not be loaded
 * @property {() => void} [recovered]  the profiles load again after failing
 */

/** The actions of the profile manager's buttons. */
export const ACTIONS = /** @type {const} */ (["create", "rename", "duplicate", "delete", "export", "import", "copy"]);
/** @typedef {typeof ACTIONS[number]} Action */

/**
 * The store of a store-qualified id ("team:abc" is in "team", "abc" in "default").
 * @param {string} id
 */
export function storeOf(id) {
  const i = id.indexOf(":");
  return i > 0 ? id.slice(0, i) : "default";
}

/**
 * @typedef {object} ControllerOptions
 * @property {Pick<PoolApi, "stores" | "listProfiles">} api
 * @property {Ui} ui  questions and toasts (profile_actions.js)
 * @property {ProfileView} view
 * @property {ProfileActions} [actions]  default: ProfileActions over `api` and `ui`
 * @property {string} [store]  the store listed first (default "default")
 * @property {boolean} [selectCopies]  select a duplicated or imported profile too (a
 *   created or renamed one always is). ComfyUI leaves copies to be picked, because
 *   selecting there switches the connected pools.
 * @property {() => boolean} [isVisible]  polls only while this holds
 * @property {number} [interval]  ms between polls
 * @property {VisibilitySource} [doc]
 */

/** The state of a profile manager and what its buttons do. */
export class ProfileController {
  /** @param {ControllerOptions} options */
  constructor({ api, ui, view, actions, store = "default", selectCopies = false, isVisible, interval = 3000, doc }) {
    this.api = api;
    this.ui = ui;
    this.view = view;
    this.actions = actions || new ProfileActions(/** @type {PoolApi} */ (api), ui);
    this.selectCopies = selectCopies;
    this.store = store;
    /** @type {StoreInfo[]} */
    this.stores = [];
    /** @type {ProfileEntry[]} the current store's profiles, as last listed */
    this.profiles = [];
    /** @type {string} the selected profile's (store-qualified) id; "" for none */
    this.selectedId = "";
    /** @type {Revalidator<ProfileList>} */
    this.poller = new Revalidator({
      load: (etag) => this.api.listProfiles(this.store, etag),
      apply: (list) => this._listed(list),
      isVisible,
      interval,
      doc,
      onError: (e) => this.view.failed("profiles", e),
      onRecover: () => this.view.recovered && this.view.recovered(),
    });
  }

  /** The selected profile's entry, when the current store lists it. */
  get selected() {
    return this.profiles.find((p) => p.id === this.selectedId) || null;
  }

  /** Load the stores, then keep the profile list fresh. */
  async start() {
    try {
      const { stores } = await this.api.stores();
      this.stores = stores;
      this.view.storesLoaded(stores);
    } catch (e) {
      this.view.failed("stores", e);
    }
    this.poller.start();
  }

  stop() {
    this.poller.stop();
  }

  /**
   * List the profiles of store `name` (the selection stays as it is); resolves
   * once they are listed.
   * @param {string} name
   */
  setStore(name) {
    if (name !== this.store) {
      this.store = name;
      this.profiles = [];
      this.view.listed([]);
    }
    return this.poller.reset();
  }

  /**
   * Select profile `id` ("" or null: none) and tell the view.
   * @param {string | null} id
   * @param {{interactive?: boolean}} [how]
   */
  async select(id, { interactive = false } = {}) {
    this.selectedId = id || "";
    await this.view.selected(this.selected, { interactive });
  }

  /**
   * Run the action of a button; what it made is selected as the options say.
   * @param {Action} action
   */
  async act(action) {
    const entry = this.selected;
    if (action !== "create" && action !== "import" && !entry) {
      this.ui.toast({ severity: "warn", summary: "Select a profile first" });
      return;
    }
    if (action === "export") return entry && this.actions.exportProfile(entry);
    if (action === "delete") {
      if (entry && (await this.actions.remove(entry))) await this.select(null);
      await this.poller.reset();
      return;
    }
    const made = await this._run(action, entry);
    await this.poller.reset();
    const follows = action === "create" || action === "rename" || this.selectCopies;
    if (made && follows && made.store === this.store) await this.select(made.id, { interactive: action === "create" });
  }

  /**
   * @param {Action} action
   * @param {ProfileEntry | null} entry
   * @returns {Promise<ProfileEntry | null>}
   */
  _run(action, entry) {
    const a = this.actions;
    if (action === "create") return a.create(this.store);
    if (action === "import") return a.importProfile(this.store);
    if (!entry) return Promise.resolve(null);
    if (action === "rename") return a.rename(entry);
    if (action === "duplicate") return a.duplicate(entry);
    if (action === "copy") return a.copyToStore(entry, this.stores.map((s) => s.name));
    return Promise.resolve(null);
  }

  /** @param {ProfileList} list */
  _listed(list) {
    if (list.store && list.store !== this.store) return; // an answer for the store shown before
    this.profiles = list.profiles;
    this.view.listed(list.profiles);
    const id = this.selectedId;
    if (id && storeOf(id) === this.store && !this.selected) this.view.missing(id);
  }
}
