// The profile manager: store choice, the profile list (kept fresh with
// conditional GETs) and the actions. Used by the standalone page.
// No side effects at import.

import { ensureStyles } from "./styles.js";
import { Revalidator } from "./revalidate.js";
import { ProfileActions } from "./profile_actions.js";

function button(text, action, title = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.dataset.action = action;
  if (title) b.title = title;
  return b;
}

/**
 * Options: `api`, `ui` (see profile_actions.js), `onSelect(entry|null)`, `interval`.
 * The selected profile's pool is what the page's grid shows.
 */
export class ProfileManager {
  constructor(parent, { api, ui, onSelect, interval = 3000 }) {
    ensureStyles();
    this.api = api;
    this.ui = ui;
    this.actions = new ProfileActions(api, ui);
    this.onSelect = onSelect || (() => {});
    this.stores = [];
    this.store = "default";
    this.profiles = [];
    this.selectedId = null;
    this._build(parent);
    this.poller = new Revalidator({
      load: (etag) => this.api.listProfiles(this.store, etag),
      apply: (doc) => this._render(doc),
      isVisible: () => this.root.isConnected,
      interval,
      onError: (e) => this._status(`Could not list profiles: ${e.message}`, true),
      onRecover: () => this._status(""),
    });
  }

  /** Load the stores, then start keeping the list fresh. */
  async start() {
    try {
      const { stores } = await this.api.stores();
      this.stores = stores;
      const def = stores.find((s) => s.default) || stores[0];
      this.store = def ? def.name : "default";
      this.storeSelect.replaceChildren(...stores.map((s) => {
        const o = document.createElement("option");
        o.value = s.name;
        o.textContent = `${s.name} (${s.kind})`;
        o.title = s.url || "";
        return o;
      }));
      this.storeSelect.value = this.store;
      this._warnings();
    } catch (e) {
      this._status(`Could not list stores: ${e.message}`, true);
    }
    this.poller.start();
  }

  get selected() {
    return this.profiles.find((p) => p.id === this.selectedId) || null;
  }

  select(id) {
    this.selectedId = id;
    for (const li of this.list.children) li.classList.toggle("psp-selected", li.dataset.id === id);
    this.onSelect(this.selected);
  }

  _build(parent) {
    this.root = document.createElement("div");
    this.root.className = "psp";
    this.root.dataset.testid = "profile-manager";
    const storeRow = document.createElement("div");
    storeRow.className = "psp-row";
    const label = document.createElement("label");
    label.textContent = "Store ";
    this.storeSelect = document.createElement("select");
    this.storeSelect.className = "psp-store";
    label.appendChild(this.storeSelect);
    this.warn = document.createElement("span");
    this.warn.className = "psp-warn";
    storeRow.append(label, this.warn);
    const actions = document.createElement("div");
    actions.className = "psp-row";
    actions.append(
      button("New", "create", "Create an empty profile"),
      button("Rename", "rename"),
      button("Duplicate", "duplicate"),
      button("Delete", "delete"),
      button("Export", "export", "Download the profile as a zip"),
      button("Import", "import", "Import a profile zip"),
      button("Copy to store…", "copy", "Copy the profile to another store"),
    );
    this.list = document.createElement("ul");
    this.list.className = "psp-list";
    this.list.setAttribute("role", "listbox");
    this.statusEl = document.createElement("div");
    this.statusEl.className = "psp-status";
    this.statusEl.setAttribute("role", "status");
    this.root.append(storeRow, actions, this.list, this.statusEl);
    parent.appendChild(this.root);

    this.storeSelect.onchange = () => {
      this.store = this.storeSelect.value;
      this._warnings();
      this.profiles = [];
      this.list.replaceChildren();
      this.select(null);
      this.poller.reset();
    };
    this.list.onclick = (e) => {
      const li = e.target.closest("li");
      if (li) this.select(li.dataset.id);
    };
    actions.onclick = (e) => {
      const b = e.target.closest("button");
      if (b) this._act(b.dataset.action);
    };
  }

  _warnings() {
    const s = this.stores.find((x) => x.name === this.store);
    this.warn.textContent = s && s.concurrent_writes_safe === false
      ? "⚠ this store ignores conditional writes: simultaneous edits by several people may be lost"
      : "";
  }

  async _act(action) {
    const entry = this.selected;
    const needs = !["create", "import"].includes(action);
    if (needs && !entry) {
      this.ui.toast({ severity: "warn", summary: "Select a profile first" });
      return;
    }
    let result = null;
    if (action === "create") result = await this.actions.create(this.store);
    if (action === "rename") result = await this.actions.rename(entry);
    if (action === "duplicate") result = await this.actions.duplicate(entry);
    if (action === "import") result = await this.actions.importProfile(this.store);
    if (action === "copy") result = await this.actions.copyToStore(entry, this.stores.map((s) => s.name));
    if (action === "export") return this.actions.exportProfile(entry);
    if (action === "delete") {
      if (await this.actions.remove(entry)) this.select(null);
      await this.poller.reset();
      return;
    }
    await this.poller.reset();
    if (result && result.store === this.store) this.select(result.id);
  }

  _render(doc) {
    if (doc.store && doc.store !== this.store) return;
    this.profiles = doc.profiles;
    const items = doc.profiles.map((p) => {
      const li = document.createElement("li");
      li.className = "psp-item";
      li.dataset.id = p.id;
      li.setAttribute("role", "option");
      li.textContent = p.name;
      li.classList.toggle("psp-selected", p.id === this.selectedId);
      return li;
    });
    this.list.replaceChildren(...items);
    if (this.selectedId && !this.selected) {
      this._status("The selected profile was deleted or moved by someone else.", true);
      this.select(null);
    }
  }

  _status(text, error = false) {
    this.statusEl.textContent = text;
    this.statusEl.classList.toggle("psp-error", error);
  }
}
